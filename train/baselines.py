"""The classic PyTorch-tutorial MNIST recipe (Morvan Zhou's tutorial), kept as a yardstick.

Not a registered model: benchmarks train it next to ours in the same process so that the
comparison is a ratio measured on the same machine at the same moment.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from digitzoo.hub.mnist import to_float


class TutorialCNN(nn.Module):
    """conv(16, 5x5) -> pool -> conv(32, 5x5) -> pool -> linear: the tutorial's 2-conv net."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))  # (B, 16, 14, 14)
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))  # (B, 32, 7, 7)
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.out(self.conv2(self.conv1(x)).flatten(1))


def train_tutorial(images, labels, epochs: int = 1, batch_size: int = 50, lr: float = 1e-3, seed: int = 0,
                   after_epoch=None):
    """Adam 1e-3, batch 50, as in the tutorial; returns (model, training seconds).

    ``after_epoch(epoch, model, seconds)``, if given, runs after each epoch outside the timed
    span (to score the model); returning True stops training there.
    """
    torch.manual_seed(seed)
    model = TutorialCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    spent = 0.0
    for epoch in range(epochs):
        began = time.perf_counter()
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed + epoch))
        model.train()
        for i in range(0, len(images) - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(to_float(images[idx])), labels[idx])
            loss.backward()
            optimizer.step()
        spent += time.perf_counter() - began
        if after_epoch is not None and after_epoch(epoch + 1, model.eval(), spent):
            break
    return model.eval(), spent
