"""One normaliser per kind of user input; each raises a gr.Error (`refuse`) with a sentence to act on."""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, UnidentifiedImageError

from hub.errors import SketchError
from hub.sketch import MAX_PIXELS, preprocess


def refuse(message: str) -> gr.Error:
    """The error a user sees for bad input. A bad input is not a server fault, so no traceback in the log."""
    return gr.Error(message, print_exception=False)


# An image sent inline (data: URL) is held to the same size as an uploaded file.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_SIZE_HINT = f"use at most {int(MAX_PIXELS ** 0.5)}x{int(MAX_PIXELS ** 0.5)}"


def open_image(source: str | io.BytesIO) -> Image.Image:
    """A decoded image from a file path or bytes; refused before decoding when it is too large."""
    try:
        img = Image.open(source)  # reads the header only
    except Image.DecompressionBombError:
        raise refuse(f"The image is too large; {IMAGE_SIZE_HINT}.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise refuse("That is not an image Pillow can read (send a PNG or JPEG).") from None
    if img.width * img.height > MAX_PIXELS:
        raise refuse(f"The image is too large ({img.width}x{img.height}); {IMAGE_SIZE_HINT}.")
    try:
        img.load()
    except (OSError, ValueError):  # a truncated or corrupt file behind a valid header
        raise refuse("The image file is damaged or truncated (send a PNG or JPEG).") from None
    return img


def image_from_payload(payload: dict) -> Image.Image:
    """The /classify API's input as Gradio hands it over unprocessed: an uploaded file or a data: URL.

    Gradio has already checked that an uploaded file's path lies in its upload folder.
    """
    url, path = payload.get("url") or "", payload.get("path")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        if not header.startswith("data:image/") or not header.endswith(";base64"):
            raise refuse("Send the image as a base64 data: URL of a PNG or JPEG (data:image/png;base64,...).")
        if len(data) > MAX_IMAGE_BYTES * 4 // 3:
            raise refuse(f"The image is larger than {MAX_IMAGE_BYTES // 2**20} MB.")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise refuse("The data: URL is not valid base64.") from None
        return open_image(io.BytesIO(raw))
    if path:
        return open_image(path)
    raise refuse("Send an image: upload a file or give a data:image/png;base64 URL.")


def sketch_to_input(value: Any) -> np.ndarray:
    """Sketchpad dict, image file payload, image, array or file path -> (1, 1, 28, 28) float32 model input."""
    if isinstance(value, dict) and "composite" not in value:  # an unprocessed Gradio file payload
        value = image_from_payload(value)
    elif isinstance(value, str):  # an uploaded file path (Gradio hands us a temp file it owns)
        value = open_image(value)
    try:
        return preprocess(value)[None, None]
    except SketchError as exc:
        raise refuse(str(exc)) from None


def number(value: Any, name: str, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise refuse(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise refuse(f"{name} must be between {lo:g} and {hi:g}, got {value!r}.")
    return x


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise refuse(f"{name} must be a whole number, got {value!r}.") from None
    if not math.isfinite(x) or x != int(x) or not lo <= x <= hi:
        raise refuse(f"{name} must be a whole number from {lo} to {hi}, got {value!r}.")
    return int(x)


def upscale(image28: np.ndarray, size: int = 168) -> np.ndarray:
    """(28, 28) in [0, 1] -> (size, size) uint8 with crisp pixels, for showing what a model saw."""
    k = size // 28
    return (np.kron(np.clip(image28, 0, 1), np.ones((k, k))) * 255).astype(np.uint8)
