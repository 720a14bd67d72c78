"""Turn what a person draws in a browser into the 28x28 input the models were trained on.

MNIST's own recipe (LeCun et al.): crop the ink, fit it in a 20x20 box keeping the aspect
ratio, then place it in 28x28 so its centre of mass is in the middle. On top of that, browser
drawings need two fixes MNIST never did: the ink is found whatever the colours (dark on light,
light on dark, strokes on a transparent layer), and the stroke width is brought to MNIST's
(a 3 px pen on an 800 px canvas would otherwise vanish when shrunk 30 times).

Pure numpy + Pillow: the serving path must not import torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from digitzoo.hub.serving.errors import EmptySketch, SketchError

# The drawing pad, the same in every page (the hub's and the static site's, via models.json): 560
# pixels a side and a 28-pixel pen draw like MNIST's writers, whose strokes were ~1/20 of the digit.
PAD_SIZE = 560
PEN_WIDTH = 28
MAX_PIXELS = 4096 * 4096  # refuse larger uploads before doing any work on them
WORK_SIZE = 80  # the ink is normalised at 4x the 20 px box
TARGET_STROKE = 10.0  # MNIST strokes are ~2.5 px of the 20 px box, i.e. ~10 px at WORK_SIZE
MIN_INK_SIDE = 4  # a smaller mark is a dot, not a digit


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, dict):  # gr.Sketchpad / gr.ImageEditor value
        composite = value.get("composite")
        if composite is None:
            composite = value.get("background")
        if composite is None:
            raise EmptySketch("The canvas is empty: draw a digit first.")
        value = composite
    if isinstance(value, Image.Image):
        if value.width * value.height > MAX_PIXELS:
            raise SketchError(f"The image is too large ({value.width}x{value.height}); use at most 4096x4096.")
        if value.mode not in ("L", "RGB", "RGBA", "F"):
            value = value.convert("RGBA" if "A" in value.getbands() or "transparency" in value.info else "RGB")
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise SketchError(f"Expected an image (numpy array or PIL image), got {type(value).__name__}.")
    return value


def to_ink(value: Any) -> np.ndarray:
    """Any drawing -> (H, W) float32 ink map in [0, 1], 1 = ink, 0 = background.

    >>> canvas = np.full((50, 50), 255, np.uint8); canvas[20:30, 20:30] = 0  # dark on light
    >>> float(to_ink(canvas)[25, 25]), float(to_ink(canvas)[0, 0])
    (1.0, 0.0)
    """
    levels, table = ink_levels(value)
    return table[levels]


def ink_levels(value: Any) -> tuple[np.ndarray, np.ndarray]:
    """Any drawing -> ((H, W) uint8 levels, 256-entry float32 table); the ink map is table[levels].

    Kept apart so that preprocess() can find the ink on a large canvas with uint8 and a
    histogram, and build floats only for the crop around the digit.
    """
    arr = _as_array(value)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise SketchError(f"Expected a grayscale, RGB or RGBA image, got an array of shape {arr.shape}.")
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise SketchError(f"The image is too small ({arr.shape[1]}x{arr.shape[0]}); use at least 8x8 pixels.")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise SketchError(f"The image is too large ({arr.shape[1]}x{arr.shape[0]}); use at most 4096x4096.")
    if arr.dtype == np.uint8:
        return _uint8_levels(arr)  # what browsers send: stays in uint8 and C code
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    elif not np.issubdtype(arr.dtype, np.number):
        raise SketchError(f"Expected numeric pixels, got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / (65535.0 if arr.max(initial=0) > 255 else 255.0)
    else:
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise SketchError("The image contains NaN or infinite values.")
        if arr.min() < 0 or arr.max() > 255:
            raise SketchError("Pixel values must lie in [0, 1] or [0, 255].")
        if arr.max() > 1.0:
            arr = arr / 255.0
    # Float input: quantise to 8 bits and share the uint8 path (grey paper counts as no ink).
    return _uint8_levels(np.round(arr * 255).astype(np.uint8))


def _paper_to_ink_table(border: np.ndarray) -> np.ndarray:
    """Lookup table uint8 grey value -> ink in [0, 1], given the grey values of the border."""
    background = float(np.median(border)) / 255.0
    levels = np.arange(256, dtype=np.float32) / 255.0
    ink = 1.0 - levels if background > 0.5 else levels  # dark-on-light canvases are inverted
    paper = 1.0 - background if background > 0.5 else background
    return np.clip((ink - paper) / max(1.0 - paper, 1e-6), 0.0, 1.0).astype(np.float32)


def _uint8_levels(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if arr.ndim == 3 and arr.shape[2] == 4 and arr[:, :, 3].min() < 253:
        # Strokes on a transparent layer: opacity is the ink, whatever the stroke colour.
        return arr[:, :, 3], np.arange(256, dtype=np.float32) / np.float32(255.0)
    gray = arr if arr.ndim == 2 else np.asarray(Image.fromarray(arr).convert("L"))
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return gray, _paper_to_ink_table(border)


def _ink_above(levels: np.ndarray, table: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of table[levels] > threshold without building the float ink map of the whole canvas.

    The table is monotonic in the level, so the levels above a threshold are one contiguous
    range: two uint8 comparisons instead of a 256-entry lookup per pixel.
    """
    selected = np.flatnonzero(table > threshold)
    if selected.size == 0:
        return np.zeros(levels.shape, bool)
    lo, hi = int(selected[0]), int(selected[-1])
    if lo == 0:
        return levels <= hi
    if hi == 255:
        return levels >= lo
    return (levels >= lo) & (levels <= hi)


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the True pixels, or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: for a stroke of width w and length L, area / (edge / 2) = w."""
    solid = ink > 0.5
    padded = np.pad(solid, 1)
    interior = solid & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = np.count_nonzero(solid & ~interior)
    return 2.0 * np.count_nonzero(solid) / max(edge, 1)


def _resize(ink: np.ndarray, width: int, height: int) -> np.ndarray:
    img = Image.fromarray(ink)
    shrinking = width < ink.shape[1] or height < ink.shape[0]
    return np.array(img.resize((width, height), Image.BOX if shrinking else Image.BILINEAR), np.float32)


def _fit(ink: np.ndarray, side: int) -> np.ndarray:
    h, w = ink.shape
    scale = side / max(h, w)
    return _resize(ink, max(1, round(w * scale)), max(1, round(h * scale)))


def preprocess(value: Any) -> np.ndarray:
    """A drawing (any size, colours, stroke width) -> (28, 28) float32 in [0, 1], MNIST-style.

    Raises SketchError with a sentence a person can act on for blank, dot-sized,
    all-ink, huge or non-image input.

    >>> canvas = np.zeros((800, 800), np.uint8); canvas[200:600, 390:410] = 255  # a "1"
    >>> x = preprocess(canvas); x.shape, float(x.max())
    ((28, 28), 1.0)
    """
    levels, table = ink_levels(value)
    peak = float(max(table[levels.min()], table[levels.max()]))  # the table is monotonic
    if peak < 0.15:
        raise EmptySketch("The canvas is empty (one colour everywhere): draw a digit first.")
    if np.count_nonzero(_ink_above(levels, table, 0.5 * peak)) > 0.6 * levels.size:
        raise SketchError("Most of the canvas is ink: clear it and draw a single digit.")  # a digit never fills it
    top, bottom, left, right = _box(_ink_above(levels, table, 0.3 * peak))
    h, w = bottom - top, right - left
    if max(h, w) < MIN_INK_SIDE:
        raise SketchError("The drawing is too small to read: draw the digit larger.")
    ink = table[levels[top:bottom, left:right]] / np.float32(peak)

    # Normalise the stroke width at 4x the final resolution, where widths are measurable.
    work = _fit(ink, WORK_SIZE)
    work /= max(float(work.max()), 1e-6)
    width = _stroke_width(work)
    if width < 0.7 * TARGET_STROKE:
        size = int(round(TARGET_STROKE - width)) | 1  # PIL rank filters take odd sizes
        work = np.array(Image.fromarray(work).filter(ImageFilter.MaxFilter(size)))
    elif width > 1.6 * TARGET_STROKE:
        size = min(int(round(width - TARGET_STROKE)) | 1, 15)
        thinner = np.asarray(Image.fromarray(work).filter(ImageFilter.MinFilter(size)))
        if thinner.max() > 0.5:  # never erase the drawing
            work = thinner
    top, bottom, left, right = _box(work > 0.3)
    digit = _fit(work[top:bottom, left:right], 20)  # longest side 20 px, aspect kept
    digit /= max(float(digit.max()), 1e-6)

    # Centre of mass to the middle of the 28x28 frame (MNIST), clamped so nothing is cut off.
    h, w = digit.shape
    ys, xs = np.indices(digit.shape)
    mass = float(digit.sum())
    cy, cx = float((ys * digit).sum()) / mass, float((xs * digit).sum()) / mass
    y0 = int(np.clip(round(14 - cy), 0, 28 - h))
    x0 = int(np.clip(round(14 - cx), 0, 28 - w))
    out = np.zeros((28, 28), np.float32)
    out[y0:y0 + h, x0:x0 + w] = digit
    return np.clip(out, 0.0, 1.0)

