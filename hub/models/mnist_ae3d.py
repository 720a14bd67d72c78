"""mnist_ae3d: a convolutional autoencoder whose bottleneck is exactly 3 numbers.

Encoder and decoder are separate modules so they export and serve on their own: the demo
places drawn digits in the 3-D space with the encoder and renders any point with the decoder.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import IMAGE_INPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, TensorSpec, register_model

LATENT_DIM = 3

CODE = TensorSpec(
    name="code",
    shape=("batch", LATENT_DIM),
    dtype="float32",
    value_range=None,
    description="3-D latent code; the card's metrics give the range test digits occupy",
)
RECONSTRUCTION = TensorSpec(
    name="image",
    shape=("batch", 1, 28, 28),
    dtype="float32",
    value_range=(0.0, 1.0),
    description="decoded 28x28 digit, white ink (1.0) on black (0.0)",
)


class Encoder(nn.Module):
    def __init__(self, width: int = 32, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(
            Normalize(),
            nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # (B, 2w, 7, 7)
            nn.Flatten(),  # (B, 2w * 49)
            nn.Linear(2 * width * 49, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 128), nn.ReLU(inplace=True),
            nn.Linear(128, LATENT_DIM),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)  # (B, 3)


class Decoder(nn.Module):
    def __init__(self, width: int = 32, hidden: int = 512):
        super().__init__()
        self.width = width
        self.dense = nn.Sequential(
            nn.Linear(LATENT_DIM, 128), nn.ReLU(inplace=True),
            nn.Linear(128, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * width * 49), nn.ReLU(inplace=True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(inplace=True),  # (B, w, 14, 14)
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU(inplace=True),  # (B, w, 28, 28)
            nn.Conv2d(width, 1, 3, padding=1),  # (B, 1, 28, 28) logits
        )

    def logits(self, code: torch.Tensor) -> torch.Tensor:
        h = self.dense(code).view(-1, 2 * self.width, 7, 7)  # (B, 2w, 7, 7)
        return self.up(h)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(code))  # (B, 1, 28, 28) in [0, 1]


class MnistAE3D(nn.Module):
    def __init__(self, width: int = 32, hidden: int = 512):
        super().__init__()
        self.encoder = Encoder(width, hidden)
        self.decoder = Decoder(width, hidden)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(image))


@register_model
def mnist_ae3d() -> ModelSpec:
    return ModelSpec(
        name="mnist_ae3d",
        title="MNIST autoencoder with a 3-D latent space",
        summary="conv encoder -> 3 numbers -> transposed-conv decoder; usable as two parts.",
        task="autoencoder",
        builder=MnistAE3D,
        kwargs=dict(width=32, hidden=512),
        recipes={"default": Recipe(epochs=20, batch_size=128, lr=2e-3, augment="none")},
        parts=(
            PartSpec(name="encoder", module="encoder", inputs=(IMAGE_INPUT,), outputs=(CODE,), file="mnist_ae3d_encoder",
                     role="encoder"),
            PartSpec(name="decoder", module="decoder", inputs=(CODE,), outputs=(RECONSTRUCTION,), file="mnist_ae3d_decoder",
                     role="decoder"),
        ),
        floors=(Floor("test_mse", "<=", 0.030),),
        # The latent tab plots where these many test digits sit (computed at export time, so
        # the app needs neither MNIST nor torch).
        demo=Demo(tab="latent", label="autoencoder", scatter_points=2000),
    )
