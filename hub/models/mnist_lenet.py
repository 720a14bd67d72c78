"""mnist_lenet: the LeNet-style net of the PyTorch basics tutorial, which reads 1x32x32 images.

conv 1->6 (5x5), pool, conv 6->16 (5x5), pool, then 16*5*5 -> 120 -> 84 -> 10. The 28x28
MNIST digit is padded with 2 black pixels on every side inside ``forward``, so the exported
file takes the same (batch, 1, 28, 28) image as every other classifier of the zoo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, register_model


class LeNet(nn.Module):
    def __init__(self, c1: int = 6, c2: int = 16, fc: tuple[int, int] = (120, 84)):
        super().__init__()
        self.normalize = Normalize()
        self.conv1 = nn.Conv2d(1, c1, 5)  # (B, c1, 28, 28) from 32x32
        self.conv2 = nn.Conv2d(c1, c2, 5)  # (B, c2, 10, 10)
        self.fc1 = nn.Linear(c2 * 5 * 5, fc[0])
        self.fc2 = nn.Linear(fc[0], fc[1])
        self.fc3 = nn.Linear(fc[1], 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.pad(image, (2, 2, 2, 2))  # (B, 1, 32, 32): black border, as the tutorial's input
        x = F.max_pool2d(F.relu(self.conv1(self.normalize(x))), 2)  # (B, c1, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, c2, 5, 5)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)  # (B, 10) logits


@register_model
def mnist_lenet() -> ModelSpec:
    return ModelSpec(
        name="mnist_lenet",
        title="MNIST LeNet (PyTorch basics tutorial)",
        summary="LeNet-5 style: conv 6 and 16 (5x5) on the digit padded to 32x32, dense 400-120-84-10.",
        task="classifier",
        builder=LeNet,
        kwargs=dict(c1=6, c2=16, fc=(120, 84)),
        recipes={
            "default": Recipe(epochs=10, batch_size=128, lr=4e-3, weight_decay=1e-4, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=64, lr=3e-3, augment="none", notes="one epoch"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(LOGITS_OUTPUT,),
                        file="mnist_lenet", role="classifier"),),
        floors=(Floor("test_accuracy", ">=", 0.990),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="LeNet", order=6),
        feature_blocks=(("conv1", "conv 1"), ("conv2", "conv 2")),
    )
