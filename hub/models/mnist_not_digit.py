"""mnist_not_digit: says when a drawing is probably not a digit (a letter, a shape, a scribble, a tap).

Why a trained detector and not a score of the classifiers themselves: a classifier trained on
digits only has no way to say "none of these". Its confidence on a letter A is as high as on a 4
(79% here), and the usual out-of-distribution scores (max softmax, energy, the autoencoder's
reconstruction error) cannot rank an A below the untidier real digits, because many drawn digits
are stranger than a clean letter. So this model learns the difference from examples: MNIST digits,
the same re-drawn, and digits printed in the DejaVu faces (typed, traced, photographed:
``train.printed_digits``) against letters in those faces (traced, typed, photographed), shapes and
scribbles, all through the app's own preprocessing (``train.not_digits``), then calibrated on
held-out digits of each kind (5,000 raw training digits, the same re-drawn, 3,360 printed) so that
at most 0.1% of each is flagged. The measured sets use faces it never saw (Liberation); see
``digitzoo eval mnist_not_digit``.

Its output is two scores, [digit, not a digit], already shifted by the calibrated threshold, so
the exported file's argmax is the verdict (index 1: not a digit) and softmax a probability-like
confidence; no threshold travels beside the file.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import IMAGE_INPUT, Normalize, conv_bn_relu
from digitzoo.hub.registry import Floor, ModelSpec, PartSpec, Recipe, TensorSpec, register_model

VERDICT_OUTPUT = TensorSpec(
    name="logits",
    shape=("batch", 2),
    dtype="float32",
    value_range=None,
    description="scores for [digit, not a digit], calibrated: argmax 1 means the drawing is probably not a digit",
)


class NotDigitDetector(nn.Module):
    def __init__(self, width: int = 32, dropout: float = 0.2):
        super().__init__()
        self.normalize = Normalize()
        self.features = nn.Sequential(
            conv_bn_relu(1, width), nn.MaxPool2d(2),  # (B, w, 14, 14)
            conv_bn_relu(width, 2 * width), nn.MaxPool2d(2),  # (B, 2w, 7, 7)
            conv_bn_relu(2 * width, 2 * width), nn.MaxPool2d(2),  # (B, 2w, 3, 3)
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width * 9, 64), nn.ReLU(inplace=True),
                                  nn.Linear(64, 2))
        # Subtracted from the scores: [0, threshold], set by calibration after training (a buffer,
        # so it is saved with the weights and baked into every export).
        self.register_buffer("shift", torch.zeros(2))

    def raw_scores(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, 2) scores before calibration (what training sees)."""
        return self.head(self.features(self.normalize(image)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.raw_scores(image) - self.shift  # (B, 2): argmax 1 = not a digit

    def calibrate(self, threshold: float) -> None:
        """Flag a drawing when raw score(not a digit) - score(digit) > ``threshold``."""
        self.shift.copy_(torch.tensor([0.0, float(threshold)]))


@register_model
def mnist_not_digit() -> ModelSpec:
    return ModelSpec(
        name="mnist_not_digit",
        title="Not-a-digit detector",
        summary="3 conv+BN blocks (32/64/64 channels): is this drawing a digit, or a letter, shape, scribble or tap?",
        task="detector",
        builder=NotDigitDetector,
        kwargs=dict(width=32, dropout=0.2),
        recipes={
            "default": Recipe(epochs=16, batch_size=128, lr=3e-3, weight_decay=1e-4, augment="sketch"),
            "fast": Recipe(epochs=1, batch_size=128, lr=3e-3, augment="none", model_kwargs=dict(width=16),
                           notes="one epoch, half-width net"),
        },
        parts=(PartSpec(name="model", module=None, inputs=(IMAGE_INPUT,), outputs=(VERDICT_OUTPUT,),
                        file="mnist_not_digit", role="detector"),),
        # The goals: >= 90% of the non-digit set flagged; <= 0.2% of each kind of digit (test, re-drawn, printed).
        floors=(Floor("not_digits_flagged", ">=", 0.90), Floor("test_digits_flagged", "<=", 0.002),
                Floor("drawn_digits_flagged", "<=", 0.002), Floor("printed_digits_flagged", "<=", 0.002)),
        labels=("digit", "not a digit"),
    )
