"""Re-draw MNIST test digits the way a person draws them in a browser canvas.

Each digit is thinned to its centre line (Zhang-Suen), then stroked with a round pen on an
800x800 canvas at a random position and size (25-90% of the canvas), pen width and rotation
(+-15 deg), on a white or a transparent background. Those canvases go through the same
``digitzoo.hub.serving.sketch.preprocess`` the app uses, which gives the "accuracy on drawings" metric.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from PIL import Image, ImageDraw

from digitzoo.hub.serving import paths, sketch

CANVAS = 800


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel-wide lines (vectorised numpy)."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for first_pass in (True, False):
            p = img
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            centre = p[1:-1, 1:-1]
            neighbours = sum(n)
            ring = n + [n[0]]
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.uint8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if first_pass:
                cond = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                cond = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if delete.any():
                img = img.copy()
                img[1:-1, 1:-1][delete] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def render_sketch(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A (28, 28) uint8 MNIST digit -> an 800x800 canvas image of it drawn with a pen."""
    big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.BILINEAR)) > 100
    skeleton = thin(big)
    return draw_skeleton(skeleton if skeleton.any() else big, rng)


def draw_skeleton(skeleton: np.ndarray, rng: np.random.Generator, rotation: float = 15.0) -> Image.Image:
    """A boolean centre-line image (any size) -> an 800x800 canvas with it stroked by a round pen.

    Random size (25-90% of the canvas), pen width (3-12% of the size), rotation (+-``rotation``
    degrees), position, and a white or a transparent background: what varies between people
    drawing the same thing in a browser.
    """
    ys, xs = np.nonzero(skeleton)
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    extent = max(ys.max() - ys.min(), xs.max() - xs.min(), 1)
    size = rng.uniform(0.25, 0.90) * CANVAS  # the drawing's longest side on the canvas
    pen = max(2, int(round(size * rng.uniform(0.03, 0.12))))
    angle = math.radians(rng.uniform(-rotation, rotation))
    scale = (size - pen) / extent
    cos, sin = math.cos(angle), math.sin(angle)
    half = size / 2 + pen
    centre_x = rng.uniform(half, CANVAS - half) if CANVAS > 2 * half else CANVAS / 2
    centre_y = rng.uniform(half, CANVAS - half) if CANVAS > 2 * half else CANVAS / 2

    def place(y: float, x: float) -> tuple[float, float]:
        dx, dy = (x - cx) * scale, (y - cy) * scale
        return centre_x + cos * dx - sin * dy, centre_y + sin * dx + cos * dy

    transparent = rng.random() < 0.5
    canvas = Image.new("RGBA" if transparent else "RGB", (CANVAS, CANVAS), (0, 0, 0, 0) if transparent else "white")
    draw = ImageDraw.Draw(canvas)
    ink = (0, 0, 0, 255) if transparent else "black"
    on = set(zip(ys.tolist(), xs.tolist()))
    r = pen / 2
    for y, x in on:
        px, py = place(y, x)
        draw.ellipse((px - r, py - r, px + r, py + r), fill=ink)  # round pen tip
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # connect 8-neighbours once each
            if (y + dy, x + dx) in on:
                draw.line([place(y, x), place(y + dy, x + dx)], fill=ink, width=pen)
    return canvas


def sketch_set(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Render and preprocess every digit; (N, 28, 28) float32. Cached on disk by content."""
    key = hashlib.sha256(images.tobytes())
    key.update(str(seed).encode())
    for module in (sketch, render_sketch):  # preprocessing or rendering changes invalidate the cache
        key.update(open(__import__("inspect").getsourcefile(module), "rb").read())
    cache = paths.cache_dir() / f"sketches-{len(images)}-{key.hexdigest()[:16]}.npy"
    if cache.is_file():
        return np.load(cache, allow_pickle=False)
    rng = np.random.default_rng(seed)
    out = np.stack([sketch.preprocess(render_sketch(d, rng)) for d in images])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, out, allow_pickle=False)
    tmp.replace(cache)
    return out
