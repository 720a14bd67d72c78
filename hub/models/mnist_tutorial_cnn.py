"""mnist_tutorial_cnn: the classic 2-conv net of the course, kept as it is taught.

conv 1->10 (5x5), max-pool, ReLU, conv 10->20 (5x5), max-pool, ReLU, flatten to 20*4*4 = 320
numbers, one linear layer to the 10 scores. About 8,500 weights; the baseline the others beat.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, register_model


class TutorialCNN(nn.Module):
    def __init__(self, c1: int = 10, c2: int = 20):
        super().__init__()
        self.normalize = Normalize()
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5)  # (B, c1, 24, 24)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5)  # (B, c2, 8, 8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 4 * 4, 10)  # 320 -> 10 with the course's widths

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.pool(self.conv1(self.normalize(image))))  # (B, c1, 12, 12)
        x = torch.relu(self.pool(self.conv2(x)))  # (B, c2, 4, 4)
        return self.fc(x.flatten(1))  # (B, 10) logits


@register_model
def mnist_tutorial_cnn() -> ModelSpec:
    return ModelSpec(
        name="mnist_tutorial_cnn",
        title="MNIST tutorial CNN (2 conv layers)",
        summary="The course's net: conv 1->10 k5, pool, conv 10->20 k5, pool, linear 320->10.",
        task="classifier",
        builder=TutorialCNN,
        kwargs=dict(c1=10, c2=20),
        recipes={
            "default": Recipe(epochs=12, batch_size=128, lr=5e-3, weight_decay=0.0, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=64, lr=4e-3, augment="none", notes="one epoch: ~98.5%"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(LOGITS_OUTPUT,),
                        file="mnist_tutorial_cnn", role="classifier"),),
        floors=(Floor("test_accuracy", ">=", 0.990),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="tutorial CNN", order=3),
        feature_blocks=(("conv1", "conv 1"), ("conv2", "conv 2")),
    )
