"""The test digits shipped with the package for scoring a visitor's own model (`digitzoo eval --onnx`,
the page's "Your model"): all 10,000 MNIST test digits and the same digits re-drawn as browser
sketches (train/sketches.py, seed 0), as the 28x28 the models read, quantised to uint8.

Each set is one gzip file: N*784 pixel bytes (row by row, white ink 255 on black 0) then N label
bytes. ``digits.json`` beside them lists each file's sha256, count and how it was made; the page
and the CLI read the same bytes, so their accuracies agree.

    python -m digitzoo.train.digit_sets [--data-dir DIR] [--out hub/pretrained/digits]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from digitzoo.hub.serving import digit_sets
from digitzoo.hub.serving.files import atomic_write, atomic_write_text


def as_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """(N, 28, 28) floats in [0, 1] or uint8, (N,) labels -> the set's uncompressed bytes."""
    if images.dtype != np.uint8:
        images = np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)
    return images.reshape(len(images), 784).tobytes() + labels.astype(np.uint8).tobytes()


def make_sets(data_dir=None, count: int = 10000) -> dict[str, tuple[bytes, str]]:
    """Set name -> (uncompressed bytes, how it was made), from MNIST's test split."""
    from digitzoo.hub.mnist import load_mnist
    from digitzoo.train.sketches import sketch_set

    images, labels = load_mnist(train=False, data_dir=data_dir)
    images, labels = images[:count].numpy(), labels[:count].numpy()
    return {
        "mnist_test": (as_bytes(images, labels), "the MNIST test split as published (t10k-images-idx3-ubyte)"),
        "redrawn_test": (as_bytes(sketch_set(images), labels),
                         "the same digits thinned, re-drawn with a round pen on an 800x800 canvas and read "
                         "by the page's preprocessing (train/sketches.py, seed 0), rounded to 0-255"),
    }


def write_sets(out: Path, data_dir=None, count: int = 10000) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    listed = {}
    for name, (raw, how) in make_sets(data_dir, count).items():
        packed = gzip.compress(raw, compresslevel=9, mtime=0)  # mtime 0: the same digits, the same bytes
        atomic_write(out / f"{name}.u8.gz", lambda tmp, packed=packed: Path(tmp).write_bytes(packed))
        listed[name] = {"file": f"{name}.u8.gz", "sha256": hashlib.sha256(packed).hexdigest(),
                        "count": len(raw) // 785, "label": digit_sets.LABELS[name], "made": how}
    index = {"format": digit_sets.FORMAT, "layout": "N*784 pixels (uint8, row by row, ink 255 on 0) then N labels",
             "license": "MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges): CC BY-SA 3.0", "sets": listed}
    atomic_write_text(out / digit_sets.INDEX, json.dumps(index, indent=2) + "\n")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=digit_sets.SHIPPED_DIR)
    parser.add_argument("--count", type=int, default=10000)
    args = parser.parse_args(argv)
    print(write_sets(args.out, args.data_dir, args.count))


if __name__ == "__main__":
    main()
