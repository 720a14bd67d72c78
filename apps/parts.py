"""The exported parts the apps call, opened once per process with the chosen backend/device."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from hub.runtime import Part, load_part

SETTINGS = {"backend": "onnx", "device": "auto", "root": None}


def configure(backend: str = "onnx", device: str = "auto", root: str | os.PathLike | None = None) -> None:
    """Choose how every app runs its models (``root``: an exports folder); call before the first request."""
    SETTINGS.update(backend=backend, device=device, root=Path(root).resolve() if root else None)
    get.cache_clear()


@cache
def get(model: str, part: str = "model") -> Part:
    return load_part(model, part, backend=SETTINGS["backend"], device=SETTINGS["device"], root=SETTINGS["root"],
                     spinning=False)  # a server: idle model threads must not busy-wait


def describe(*parts: Part) -> str:
    """'onnxruntime-cpu: 1.2 ms + 0.8 ms' for the page footer of a result."""
    return f"{parts[0].device}: " + " + ".join(f"{p.model}{'/' + p.part if p.part != 'model' else ''} {p.last_ms:.1f} ms" for p in parts)
