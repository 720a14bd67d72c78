"""Sample the class-conditional GAN: pick the digit, the seed and the grid size."""

from __future__ import annotations

import math
import time

import gradio as gr
import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.inputs import integer

MAX_GRID = 64
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


def interpolate(digit="3", seed_a=0, seed_b=1, steps=8):
    """A strip of images between the noise of two seeds, same digit."""
    steps = integer(steps, "steps", 2, 16)
    a, b = _seed(seed_a), _seed(seed_b)
    generator = _generator()
    z_dim = generator.entry.inputs[0].shape[1]
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    z = (1 - t) * _noise(a, 1, z_dim) + t * _noise(b, 1, z_dim)
    (images,) = generator(z, np.repeat(_labels(digit, 1, a), steps))  # one digit along the walk
    return (np.kron(np.hstack(images[:, 0]), np.ones((4, 4))) * 255).astype(np.uint8)


def sample_in_page(digit="any", seed=-1, grid=16):
    """The Sample button: like /sample, but bad input keeps the last grid on screen (a toast and a
    sentence say what to change) instead of replacing it with an error badge."""
    try:
        return sample(digit, seed, grid)
    except gr.Error as exc:
        gr.Warning(exc.message)
        return gr.skip(), f"Not sampled: {exc.message}"


def interpolate_in_page(digit="3", seed_a=0, seed_b=1):
    """The walk's events: bad input keeps the last strip on screen, with a toast saying what to change."""
    try:
        return interpolate(digit, seed_a, seed_b)
    except gr.Error as exc:
        gr.Warning(exc.message)
        return gr.skip()


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    gr.Markdown("A class-conditional GAN draws the digit you ask for. Same seed, same digits.")
    with gr.Row():
        digit = gr.Dropdown(["any"] + [str(d) for d in range(10)], value="any", label="digit")
        seed = gr.Number(value=-1, precision=0, label="seed (-1: random)")
        grid = gr.Slider(1, MAX_GRID, value=16, step=1, label="how many")
        run = gr.Button("Sample", variant="primary")
    image = gr.Image(label="samples", interactive=False, elem_id="gan-grid")
    info = gr.Markdown(elem_id="gan-info")
    with gr.Row():
        # The walk has a digit of its own: the grid's "any" would pick one the page never names.
        walk_digit = gr.Dropdown([str(d) for d in range(10)], value="3", label="digit of the walk")
        seed_a = gr.Number(value=0, precision=0, label="seed A")
        seed_b = gr.Number(value=1, precision=0, label="seed B")
        walk = gr.Button("Interpolate A → B")
    strip = gr.Image(label="interpolation", interactive=False, elem_id="gan-walk")
    # The page draws the digits itself where it can (apps/web/gradio_gan.js): these hooks hand it the
    # controls' values, and pass on the seed it picks for -1, so that the server draws the same.
    draw_in_page = "(d, s, g) => window.digitzooGan ? window.digitzooGan.sample(d, s, g) : [d, s, g]"
    walk_in_page = "(d, a, b) => window.digitzooGan ? window.digitzooGan.walk(d, a, b) : [d, a, b]"
    run.click(sample_in_page, [digit, seed, grid], [image, info], api_visibility="private", js=draw_in_page)
    # The API endpoint refuses bad input with the sentence as an error, as every endpoint does.
    gr.Button("Sample (API)", visible=False).click(sample, [digit, seed, grid], [image, info], api_name="sample")
    walk.click(interpolate, [walk_digit, seed_a, seed_b], strip, api_name="sample_interpolate", js=walk_in_page)
    # A new digit, seed or size regenerates at once, as a press of the button would; while a number
    # is being typed or the slider dragged, one sample at a time runs and the newest values are next.
    for control in (digit, seed, grid):
        control.change(sample_in_page, [digit, seed, grid], [image, info], api_visibility="private",
                       trigger_mode="always_last", show_progress="hidden", js=draw_in_page)
    for control in (walk_digit, seed_a, seed_b):
        control.change(interpolate_in_page, [walk_digit, seed_a, seed_b], strip, api_visibility="private",
                       trigger_mode="always_last", show_progress="hidden", js=walk_in_page)
