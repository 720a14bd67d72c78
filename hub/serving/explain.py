"""Why this digit? Attribution maps of one drawing, computed from exported files (no torch).

Every method answers the same question for one model, one drawing and one digit (the target):
which ink pushed the model's score for that digit up (> 0) and which pushed it down (< 0). The
score is the model's logit for the target, as captum's reference implementations use it.

- ``occlusion``: blacken a 4x4 patch (stride 2), see how far the score falls; a pixel gets the
  mean fall over the patches that cover it (captum's ``Occlusion``). Forward-only: it runs the
  plain classifier file, all patches that touch ink in one batch (patches without ink change nothing).
- ``integrated_gradients``: the input gradient averaged along the straight path from a blank pad
  to the drawing, times the drawing (captum's ``IntegratedGradients``, ``method="riemann_middle"``,
  a zero baseline); the 16 gradients are one batch of the exported explainer.
- ``gradient_x_input``: the drawing times its input gradient; one explainer call.

The page (apps/web/explain.js) does the same arithmetic with onnxruntime-web on the same files;
``tests/test_explain.py`` holds this module to captum and the page to this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from digitzoo.hub.serving.errors import DigitzooError

# What the methods are called on screen, and the sentence written under a map.
METHODS = {
    "occlusion": "occlusion: 4x4 patches of ink blackened, the fall of the score",
    "integrated_gradients": "integrated gradients: 16 steps from a blank pad",
    "gradient_x_input": "gradient x input",
}
# The method the view opens with: occlusion is the most faithful on `digitzoo bench explain`'s 10%
# deletion test for 6 of the 7 classifiers (docs/benchmarks/explain.json), and forward-only.
DEFAULT_METHOD = "occlusion"
# Said under a map whose method `digitzoo bench explain` found not faithful on that model (the page
# fills in {share}, the share of test digits where the top 10% of ink beat random ink 3x; {goal}; {ratio}).
UNFAITHFUL = ("not faithful for this model: blackening its top 10% of ink beat random ink 3x on {share}% of "
              "test digits (goal {goal}%); {ratio}x random on average")
OCCLUSION_WINDOW = 4
OCCLUSION_STRIDE = 2
IG_STEPS = 16
# A row of the 28x28 counts as ink above this (the same threshold the faithfulness test uses).
INK_ABOVE = 0.1

Runner = Callable[..., list]


def _windows() -> list[tuple[int, int]]:
    starts = range(0, 28 - OCCLUSION_WINDOW + 1, OCCLUSION_STRIDE)  # 0, 2, ..., 24: 13 per axis
    return [(r, c) for r in starts for c in starts]


def _coverage() -> np.ndarray:
    """(28, 28): how many occlusion windows cover each pixel (every pixel is covered at least once)."""
    count = np.zeros((28, 28), np.float32)
    for r, c in _windows():
        count[r:r + OCCLUSION_WINDOW, c:c + OCCLUSION_WINDOW] += 1
    return count


def check_method(method: str) -> str:
    if method not in METHODS:
        raise DigitzooError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    return method


def check_target(target) -> int:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= int(target) <= 9:
        raise DigitzooError(f"the digit to explain must be 0-9, not {target!r}")
    return int(target)


def occlusion_inputs(x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The occluded copies of ``x`` (28, 28) worth running: one per window that covers some ink.

    Returns ((N, 1, 28, 28) float32, the N windows' top-left corners)."""
    windows = [(r, c) for r, c in _windows() if x[r:r + OCCLUSION_WINDOW, c:c + OCCLUSION_WINDOW].any()]
    batch = np.repeat(x[None, None].astype(np.float32), max(len(windows), 1), axis=0)  # (N, 1, 28, 28)
    for i, (r, c) in enumerate(windows):
        batch[i, 0, r:r + OCCLUSION_WINDOW, c:c + OCCLUSION_WINDOW] = 0.0
    return batch[:len(windows)], windows


def occlusion_map(score: float, occluded_scores: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """(28, 28): each pixel's mean fall of the score over all the windows covering it (windows
    without ink fell by 0 and were not run)."""
    total = np.zeros((28, 28), np.float32)
    for fall, (r, c) in zip(score - np.asarray(occluded_scores, np.float32), windows):
        total[r:r + OCCLUSION_WINDOW, c:c + OCCLUSION_WINDOW] += fall
    return total / _coverage()


def ig_inputs(x: np.ndarray) -> np.ndarray:
    """(IG_STEPS, 1, 28, 28): the drawing scaled by the midpoints (k + 0.5) / IG_STEPS."""
    return (ig_alphas()[:, None, None, None] * x[None, None]).astype(np.float32)


def ig_alphas() -> np.ndarray:
    return (np.arange(IG_STEPS, dtype=np.float32) + 0.5) / IG_STEPS


def ig_map(products: np.ndarray) -> np.ndarray:
    """(28, 28): the drawing times the mean path gradient, from the explainer's (IG_STEPS, 1, 28, 28)
    input-times-gradient at the scaled drawings (a_k x) * g_k: dividing by a_k leaves x * g_k."""
    return (products[:, 0] / ig_alphas()[:, None, None]).mean(axis=0).astype(np.float32)


def attribution(x: np.ndarray, target: int, method: str, classify: Runner, explain: Runner) -> np.ndarray:
    """(28, 28) attribution of ``x`` (28, 28, pixels in [0, 1], MNIST layout) for digit ``target``.

    ``classify`` runs the model's classifier file (image -> logits, ...), ``explain`` its explainer
    (image, target -> logits, input x gradient, feature maps...).

    >>> from digitzoo.hub.serving.runtime import load_part
    >>> run = load_part("mnist_cnn"), load_part("mnist_cnn", "explain")
    >>> attribution(np.zeros((28, 28), np.float32), 7, "occlusion", *run).shape
    (28, 28)
    """
    x = np.asarray(x, np.float32).reshape(28, 28)
    target = check_target(target)
    if check_method(method) == "occlusion":
        batch, windows = occlusion_inputs(x)
        if not windows:  # a blank pad: no ink, nothing to blacken
            return np.zeros((28, 28), np.float32)
        score = float(classify(x[None, None])[0][0, target])
        occluded = classify(batch)[0][:, target]
        return occlusion_map(score, occluded, windows)
    if method == "integrated_gradients":
        batch = ig_inputs(x)
        return ig_map(explain(batch, np.full(len(batch), target, np.int64))[1])
    return explain(x[None, None], np.array([target], np.int64))[1][0, 0]


def row_contributions(step_probs: np.ndarray, digit: int) -> np.ndarray:
    """(28,): how much reading each row moved the belief in ``digit`` (from the LSTM's (28, 10)
    beliefs after each row; before the first row every digit is 1 in 10)."""
    belief = np.concatenate([[0.1], np.asarray(step_probs, np.float32)[:, digit]])
    return np.diff(belief).astype(np.float32)


@dataclass(frozen=True)
class Palette:
    """The diverging colour scale both the page and the PNGs use: blue (against), white (0), red (for)."""

    against: tuple[int, int, int] = (33, 102, 172)
    neutral: tuple[int, int, int] = (247, 247, 247)
    supports: tuple[int, int, int] = (178, 24, 43)


PALETTE = Palette()


def colour_map(attr: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(28, 28, 3) uint8: ``attr`` on the diverging scale, symmetric around 0; ``scale`` (default:
    the largest |value|) is drawn full red or full blue."""
    attr = np.asarray(attr, np.float32)
    scale = float(np.abs(attr).max()) if scale is None else float(scale)
    t = np.clip(attr / scale, -1, 1) if scale > 0 else np.zeros_like(attr)
    neutral = np.array(PALETTE.neutral, np.float32)
    towards = np.where(t[..., None] >= 0, np.array(PALETTE.supports, np.float32), np.array(PALETTE.against, np.float32))
    return np.rint(neutral + np.abs(t)[..., None] * (towards - neutral)).astype(np.uint8)


def map_png(attr: np.ndarray, size: int = 280) -> bytes:
    """A PNG of the map, ``size`` pixels square (each of the 28x28 cells drawn as a block)."""
    import io

    from PIL import Image

    image = Image.fromarray(colour_map(attr)).resize((size, size), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
