"""Sample the class-conditional GAN: pick the digit, the seed and the grid size."""

from __future__ import annotations

import math
import time

import gradio as gr
import numpy as np

from digitzoo.apps import pages, parts
from digitzoo.apps.inputs import integer

MAX_GRID = 64
WALK_STEPS = 8  # apps/web/gan.js walks in as many
MAX_SEED = 2**31 - 1


def _generator():
    """The generator of the GAN this tab shows (the model whose demo tab is "gan")."""
    return parts.with_role(parts.first_shown("gan"), "generator")


# The noise and the "any" digits come from mulberry32 (a small 32-bit generator) and Box-Muller,
# written the same way in the pages (apps/web/runtime.js): one seed gives the same digits from the
# API, the hub's page (which draws them itself at once) and the static site.
def _mulberry32(seed: int):
    state = seed & 0xFFFFFFFF

    def uniform() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = ((state ^ (state >> 15)) * (state | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return uniform


def _noise(seed: int, count: int, z_dim: int) -> np.ndarray:
    """(count, z_dim) standard normal noise: Box-Muller on mulberry32(seed), as the pages draw it."""
    uniform, out = _mulberry32(seed), np.empty(count * z_dim, np.float64)
    for i in range(0, len(out), 2):
        r, angle = math.sqrt(-2 * math.log(1 - uniform())), 2 * math.pi * uniform()
        out[i] = r * math.cos(angle)
        if i + 1 < len(out):
            out[i + 1] = r * math.sin(angle)
    return out.astype(np.float32).reshape(count, z_dim)


def _seed(seed) -> int:
    if seed in (None, "", "random", -1, "-1"):
        return int(np.random.default_rng().integers(0, MAX_SEED))
    return integer(seed, "seed", 0, MAX_SEED)


def _labels(digit, count: int, seed: int) -> np.ndarray:
    if digit in (None, "", "any"):
        pick = _mulberry32(seed + 1)
        return np.array([int(pick() * 10) for _ in range(count)], np.int64)
    return np.full(count, integer(digit, "digit", 0, 9), np.int64)


def _grid(images: np.ndarray) -> np.ndarray:
    """(N, 1, 28, 28) -> one image of ceil(sqrt(N)) columns with 2 px gaps."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    canvas = np.full((rows * 30, cols * 30), 0.15, np.float32)
    for i, img in enumerate(images[:, 0]):
        r, c = divmod(i, cols)
        canvas[r * 30 + 1:r * 30 + 29, c * 30 + 1:c * 30 + 29] = img
    return canvas


def sample(digit="any", seed=-1, grid=16):
    """digit ('any' or 0-9), seed (-1 or 'random' for a fresh one), grid size 1-64 -> image, info."""
    count = integer(grid, "grid size", 1, MAX_GRID)
    seed = _seed(seed)
    generator = _generator()
    z_dim = generator.entry.inputs[0].shape[1]
    began = time.perf_counter()
    labels = _labels(digit, count, seed)
    (images,) = generator(_noise(seed, count, z_dim), labels)
    total_ms = (time.perf_counter() - began) * 1000
    canvas = _grid(images)
    # At least 2x: a 28-pixel digit in a 30-pixel cell becomes 60 px, readable in an 8x8 grid.
    scale = max(2, 336 // canvas.shape[0])
    image = (np.kron(canvas, np.ones((scale, scale))) * 255).astype(np.uint8)
    drawn = f"{count} digit{'s' if count != 1 else ''}"
    if digit in (None, "", "any"):  # say which digits "any" chose, row by row as in the grid
        drawn += " (" + " ".join(str(d) for d in labels) + ")"
    return image, f"seed {seed}: {drawn} in {total_ms:.1f} ms on {generator.device}"


def _walk(digit, a: int, b: int, steps: int) -> np.ndarray:
    """(steps, 1, 28, 28): from seed a's noise to seed b's, one digit along the walk."""
    generator = _generator()
    z_dim = generator.entry.inputs[0].shape[1]
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    (images,) = generator((1 - t) * _noise(a, 1, z_dim) + t * _noise(b, 1, z_dim), np.repeat(_labels(digit, 1, a), steps))
    return images


def interpolate(digit="3", seed_a=0, seed_b=1, steps=8):
    """A strip of images between the noise of two seeds, same digit."""
    images = _walk(digit, _seed(seed_a), _seed(seed_b), integer(steps, "steps", 2, 16))
    return (np.kron(np.hstack(images[:, 0]), np.ones((4, 4))) * 255).astype(np.uint8)


def _images(images: np.ndarray) -> list[float]:
    return np.round(np.clip(images[:, 0], 0, 1), 3).ravel().tolist()


def sample_for_page(request: dict) -> dict:
    """The page's server path for a grid (apps/web/gan.js when the generator cannot run in the
    browser): ``{"digit", "seed", "grid"}`` -> the 28x28 images, row by row, as the page draws them."""
    count = integer(request.get("grid"), "grid size", 1, MAX_GRID)
    seed = integer(request.get("seed"), "seed", 0, MAX_SEED)
    generator = _generator()
    (images,) = generator(_noise(seed, count, generator.entry.inputs[0].shape[1]), _labels(request.get("digit"), count, seed))
    return {"images": _images(images)}


def walk_for_page(request: dict) -> dict:
    """The walk's server path: ``{"digit", "seed_a", "seed_b"}`` -> the 8 steps' images."""
    a, b = integer(request.get("seed_a"), "from seed", 0, MAX_SEED), integer(request.get("seed_b"), "to seed", 0, MAX_SEED)
    return {"images": _images(_walk(request.get("digit"), a, b, WALK_STEPS))}


def build(app: gr.Blocks) -> None:
    """Add the tab's page and its API endpoints to ``app`` (inside its context)."""
    gr.Markdown("A class-conditional GAN draws the digit you ask for. Same seed, same digits, in the page and from the API.")
    pages.component("gan")
    # The API: bad input is refused with the sentence as an error, as every endpoint does.
    digit = gr.Dropdown(["any"] + [str(d) for d in range(10)], value="any", label="digit", visible=False)
    seed = gr.Number(value=-1, precision=0, label="seed (-1: random)", visible=False)
    grid = gr.Slider(1, MAX_GRID, value=16, step=1, label="how many", visible=False)
    image, info = gr.Image(label="samples", visible=False), gr.Markdown(visible=False)
    gr.Button("Sample", visible=False).click(sample, [digit, seed, grid], [image, info], api_name="sample")
    seeds = [gr.Number(value=v, precision=0, label=f"seed {n}", visible=False) for v, n in ((0, "A"), (1, "B"))]
    gr.Button("Interpolate", visible=False).click(interpolate, [digit, *seeds], gr.Image(label="interpolation", visible=False),
                                                  api_name="sample_interpolate")
