"""mnist_mlp: the softmax multi-layer perceptron of the course, made a little wider.

The image is flattened to 784 numbers and passed through fully connected ReLU layers; the
last layer gives 10 scores whose softmax is the class probability (the "softmax MLP").
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, register_model


class MnistMLP(nn.Module):
    def __init__(self, hidden: tuple[int, ...] = (512, 256), dropout: float = 0.2):
        super().__init__()
        self.normalize = Normalize()
        layers: list[nn.Module] = [nn.Flatten()]  # (B, 784)
        width = 28 * 28
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(image))  # (B, 10) logits; softmax gives probabilities


@register_model
def mnist_mlp() -> ModelSpec:
    return ModelSpec(
        name="mnist_mlp",
        title="MNIST softmax MLP classifier",
        summary="784-512-256-10 perceptron with ReLU and dropout; softmax over the 10 scores.",
        task="classifier",
        builder=MnistMLP,
        kwargs=dict(hidden=(512, 256), dropout=0.2),
        recipes={
            # Mild augmentation: an MLP has no translation invariance, so shifted/rotated digits
            # teach it what convolutions get for free; too much of it costs test accuracy.
            "default": Recipe(epochs=10, batch_size=128, lr=2e-3, weight_decay=1e-4, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=128, lr=2e-3, augment="none",
                           model_kwargs=dict(hidden=(256,), dropout=0.0), notes="one epoch, one hidden layer"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(LOGITS_OUTPUT,), file="mnist_mlp",
                        role="classifier"),),
        floors=(Floor("test_accuracy", ">=", 0.983),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="MLP", order=2),
    )
