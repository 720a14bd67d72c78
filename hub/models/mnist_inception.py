"""mnist_inception: the course's Inception net, with batch norm after every convolution.

An Inception block runs four branches side by side on the same input and concatenates them:
1x1; 1x1 then 5x5; 1x1 then 3x3 then 3x3; 3x3 average pool then 1x1 (16+24+24+24 = 88
channels). The net: conv 1->10 k5, pool, Inception, conv 88->20 k5, pool, Inception, linear
88*4*4 = 1408 -> 10. Batch norm (not in the course) lets it train at a high learning rate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, register_model


def conv_bn(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class InceptionBlock(nn.Module):
    """Four branches, concatenated: 1x1 (16), 5x5 (24), 3x3-3x3 (24), pool-1x1 (24) = 88 channels."""

    channels = 16 + 24 + 24 + 24

    def __init__(self, c_in: int):
        super().__init__()
        self.branch1x1 = conv_bn(c_in, 16, 1)
        self.branch5x5 = nn.Sequential(conv_bn(c_in, 16, 1), conv_bn(16, 24, 5))
        self.branch3x3dbl = nn.Sequential(conv_bn(c_in, 16, 1), conv_bn(16, 24, 3), conv_bn(24, 24, 3))
        self.branch_pool = conv_bn(c_in, 24, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x), self.branch_pool(pooled)], 1)


class MnistInception(nn.Module):
    def __init__(self, c1: int = 10, c2: int = 20, dropout: float = 0.2):
        super().__init__()
        self.normalize = Normalize()
        self.stem = nn.Sequential(nn.Conv2d(1, c1, 5, bias=False), nn.BatchNorm2d(c1), nn.MaxPool2d(2),
                                  nn.ReLU(inplace=True))  # (B, c1, 12, 12)
        self.incept1 = InceptionBlock(c1)  # (B, 88, 12, 12)
        self.reduce = nn.Sequential(nn.Conv2d(InceptionBlock.channels, c2, 5, bias=False), nn.BatchNorm2d(c2),
                                    nn.MaxPool2d(2), nn.ReLU(inplace=True))  # (B, c2, 4, 4)
        self.incept2 = InceptionBlock(c2)  # (B, 88, 4, 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(InceptionBlock.channels * 16, 10))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.incept1(self.stem(self.normalize(image)))
        return self.head(self.incept2(self.reduce(x)))  # (B, 10) logits


@register_model
def mnist_inception() -> ModelSpec:
    return ModelSpec(
        name="mnist_inception",
        title="MNIST Inception classifier",
        summary="The course's net with two Inception blocks (1x1, 5x5, 3x3-3x3, pool branches) and batch norm.",
        task="classifier",
        builder=MnistInception,
        kwargs=dict(c1=10, c2=20, dropout=0.2),
        recipes={
            "default": Recipe(epochs=10, batch_size=128, lr=4e-3, weight_decay=1e-4, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=128, lr=4e-3, augment="none", notes="one epoch"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(LOGITS_OUTPUT,),
                        file="mnist_inception", role="classifier"),),
        floors=(Floor("test_accuracy", ">=", 0.995),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="Inception", order=4),
        feature_blocks=(("stem", "stem"), ("incept1", "inception block 1"), ("reduce", "reduce"), ("incept2", "inception block 2")),
    )
