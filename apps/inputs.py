"""One normaliser per kind of user input; each raises gr.Error with a sentence to act on."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr
import numpy as np

from hub.errors import SketchError
from hub.sketch import preprocess


def sketch_to_input(value: Any) -> np.ndarray:
    """Sketchpad dict, image array or file path -> (1, 1, 28, 28) float32 model input."""
    if isinstance(value, str):  # an uploaded file path (gradio hands us a temp file it owns)
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(value) as img:
                if img.width * img.height > 4096 * 4096:
                    raise gr.Error(f"The image is too large ({img.width}x{img.height}); use at most 4096x4096.")
                value = img.convert("RGBA") if "A" in img.getbands() else img.convert("RGB")
        except (UnidentifiedImageError, OSError):
            raise gr.Error("That file is not an image Pillow can read (use PNG or JPEG).") from None
    try:
        return preprocess(value)[None, None]
    except SketchError as exc:
        raise gr.Error(str(exc)) from None


def number(value: Any, name: str, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise gr.Error(f"{name} must be between {lo:g} and {hi:g}, got {value!r}.")
    return x


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number, got {value!r}.") from None
    if not math.isfinite(x) or x != int(x) or not lo <= x <= hi:
        raise gr.Error(f"{name} must be a whole number from {lo} to {hi}, got {value!r}.")
    return int(x)


def upscale(image28: np.ndarray, size: int = 168) -> np.ndarray:
    """(28, 28) in [0, 1] -> (size, size) uint8 with crisp pixels, for showing what a model saw."""
    k = size // 28
    return (np.kron(np.clip(image28, 0, 1), np.ones((k, k))) * 255).astype(np.uint8)
