"""mnist_gan: a class-conditional DCGAN with a projection discriminator and hinge loss.

The generator gets the digit as a learned embedding next to the noise; the discriminator
judges "is this a real image of digit y". Only the generator is deployed.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import DIGITS
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, TensorSpec, register_model

Z_DIM = 64


class Generator(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.width = width
        self.label_embedding = nn.Embedding(10, z_dim)
        self.dense = nn.Sequential(
            nn.Linear(2 * z_dim, 2 * width * 49, bias=False), nn.BatchNorm1d(2 * width * 49), nn.ReLU(True)
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),  # (B, w, 14, 14)
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, self.label_embedding(label)], dim=1)  # (B, 2 * z_dim)
        h = self.dense(h).view(-1, 2 * self.width, 7, 7)  # (B, 2w, 7, 7)
        return self.up(h)  # (B, 1, 28, 28) in [0, 1]


class Discriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018): real/fake score of an image *as digit y*.

    Spectral norm on every layer keeps it 1-Lipschitz, which with the hinge loss keeps the
    generator from collapsing onto one image per digit (what an AC-GAN head did here).
    """

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.features = nn.Sequential(
            sn(nn.Conv2d(1, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, True),  # (B, w, 14, 14)
            sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, True),  # (B, 2w, 7, 7)
            sn(nn.Conv2d(2 * width, 2 * width, 3, padding=1)), nn.LeakyReLU(0.2, True),  # (B, 2w, 7, 7)
            nn.Flatten(),  # (B, 2w * 49)
        )
        self.score = sn(nn.Linear(2 * width * 49, 1))
        self.label_projection = sn(nn.Embedding(10, 2 * width * 49))

    def forward(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.features(image * 2 - 1)  # [0,1] pixels -> [-1,1]; (B, 2w * 49)
        return self.score(h).squeeze(1) + (self.label_projection(label) * h).sum(1)  # (B,)


class MnistGAN(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, g_width: int = 64, d_width: int = 32):
        super().__init__()
        self.generator = Generator(z_dim, g_width)
        self.discriminator = Discriminator(d_width)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.generator(z, label)


@register_model
def mnist_gan() -> ModelSpec:
    return ModelSpec(
        name="mnist_gan",
        title="MNIST class-conditional GAN",
        summary="DCGAN generator conditioned on a label embedding, trained against a spectral-norm projection discriminator (hinge loss).",
        task="gan",
        builder=MnistGAN,
        kwargs=dict(z_dim=Z_DIM, g_width=64, d_width=32),
        recipes={"default": Recipe(epochs=10, batch_size=64, lr=2e-4, augment="none")},
        parts=(
            PartSpec(
                name="generator",
                module="generator",
                inputs=(
                    TensorSpec("z", ("batch", Z_DIM), "float32", None, "standard normal noise"),
                    TensorSpec("label", ("batch",), "int64", (0.0, 9.0), "digit to draw, 0-9"),
                ),
                outputs=(
                    TensorSpec("image", ("batch", 1, 28, 28), "float32", (0.0, 1.0),
                               "generated 28x28 digit, white ink (1.0) on black (0.0)"),
                ),
                file="mnist_gan_generator",
                role="generator",
            ),
        ),
        floors=(Floor("class_accuracy", ">=", 0.97), Floor("inception_score", ">=", 9.5)),
        labels=DIGITS,
        judge="mnist_cnn",
        demo=Demo(tab="gan", label="GAN"),
    )
