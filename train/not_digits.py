"""Drawings that are not digits: letters, shapes, scribbles and taps, drawn the way a person draws.

Each item is a centre-line image (a font's glyph thinned to one-pixel lines, or a shape's
polyline) stroked by ``train.sketches.draw_skeleton`` with a random pen, size, rotation and
background, then put through the app's own ``digitzoo.hub.serving.sketch.preprocess``: the same path a drawing
on the page takes, and the same stroking as the re-drawn test digits, so a detector trained on
them cannot tell digits from the rest by the renderer's style, only by shape.

Two splits that share nothing but the kinds of things drawn:
- "train": letters in the DejaVu fonts, shapes and scribbles from seed streams 1000+;
- "test" (the measured set): letters in the Liberation fonts (faces the detector never saw),
  shapes and scribbles from seed streams 0-999.

Left out of the training letters, on purpose: glyphs that *are* digits as people draw them
(O and o are a 0, I and l a 1). The measured set keeps all 52 letters, so the report shows what
that costs. Likewise a plain circle and a plain vertical stroke are not among the shapes.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import string
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitzoo.hub.serving import paths, sketch
from digitzoo.hub.serving.errors import DigitzooError, SketchError
from digitzoo.train import sketches

LETTERS = string.ascii_uppercase + string.ascii_lowercase
DIGIT_LIKE_LETTERS = "OoIl"  # drawn by hand these are 0 and 1: never taught as "not a digit"
FONT_ROOT = Path("/usr/share/fonts/truetype")
FONT_FAMILIES = {"train": "dejavu", "test": "liberation"}
GRID = 128  # side of the centre-line images


# ---- letters -------------------------------------------------------------------------------

@cache
def fonts(split: str) -> tuple[Path, ...]:
    """The font files of a split's family (Debian's fonts-dejavu-core / fonts-liberation)."""
    folder = FONT_ROOT / FONT_FAMILIES[split]
    found = tuple(sorted(p for p in folder.glob("*.ttf") if "Math" not in p.name)) if folder.is_dir() else ()
    if not found:
        raise DigitzooError(f"no {FONT_FAMILIES[split]} fonts in {folder}: "
                            "apt-get install fonts-dejavu-core fonts-liberation")
    return found


@cache
def glyph_skeleton(font: Path, letter: str) -> np.ndarray:
    """The letter in ``font`` thinned to its centre lines, as a (GRID, GRID) boolean image."""
    face = ImageFont.truetype(str(font), 96)
    img = Image.new("L", (GRID, GRID), 0)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = draw.textbbox((0, 0), letter, font=face)
    draw.text(((GRID - (right - left)) / 2 - left, (GRID - (bottom - top)) / 2 - top), letter, fill=255, font=face)
    return sketches.thin(np.asarray(img) > 127)


# ---- shapes, scribbles, taps: polylines in the unit square ----------------------------------

Polylines = list[list[tuple[float, float]]]


def _polygon(rng, sides: int) -> Polylines:
    turn = rng.uniform(0, 2 * math.pi)
    radii = rng.uniform(0.8, 1.0, sides)
    pts = [(0.5 + 0.45 * r * math.cos(turn + 2 * math.pi * i / sides),
            0.5 + 0.45 * r * math.sin(turn + 2 * math.pi * i / sides)) for i, r in enumerate(radii)]
    return [pts + pts[:1]]


def _star(rng) -> Polylines:
    points = int(rng.integers(5, 7))
    inner = rng.uniform(0.35, 0.5)
    turn = rng.uniform(0, 2 * math.pi)
    pts = [(0.5 + 0.45 * (1 if i % 2 == 0 else inner) * math.cos(turn + math.pi * i / points),
            0.5 + 0.45 * (1 if i % 2 == 0 else inner) * math.sin(turn + math.pi * i / points)) for i in range(2 * points)]
    return [pts + pts[:1]]


def _heart(rng) -> Polylines:
    t = np.linspace(0, 2 * math.pi, 80)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return [list(zip(0.5 + x / 36, 0.5 + y / 36))]


def _smiley(rng) -> Polylines:
    t = np.linspace(0, 2 * math.pi, 60)
    face = list(zip(0.5 + 0.45 * np.cos(t), 0.5 + 0.45 * np.sin(t)))
    mouth_t = np.linspace(0.2 * math.pi, 0.8 * math.pi, 20)
    mouth = list(zip(0.5 + 0.25 * np.cos(mouth_t), 0.52 + rng.uniform(0.1, 0.2) * np.sin(mouth_t)))
    eyes = [[(0.35, 0.35), (0.35, 0.40)], [(0.65, 0.35), (0.65, 0.40)]]
    return [face, mouth, *eyes]


def _arrow(rng) -> Polylines:
    tip = (0.9, 0.5)
    return [[(0.1, 0.5), tip], [(0.7, 0.3), tip, (0.7, 0.7)]]


def _cross(rng) -> Polylines:
    return [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]]


def _x(rng) -> Polylines:
    return [[(0.1, 0.1), (0.9, 0.9)], [(0.9, 0.1), (0.1, 0.9)]]


def _hash(rng) -> Polylines:
    return [[(0.35, 0.1), (0.3, 0.9)], [(0.7, 0.1), (0.65, 0.9)], [(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]]


def _asterisk(rng) -> Polylines:
    return [[(0.5 + 0.45 * math.cos(a), 0.5 + 0.45 * math.sin(a)), (0.5 - 0.45 * math.cos(a), 0.5 - 0.45 * math.sin(a))]
            for a in (math.pi / 2, math.pi / 6, -math.pi / 6)]


def _house(rng) -> Polylines:
    return [[(0.15, 0.45), (0.15, 0.9), (0.85, 0.9), (0.85, 0.45), (0.15, 0.45), (0.5, 0.1), (0.85, 0.45)]]


def _check(rng) -> Polylines:
    return [[(0.1, 0.55), (0.4, 0.85), (0.9, 0.15)]]


def _spiral(rng) -> Polylines:
    turns = rng.uniform(2, 3.5)
    t = np.linspace(0, 2 * math.pi * turns, 150)
    r = 0.45 * t / t[-1]
    return [list(zip(0.5 + r * np.cos(t), 0.5 + r * np.sin(t)))]


def _zigzag(rng) -> Polylines:
    n = int(rng.integers(4, 9))
    return [[(i / n * 0.9 + 0.05, 0.3 if i % 2 else 0.7) for i in range(n + 1)]]


def _wave(rng) -> Polylines:
    t = np.linspace(0, 1, 80)
    cycles = rng.uniform(1.5, 3.5)
    return [list(zip(0.05 + 0.9 * t, 0.5 + 0.2 * np.sin(2 * math.pi * cycles * t)))]


def _infinity(rng) -> Polylines:  # an 8 lying down is not an 8
    t = np.linspace(0, 2 * math.pi, 100)
    return [list(zip(0.5 + 0.45 * np.cos(t), 0.5 + 0.25 * np.sin(2 * t)))]


def _lightning(rng) -> Polylines:
    return [[(0.6, 0.05), (0.3, 0.5), (0.6, 0.5), (0.35, 0.95)]]


def _scribble(rng) -> Polylines:
    """A smooth random curve through 6-14 points: a doodle, or a crossing-out."""
    pts = rng.uniform(0.05, 0.95, (int(rng.integers(6, 15)), 2))
    t = np.linspace(0, 1, len(pts))
    fine = np.linspace(0, 1, 40 * len(pts))
    return [list(zip(np.interp(fine, t, pts[:, 0]), np.interp(fine, t, pts[:, 1])))]


def _hatching(rng) -> Polylines:
    """Back-and-forth strokes filling an area: colouring in."""
    rows = int(rng.integers(4, 9))
    return [[(0.1 if i % 2 else 0.9, 0.1 + 0.8 * i / rows) for i in range(rows + 1)]]


def _tap(rng) -> Polylines:
    """One to three taps or short dashes."""
    marks = []
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0.1, 0.9, 2)
        length = rng.choice([0.0, 0.0, 0.08])
        marks.append([(x, y), (x + length, y)])
    return marks


def _dash(rng) -> Polylines:  # a minus sign or an underline
    return [[(0.1, 0.5), (0.9, 0.5)]]


SHAPES: dict[str, Callable[[np.random.Generator], Polylines]] = {
    "triangle": lambda rng: _polygon(rng, 3), "square": lambda rng: _polygon(rng, 4),
    "pentagon": lambda rng: _polygon(rng, 5), "hexagon": lambda rng: _polygon(rng, 6),
    "star": _star, "heart": _heart, "smiley": _smiley, "arrow": _arrow, "cross": _cross, "x": _x,
    "hash": _hash, "asterisk": _asterisk, "house": _house, "check": _check, "spiral": _spiral,
    "zigzag": _zigzag, "wave": _wave, "infinity": _infinity, "lightning": _lightning,
}
SCRIBBLES = {"scribble": _scribble, "hatching": _hatching}
TAPS = {"tap": _tap, "dash": _dash}


def polyline_skeleton(lines: Polylines, rng: np.random.Generator) -> np.ndarray:
    """Polylines in the unit square, wobbled like a hand draws them -> a (GRID, GRID) boolean image."""
    img = Image.new("1", (GRID, GRID), 0)
    draw = ImageDraw.Draw(img)
    stretch = rng.uniform(0.7, 1.3)  # width over height
    for line in lines:
        pts = np.asarray(line, np.float64)
        pts += rng.normal(0, 0.015, pts.shape)  # a hand never draws a straight line
        xy = [(4 + (GRID - 8) * (0.5 + (x - 0.5) * stretch), 4 + (GRID - 8) * y) for x, y in np.clip(pts, 0, 1)]
        if len(xy) == 1 or all(p == xy[0] for p in xy):
            draw.point(xy[0], fill=1)
        else:
            draw.line(xy, fill=1, width=1)
    return np.asarray(img, bool)


# ---- the sets ------------------------------------------------------------------------------

# How many of each: (per letter and font, per shape, per scribble kind, per tap kind).
COUNTS = {"train": (8, 150, 1500, 300), "test": (2, 20, 60, 30)}


def items(split: str) -> list[tuple[str, str, int]]:
    """(category, kind, seed) of every item of a split: "letter"/"shape"/"scribble"/"tap", what it is."""
    per_letter_font, per_shape, per_scribble, per_tap = COUNTS[split]
    first_seed = 0 if split == "test" else 1000
    out: list[tuple[str, str, int]] = []
    letters = LETTERS if split == "test" else "".join(c for c in LETTERS if c not in DIGIT_LIKE_LETTERS)
    for font in fonts(split):
        for letter in letters:
            out += [("letter", f"{letter}@{font.stem}", first_seed + i) for i in range(per_letter_font)]
    for category, kinds, count in (("shape", SHAPES, per_shape), ("scribble", SCRIBBLES, per_scribble),
                                   ("tap", TAPS, per_tap)):
        for kind in kinds:
            out += [(category, kind, first_seed + i) for i in range(count)]
    return out


def draw_item(category: str, kind: str, seed: int) -> Image.Image:
    """The 800x800 canvas of one item, as a person might have drawn it."""
    digest = hashlib.sha256(f"{category}/{kind}/{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    if category == "letter":
        letter, font = kind.split("@")
        skeleton = glyph_skeleton(FONT_ROOT / FONT_FAMILIES["test" if "Liberation" in font else "train"] / f"{font}.ttf",
                                  letter)
    else:
        make = {**SHAPES, **SCRIBBLES, **TAPS}[kind]
        skeleton = polyline_skeleton(make(rng), rng)
    return sketches.draw_skeleton(skeleton, rng)


def not_digit_set(split: str, limit: int | None = None) -> tuple[np.ndarray, list[tuple[str, str, int]]]:
    """Every item of ``split`` (or ``limit`` of them, evenly spread over the kinds) preprocessed like
    a drawing on the page: ((N, 28, 28) float32, items).

    Items the app itself refuses before any model sees them (too small to read) are dropped: they
    already get a sentence, not a digit. Cached on disk by the code that makes them.
    """
    listed = items(split)
    if limit and limit < len(listed):
        listed = [listed[i] for i in np.linspace(0, len(listed) - 1, limit).round().astype(int)]
    key = hashlib.sha256(repr(listed).encode())
    for module in (sketch, sketches, inspect.getmodule(draw_item)):  # any change to the drawing invalidates
        key.update(Path(inspect.getsourcefile(module)).read_bytes())
    cache_file = paths.cache_dir() / f"not-digits-{split}-{key.hexdigest()[:16]}.npz"
    if cache_file.is_file():
        with np.load(cache_file, allow_pickle=False) as saved:
            kept = saved["kept"]
            return saved["images"], [listed[i] for i in kept]
    images, kept = [], []
    for i, item in enumerate(listed):
        try:
            images.append(sketch.preprocess(draw_item(*item)))
            kept.append(i)
        except SketchError:
            pass
    stacked = np.stack(images).astype(np.float32)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")  # ranks of one run may write it at once
    with open(tmp, "wb") as fh:
        np.savez(fh, images=stacked, kept=np.asarray(kept))
    tmp.replace(cache_file)
    return stacked, [listed[i] for i in kept]
