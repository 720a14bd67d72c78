"""The test digits shipped with the package (``hub/pretrained/digits/``, made by
``python -m digitzoo.train.digit_sets``): what a visitor's own model is scored on, by
``digitzoo eval --onnx`` and by the page, from the same bytes.

>>> images, labels = load("mnist_test")
>>> images.shape, images.dtype, labels[:5].tolist()
((10000, 28, 28), dtype('uint8'), [7, 2, 1, 0, 4])
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import read_format_json, read_inside

FORMAT = "digitzoo-digits/1"
INDEX = "digits.json"
SHIPPED_DIR = paths.PRETRAINED_DIR / "digits"
# Set name -> how the page and the CLI call it.
LABELS = {"mnist_test": "MNIST test digits", "redrawn_test": "re-drawn test digits"}


def index(folder: Path = SHIPPED_DIR) -> dict:
    """``digits.json``: the sets, each with its file, sha256, count and label."""
    return read_format_json(folder / INDEX, FORMAT, "digit sets index", DigitzooError,
                            f"{folder / INDEX} is missing: make it with `python -m digitzoo.train.digit_sets`")


def load(name: str, folder: Path = SHIPPED_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, white ink 255 on 0; labels (N,) uint8) of set ``name``, its sha256 checked."""
    sets = index(folder)["sets"]
    if name not in sets:
        raise DigitzooError(f"no digit set {name!r}; there are {', '.join(sets)}")
    listed = sets[name]
    try:
        raw = gzip.decompress(read_inside(folder, listed["file"], listed["sha256"]))
    except (OSError, ValueError) as exc:
        raise DigitzooError(f"the digit set {name} could not be read: {exc}") from None
    count = listed["count"]
    if len(raw) != count * 785:
        raise DigitzooError(f"the digit set {name} holds {len(raw)} bytes, not {count} digits")
    return np.frombuffer(raw, np.uint8, count * 784).reshape(count, 28, 28), np.frombuffer(raw, np.uint8, count, count * 784)
