"""Pieces shared by the model files: MNIST normalisation and the common tensor specs."""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.registry import TensorSpec

# Mean and std of MNIST training pixels in [0, 1]. Models normalise inside forward() so an
# exported file takes plain [0, 1] pixels and a user never has to know these numbers.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

DIGITS = tuple(str(d) for d in range(10))

IMAGE_INPUT = TensorSpec(
    name="image",
    shape=("batch", 1, 28, 28),
    dtype="float32",
    value_range=(0.0, 1.0),
    description="28x28 grayscale digit, white ink (1.0) on black (0.0), MNIST-centred (NCHW)",
)

LOGITS_OUTPUT = TensorSpec(
    name="logits",
    shape=("batch", 10),
    dtype="float32",
    value_range=None,
    description="unnormalised class scores for digits 0-9; softmax gives probabilities",
)


class Normalize(nn.Module):
    """(x - MNIST_MEAN) / MNIST_STD, kept as a module so exporters see it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )
