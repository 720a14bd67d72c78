"""One normaliser per kind of user input; each raises a gr.Error (`refuse`) with a sentence to act on."""

from __future__ import annotations

import base64
import binascii
import io
import math
from pathlib import Path
from typing import Annotated, Any, Union

import gradio as gr
import numpy as np
from gradio.data_classes import GradioModel, GradioRootModel, ImageData
from gradio.utils import get_upload_folder
from PIL import Image, UnidentifiedImageError
from pydantic import Discriminator, Tag

from digitzoo.hub.serving.errors import EmptySketch, SketchError
from digitzoo.hub.serving.sketch import MAX_PIXELS, preprocess


def _image_or_sketch(value: Any) -> str:
    return "sketch" if isinstance(value, dict) and {"background", "layers", "composite"} & value.keys() else "file"


class SketchData(GradioModel):
    """A Sketchpad's value, each picture as gr.Image takes one (a file or a data: URL).

    Only the composite is read. The layers are what the pad sends and are never opened, so they
    are not validated one by one either: a call with 20,000 of them cost 13.6 s of validation.
    """

    background: ImageData | None = None
    layers: list[Any] = []
    composite: ImageData | None = None


class ImageOrSketchData(GradioRootModel):
    """An image (uploaded, or inline as a data: URL), or a Sketchpad's own value."""

    root: Annotated[Union[Annotated[SketchData, Tag("sketch")], Annotated[ImageData, Tag("file")]],
                    Discriminator(_image_or_sketch)]


class ImageOrSketch(gr.Image):
    """The /classify API's input: what gr.Image takes, and also the Sketchpad's value
    ({"background", "layers", "composite"}), which the design notes promise API callers.

    Gradio validates every input against its component's data model, even with preprocess=False,
    and gr.Image's (a file) would drop a Sketchpad's keys; this model keeps either. Drawn by the
    page's Image (``is_template``); it is never shown.
    """

    is_template = True
    data_model = ImageOrSketchData


class EmptyCanvas(gr.Error):
    """A blank pad. The API answers it like any refusal; live events catch it and reset the view."""


def refuse(message: str) -> gr.Error:
    """The error a user sees for bad input. A bad input is not a server fault, so no traceback in the log."""
    return gr.Error(message, print_exception=False)


# An image sent inline (data: URL) is held to the same size as an uploaded file.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_SIZE_HINT = f"use at most {int(MAX_PIXELS ** 0.5)}x{int(MAX_PIXELS ** 0.5)}"
# The formats the sentences name: what a pad, a phone camera or a screenshot makes. Pillow knows
# dozens more (TIFF, PSD, ...), each a decoder a stranger's file could reach.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
FORMATS_HINT = "send a PNG, JPEG or WebP"


def bound_pillow_decoding() -> None:
    """Make every Pillow decode in this process refuse a picture over MAX_PIXELS, Gradio's included.

    Our own readers check the header first (``open_image``); this bounds any decode that does
    not pass through them. Pillow raises DecompressionBombError above twice its limit (and warns
    between), so the limit is half of ours. Pillow's default allows 179 megapixels: a 46 kB 1-bit
    PNG of 13000x13000 cost the server 2 GB as RGBA.
    """
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2


def open_image(source: str | io.BytesIO) -> Image.Image:
    """A decoded image from a file path or bytes; refused from its header (size, format, frames)
    before any pixel is decoded."""
    try:
        img = Image.open(source, formats=IMAGE_FORMATS)  # reads the header only
    except Image.DecompressionBombError:
        raise refuse(f"The image is too large; {IMAGE_SIZE_HINT}.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise refuse(f"That is not an image this server reads ({FORMATS_HINT}).") from None
    if img.width * img.height > MAX_PIXELS:
        raise refuse(f"The image is too large ({img.width}x{img.height}); {IMAGE_SIZE_HINT}.")
    if getattr(img, "n_frames", 1) > 1:  # an animation: which frame would be the digit?
        raise refuse(f"Send a single picture, not an animation of {img.n_frames} frames.")
    try:
        img.load()
    except (OSError, ValueError):  # a truncated or corrupt file behind a valid header
        raise refuse(f"The image file is damaged or truncated ({FORMATS_HINT}).") from None
    return img


def uploaded_path(path: Any) -> str:
    """``path`` resolved, when it is a file in Gradio's upload folder; any other path is refused.

    With ``preprocess=False`` the endpoint gets the client's JSON as is. Gradio checks the path of
    a payload marked ``"meta": {"_type": "gradio.FileData"}``, but not of one without that mark:
    ``{"path": "/home/me/photo.png"}`` would otherwise make the server open a file of its own
    disk and answer with the 28x28 picture of it. Only files Gradio received are ours to read.
    """
    try:
        resolved = Path(str(path)).resolve()
        folder = Path(get_upload_folder()).resolve()
        ok = resolved.is_relative_to(folder) and resolved.is_file()
    except (OSError, ValueError, RuntimeError):  # NUL bytes, loops of links, unreadable folders
        ok = False
    if not ok:
        raise refuse("Only uploaded files are read: upload the image, or send it inline as a "
                     "data:image/png;base64 URL (paths on the server are not accepted).")
    return str(resolved)


def image_from_payload(payload: dict) -> Image.Image:
    """The /classify API's input as Gradio hands it over unprocessed: an uploaded file or a data: URL."""
    url, path = payload.get("url") or "", payload.get("path")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        if not header.startswith("data:image/") or not header.endswith(";base64"):
            raise refuse("Send the image as a base64 data: URL of a PNG, JPEG or WebP (data:image/png;base64,...).")
        if len(data) > MAX_IMAGE_BYTES * 4 // 3:
            raise refuse(f"The image is larger than {MAX_IMAGE_BYTES // 2**20} MB.")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise refuse("The data: URL is not valid base64.") from None
        return open_image(io.BytesIO(raw))
    if path:
        return open_image(uploaded_path(path))
    raise refuse("Send an image: upload a file or give a data:image/png;base64 URL.")


def sketch_to_input(value: Any) -> np.ndarray:
    """Sketchpad dict, image file payload, image, array or file path -> (1, 1, 28, 28) float32 model input."""
    if isinstance(value, dict) and "composite" in value:
        # The Sketchpad's value ({"background", "layers", "composite"}): the page's own events get it
        # decoded (arrays); an API caller's comes as file payloads (preprocess=False), of which this
        # reads the composite alone (what was drawn), through open_image's header checks. The layers
        # are never opened.
        picture = value["composite"] if value["composite"] is not None else value.get("background")
        if picture is None:
            raise EmptyCanvas("The canvas is empty: draw a digit first.", print_exception=False)
        value = picture
    elif isinstance(value, dict) and "strokes" in value:  # the Draw page's value (apps/web/hub.js): strokes and a PNG
        if not isinstance(value.get("png"), str):
            raise EmptyCanvas("The canvas is empty: draw a digit first.", print_exception=False)
        value = {"url": value["png"]}
    if isinstance(value, dict):  # an unprocessed Gradio file payload
        value = image_from_payload(value)
    elif isinstance(value, str):  # an uploaded file path (Gradio hands us a temp file it owns)
        value = open_image(uploaded_path(value))
    try:
        return preprocess(value)[None, None]
    except EmptySketch as exc:
        raise EmptyCanvas(str(exc), print_exception=False) from None
    except SketchError as exc:
        raise refuse(str(exc)) from None


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` for an error sentence, cut short: a client's 10^6-element list is not echoed back."""
    if isinstance(value, str) and len(value) > limit:
        return f"a text of {len(value):,} characters"
    if isinstance(value, (list, tuple, dict)) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    try:
        text = repr(value)
    except ValueError:  # an int over Python's 4,300-digit str() limit
        return "a number too long to show"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def number(value: Any, name: str, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except OverflowError:  # an integer of 400 digits: a number, out of any range
        x = math.inf
    except (TypeError, ValueError):
        raise refuse(f"{name} must be a number, got {shown(value)}.") from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise refuse(f"{name} must be between {lo:g} and {hi:g}, got {shown(value)}.")
    return x


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    try:
        x = float(value)
    except OverflowError:  # an integer of 400 digits: a number, out of any range
        x = math.inf
    except (TypeError, ValueError):
        raise refuse(f"{name} must be a whole number, got {shown(value)}.") from None
    if not math.isfinite(x) or x != int(x) or not lo <= x <= hi:
        raise refuse(f"{name} must be a whole number from {lo} to {hi}, got {shown(value)}.")
    return int(x)


def upscale(image28: np.ndarray, size: int = 168) -> np.ndarray:
    """(28, 28) in [0, 1] -> (size, size) uint8 with crisp pixels, for showing what a model saw."""
    k = size // 28
    return (np.kron(np.clip(image28, 0, 1), np.ones((k, k))) * 255).astype(np.uint8)
