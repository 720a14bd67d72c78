"""mnist_resnet: the course's residual net, wider and with batch norm.

A residual block adds its input to the output of two 3x3 convolutions: ``relu(x + conv(relu(conv(x))))``,
so the block only has to learn a correction. The net: conv 1->c1 k5, pool, block, conv c1->c2 k5,
pool, block, linear c2*4*4 -> 10 (the course uses c1=16, c2=32; the zoo doubles them).
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, register_model


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class MnistResNet(nn.Module):
    def __init__(self, c1: int = 32, c2: int = 64, dropout: float = 0.2):
        super().__init__()
        self.normalize = Normalize()
        self.stem = nn.Sequential(nn.Conv2d(1, c1, 5, bias=False), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(2))  # (B, c1, 12, 12)
        self.block1 = ResidualBlock(c1)
        self.reduce = nn.Sequential(nn.Conv2d(c1, c2, 5, bias=False), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
                                    nn.MaxPool2d(2))  # (B, c2, 4, 4)
        self.block2 = ResidualBlock(c2)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c2 * 16, 10))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.block1(self.stem(self.normalize(image)))
        return self.head(self.block2(self.reduce(x)))  # (B, 10) logits


@register_model
def mnist_resnet() -> ModelSpec:
    return ModelSpec(
        name="mnist_resnet",
        title="MNIST residual classifier",
        summary="The course's ResNet (two residual blocks) at 32/64 channels with batch norm.",
        task="classifier",
        builder=MnistResNet,
        kwargs=dict(c1=32, c2=64, dropout=0.2),
        recipes={
            "default": Recipe(epochs=12, batch_size=128, lr=4e-3, weight_decay=1e-4, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=128, lr=4e-3, augment="none",
                           model_kwargs=dict(c1=16, c2=32), notes="one epoch at the course's widths"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(LOGITS_OUTPUT,),
                        file="mnist_resnet", role="classifier"),),
        floors=(Floor("test_accuracy", ">=", 0.996),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="ResNet", order=5),
        feature_blocks=(("stem", "stem"), ("block1", "residual block 1"), ("reduce", "reduce"), ("block2", "residual block 2")),
    )
