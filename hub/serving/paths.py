"""Where things live. The only module that reads DIGITZOO_HOME and DIGITZOO_DATA.

- store (``DIGITZOO_HOME``, default ``~/.cache/digitzoo``): checkpoints you train, caches.
- data (``--data-dir`` or ``DIGITZOO_DATA``, default ``<store>/data``): torchvision's MNIST root.
- pretrained (``hub/pretrained``): a read-only store shipped inside the package, laid out like
  the user store (``checkpoints/<name>/``, ``exports/``), so a fresh clone serves without training.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # digitzoo.hub's folder (this is digitzoo.hub.serving)
PRETRAINED_DIR = PACKAGE_DIR / "pretrained"


def store_dir() -> Path:
    """Root of everything digitzoo writes.

    >>> store_dir()  # the user's own path, or DIGITZOO_HOME's: not checked  # doctest: +SKIP
    PosixPath('/home/me/.cache/digitzoo')
    """
    env = os.environ.get("DIGITZOO_HOME")
    if env:
        return Path(env).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return (Path(cache) / "digitzoo").resolve()


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """MNIST root: the ``--data-dir`` flag, else ``DIGITZOO_DATA``, else ``<store>/data``.

    >>> data_dir("../shared/data").name
    'data'
    """
    chosen = override or os.environ.get("DIGITZOO_DATA")
    return Path(chosen).expanduser().resolve() if chosen else store_dir() / "data"


def checkpoint_dir(name: str) -> Path:
    """Folder of the checkpoint that ``digitzoo train NAME`` writes.

    >>> checkpoint_dir("mnist_cnn").name
    'mnist_cnn'
    """
    return store_dir() / "checkpoints" / name


def pretrained_dir(name: str) -> Path:
    """Folder of the checkpoint shipped with the package for ``name``."""
    return PRETRAINED_DIR / "checkpoints" / name


def exports_dir() -> Path:
    """Where ``digitzoo export`` writes exported files and their manifest."""
    return store_dir() / "exports"


def pretrained_exports_dir() -> Path:
    """The exported files shipped with the package (served when you exported nothing yourself)."""
    return PRETRAINED_DIR / "exports"


def cache_dir() -> Path:
    """Derived, re-creatable files (rendered evaluation sketches)."""
    return store_dir() / "cache"
