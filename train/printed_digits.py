"""Printed digits: 0-9 in a typeface, the way a teacher uploads them from a slide or a photographed worksheet.
And printed letters, made the same way, so that "printed" alone never tells a detector "digit".

Three kinds, each put through the app's own ``digitzoo.hub.serving.sketch.preprocess`` (the path an
upload takes), so the detector learns that a digit in any form is a digit:
- "typed": the glyph as the font fills it, in any of the family's weights and slants, at 24-220 px,
  dark ink on a light background or light on dark, slightly rotated;
- "traced": the glyph's centre line stroked by the same round pen as the re-drawn digits
  (``train.sketches.draw_skeleton``): a digit drawn in a font's shape;
- "photo": typed on paper (48 px and up) and photographed: grey paper, blur, uneven light (one
  side up to 20% darker), sensor noise. Harsher photos the app's preprocessing already turns into
  blobs, which no detector should be taught to call digits.

Three splits that share no draw (each item's randomness comes from a hash of its kind and seed):
- "train": DejaVu faces, seeds 1000+;
- "calibration": DejaVu faces, seeds 500-999: held out for the detector's threshold;
- "test" (the measured set): Liberation faces, which neither training nor calibration saw.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digitzoo.hub.serving import paths, sketch
from digitzoo.hub.serving.errors import SketchError
from digitzoo.train import not_digits, sketches

KINDS = ("typed", "traced", "photo")
# Items per (face, glyph) and kind: (typed, traced, photo). Letters come traced already in
# train.not_digits, so here they are only typed and photographed.
COUNTS = {"digits": {"train": (16, 8, 8), "calibration": (8, 4, 4), "test": (8, 4, 4)},
          "letters": {"train": (3, 0, 2), "test": (1, 0, 1)}}
FIRST_SEED = {"train": 1000, "calibration": 500, "test": 0}


def items(split: str, glyphs: str = "digits") -> list[tuple[str, str, int]]:
    """(kind, "glyph@face", seed) of every item of a split, of digits or of letters.

    The training letters leave out those that are digits as people write them (O, o, I, l), like
    ``train.not_digits``; the measured set keeps all 52.
    """
    family = "test" if split == "test" else "train"
    if glyphs == "digits":
        chosen = "0123456789"
    else:
        chosen = "".join(c for c in not_digits.LETTERS if split == "test" or c not in not_digits.DIGIT_LIKE_LETTERS)
    out: list[tuple[str, str, int]] = []
    for font in not_digits.fonts(family):
        for glyph in chosen:
            for kind, count in zip(KINDS, COUNTS[glyphs][split]):
                out += [(kind, f"{glyph}@{font.stem}", FIRST_SEED[split] + i) for i in range(count)]
    return out


def _font_path(face: str) -> Path:
    family = not_digits.FONT_FAMILIES["test" if face.startswith("Liberation") else "train"]
    return not_digits.FONT_ROOT / family / f"{face}.ttf"


def _typed(digit: str, font: Path, rng: np.random.Generator, ink: int, paper: int, smallest: int = 24) -> Image.Image:
    """The digit filled by the font on a page with random margins, position and a small rotation."""
    size = int(rng.integers(smallest, 221))
    face = ImageFont.truetype(str(font), size)
    left, top, right, bottom = face.getbbox(digit)
    w, h = right - left, bottom - top
    page_w = int(w + size * rng.uniform(0.3, 2.5))
    page_h = int(h + size * rng.uniform(0.3, 2.5))
    page = Image.new("L", (page_w, page_h), paper)
    x = rng.uniform(0, page_w - w) - left
    y = rng.uniform(0, page_h - h) - top
    ImageDraw.Draw(page).text((x, y), digit, fill=ink, font=face)
    return page.rotate(rng.uniform(-6, 6), resample=Image.BICUBIC, expand=False, fillcolor=paper)


def _photographed(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A typed page as a phone sees it: blurred, lit from one side, noisy."""
    short = min(page.size)
    page = page.filter(ImageFilter.GaussianBlur(radius=short * rng.uniform(0.003, 0.012)))
    arr = np.asarray(page, np.float32)
    h, w = arr.shape
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w]
    ramp = (xs / max(w - 1, 1) - 0.5) * math.cos(angle) + (ys / max(h - 1, 1) - 0.5) * math.sin(angle)
    light = 1.0 - rng.uniform(0.05, 0.2) * (ramp + 0.5)  # one side up to 20% darker
    arr = arr * light + rng.normal(0, rng.uniform(2, 6), arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def draw_item(kind: str, what: str, seed: int) -> Image.Image:
    """One printed digit as an image the app would be given."""
    digest = hashlib.sha256(f"printed/{kind}/{what}/{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    digit, face = what.split("@")  # a digit, or a letter
    font = _font_path(face)
    if kind == "traced":
        return sketches.draw_skeleton(not_digits.glyph_skeleton(font, digit), rng, rotation=8.0)
    if kind == "typed":
        dark_on_light = rng.random() < 0.75
        ink, paper = (int(rng.integers(0, 70)), int(rng.integers(190, 256)))
        return _typed(digit, font, rng, *((ink, paper) if dark_on_light else (paper, ink)))
    ink, paper = int(rng.integers(20, 90)), int(rng.integers(165, 235))  # "photo": grey paper, dark ink
    # At least 48 px: smaller, blurred and noisy, the photo is a grey blob to the app's preprocessing too.
    return _photographed(_typed(digit, font, rng, ink, paper, smallest=48), rng)


def printed_set(split: str, glyphs: str = "digits", limit: int | None = None) -> tuple[np.ndarray, list[tuple[str, str, int]]]:
    """Every item of ``split`` (digits or letters; or ``limit`` of them, evenly spread) preprocessed
    like an upload: ((N, 28, 28) float32, items).

    Items the app refuses before any model sees them (too small to read) are dropped. Cached on
    disk by the code that makes them.
    """
    listed = items(split, glyphs)
    if limit and limit < len(listed):
        listed = [listed[i] for i in np.linspace(0, len(listed) - 1, limit).round().astype(int)]
    key = hashlib.sha256(repr(listed).encode())
    for module in (sketch, sketches, not_digits, inspect.getmodule(draw_item)):  # any change to the drawing invalidates
        key.update(Path(inspect.getsourcefile(module)).read_bytes())
    cache_file = paths.cache_dir() / f"printed-{glyphs}-{split}-{key.hexdigest()[:16]}.npz"
    if cache_file.is_file():
        with np.load(cache_file, allow_pickle=False) as saved:
            return saved["images"], [listed[i] for i in saved["kept"]]
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
