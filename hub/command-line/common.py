"""What the command line's modules share."""

from __future__ import annotations

import importlib.util
import sys

from digitzoo.hub.serving.errors import DigitzooError

TRAIN_EXTRA = "pip install 'digitzoo[train]'"


def require_torch(what: str) -> None:
    """One line, not an ImportError traceback, when a command needs the training extra."""
    if importlib.util.find_spec("torch") is None:
        raise DigitzooError(f"{what} needs PyTorch, which is not installed here: {TRAIN_EXTRA}")


def log_to_stderr(msg: str) -> None:
    """Progress lines: on stderr, so that stdout is the figures (or the JSON) alone."""
    print(msg, file=sys.stderr)


def check_port_free(host: str, port: int) -> None:
    """One line naming the flag, before Gradio's own traceback about a port it cannot take."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a TIME_WAIT port is free
        try:
            probe.bind((host, port))
        except OSError:
            raise DigitzooError(f"port {port} on {host} is busy (another digitzoo serve?): "
                                f"choose another with --port, e.g. --port {port + 1}") from None
