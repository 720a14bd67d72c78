"""MNIST through torchvision, held in memory as uint8 tensors (60k images are 47 MB).

Part of the core because more than one stage reads it: training, export verification (real
test images) and evaluation.

>>> images, labels = load_mnist(train=False)  # needs MNIST on disk, else a download: not run  # doctest: +SKIP
>>> to_float(images[:2]).shape  # doctest: +SKIP
torch.Size([2, 1, 28, 28])
"""

from __future__ import annotations

import contextlib
import io
import os

import torch

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DataUnavailable


def load_mnist(train: bool, data_dir: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of the MNIST train or test split.

    Downloads into the data folder when the files are not there yet; raises DataUnavailable
    with a one-line explanation when they are absent and cannot be downloaded.
    """
    from torchvision.datasets import MNIST

    root = paths.data_dir(data_dir)
    # DIGITZOO_OFFLINE=1: never try the network (air-gapped machines, tests).
    download = os.environ.get("DIGITZOO_OFFLINE", "") not in ("1", "true", "yes")
    chatter = io.StringIO()  # torchvision prints download progress; keep it for the error
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            dataset = MNIST(str(root), train=train, download=download)
    except Exception as exc:
        raise DataUnavailable(
            f"MNIST is not in {root / 'MNIST' / 'raw'} and could not be "
            f"{'downloaded' if download else 'downloaded (DIGITZOO_OFFLINE is set)'} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}); "
            "point --data-dir or DIGITZOO_DATA at a folder holding MNIST/raw/*-ubyte"
        ) from None
    return dataset.data, dataset.targets.long()


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], the models' input."""
    return images.unsqueeze(1).float().div_(255.0)
