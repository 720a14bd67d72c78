"""What the command line's modules share."""

from __future__ import annotations

import importlib.util
import sys

from digitzoo.hub.errors import DigitzooError

TRAIN_EXTRA = "pip install 'digitzoo[train]'"


def require_torch(what: str) -> None:
    """One line, not an ImportError traceback, when a command needs the training extra."""
    if importlib.util.find_spec("torch") is None:
        raise DigitzooError(f"{what} needs PyTorch, which is not installed here: {TRAIN_EXTRA}")


def log_to_stderr(msg: str) -> None:
    """Progress lines: on stderr, so that stdout is the figures (or the JSON) alone."""
    print(msg, file=sys.stderr)
