"""Is an attribution map faithful to its model? The deletion test and its curves, in numpy (no torch).

A map says which ink made the model read the true digit. If it is right, blackening the ink it ranks
highest should lower the model's probability for that digit more than blackening as much ink at random.
Per drawing (28x28, pixels in [0, 1]) and true label:

- The ink is every pixel above ``explain.INK_ABOVE``; the map orders it highest attribution first
  (attribution for the TRUE label; ties broken in a seeded random order, so a flat map is no better
  than chance). ``RANDOM_ORDERS`` seeded random orders of the same ink are the baseline; a drawing
  gets the same random orders for every model and method.
- The deletion test: the first ``ceil(10% of the ink)`` pixels of an order set to 0; the *drop* is
  the true class's softmax probability before less after. The random drop is the mean over the
  random orders.
- A drawing *passes* when the method's drop is at least ``MOVED`` (one percentage point) and at
  least ``RATIO_GOAL`` times the random drop (a negative random drop counts as 0). A drawing where
  neither drop reaches ``MOVED`` in size is *unmoved*: the probability is saturated (it stays at
  the model's ceiling whatever 10% goes; with the zoo's label smoothing that ceiling is ~0.95-0.99,
  not 1), so the test says nothing there. Unmoved drawings count as failures in
  ``share`` (the verdict's figure: strict) and are left out of ``share_decided``. The other extreme
  is *capped*: the random drop is over a third of p(true), so no map can reach 3x (a drop is at most
  p(true)); those count as failures in both shares, and are counted.
- The curves: the true-class probability after removing from the drawing (deletion) or inserting
  into a blank pad (insertion) the first 0, 5, 10, 20, 30, 50 and 100% of the ink (rounded up) in an
  order; their area (trapezoids over the fraction of ink, 0..1). A faithful map has a *lower*
  deletion area and a *higher* insertion area than the random order.
- The verdict per model and method, on the MNIST test digits: faithful when the ratio of the mean
  drops (method / random) is at least ``RATIO_GOAL`` and ``share`` is at least ``SHARE_GOAL``.

``plan`` makes every perturbed image of one drawing (one batch for the classifier), ``read`` turns
the batch's true-class probabilities into that drawing's curves, ``summarize`` and ``summarize_random``
aggregate drawings, ``verdict`` judges a method; ``method_verdicts`` reads them back from the
benchmark's JSON (``digitzoo bench explain --out docs/benchmarks/explain.json``) for the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.explain import INK_ABOVE

FORMAT = "digitzoo-explain-bench/1"
# Percent of the ink removed / inserted at each point of the curves (integers: ceil is exact).
PERCENTS = (0, 5, 10, 20, 30, 50, 100)
FRACTIONS = tuple(p / 100 for p in PERCENTS)
TEST_PERCENT = 10
TEST_INDEX = PERCENTS.index(TEST_PERCENT)
RANDOM_ORDERS = 5
SEED = 0
MOVED = 0.01  # a drop smaller than this in size (1 percentage point) did not move the probability
RATIO_GOAL = 3.0
SHARE_GOAL = 0.9
DEFAULT_JSON = paths.PACKAGE_DIR.parent / "docs" / "benchmarks" / "explain.json"
# The verdicts alone, shipped in the package (docs/ is not): what the page labels each method with.
# `digitzoo bench explain --ship` writes it from the run it just made.
SHIPPED_VERDICTS = paths.PACKAGE_DIR / "pretrained" / "explain_verdicts.json"
VERDICTS_FORMAT = "digitzoo-explain-verdicts/1"
# The fixed images at the head of every plan's batch.
ORIGINAL, ALL_REMOVED, BLANK, INK_ONLY = range(4)

RULES = {
    "ink": f"pixels > {INK_ABOVE}",
    "order": "ink by attribution for the true label, highest first; ties in a seeded random order",
    "deletion_test": f"the first ceil({TEST_PERCENT}% of the ink) pixels set to 0; drop = p(true) before - after",
    "random": f"the mean over {RANDOM_ORDERS} seeded random orders of the ink (the same orders for every model and method)",
    "passes": f"drop_method >= {MOVED} and drop_method >= {RATIO_GOAL:g} x max(drop_random, 0)",
    "unmoved": f"|drop_method| < {MOVED} and |drop_random| < {MOVED}: saturated, the test cannot tell; "
               "counted as a failure in share, left out of share_decided",
    "capped": f"{RATIO_GOAL:g} x drop_random > p(true): no map can pass (a drop is at most p(true)); counted as a failure "
              "in share (and in share_decided), reported as a count",
    "curves": f"p(true) after removing from the drawing (deletion) / inserting into a blank pad (insertion) "
              f"the first {', '.join(map(str, PERCENTS))}% of the ink (rounded up); AUC by trapezoids over 0..1",
    "verdict": f"faithful when, on MNIST test digits, ratio of mean drops >= {RATIO_GOAL:g} and share >= {SHARE_GOAL:.0%}",
}


def ink_pixels(x: np.ndarray) -> np.ndarray:
    """Flat indices (into the 784 pixels) of the ink of ``x`` (28, 28)."""
    return np.flatnonzero(np.asarray(x, np.float32).reshape(-1) > INK_ABOVE)


def pixel_counts(n_ink: int, percents: Sequence[int] = PERCENTS) -> np.ndarray:
    """How many ink pixels each percent means: rounded up (10% of 31 pixels is 4)."""
    return np.array([-(-p * n_ink // 100) for p in percents], np.int64)


def rngs(key: Sequence[int]) -> tuple[np.random.Generator, np.random.Generator]:
    """(tie-breaking, random orders): two generators seeded by ``SEED`` and the drawing's ``key``."""
    base = [SEED, *(int(k) for k in key)]
    return np.random.default_rng([*base, 1]), np.random.default_rng([*base, 0])


def attribution_order(attr: np.ndarray, ink: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    """``ink`` (flat indices) sorted by ``attr`` highest first; equal values in the order of ``tie_break``
    (a permutation of range(len(ink)))."""
    values = np.asarray(attr, np.float64).reshape(-1)[ink]
    if not np.isfinite(values).all():
        raise DigitzooError("the attribution map holds NaN or infinite values")
    return ink[np.lexsort((tie_break, -values))]


@dataclass(frozen=True)
class Plan:
    """Every perturbed image of one drawing: ``images`` (N, 1, 28, 28) float32, one classifier batch.

    The head: the drawing, the drawing with all its ink removed, a blank pad, the ink alone; then
    for each order in ``names`` (the methods, then ``random0``..) and each inner percent
    (``PERCENTS[1:-1]``), the deletion image and the insertion image."""

    images: np.ndarray
    names: tuple[str, ...]
    n_methods: int
    n_ink: int
    counts: np.ndarray


def plan(x: np.ndarray, attributions: Mapping[str, np.ndarray], key: Sequence[int] = (0,),
         random_orders: int = RANDOM_ORDERS) -> Plan | None:
    """The batch of ``x`` (28, 28) for the maps in ``attributions`` (method -> (28, 28)); None when
    ``x`` has no ink. ``key`` seeds the tie-breaking and the random orders (e.g. (set, index))."""
    x = np.asarray(x, np.float32).reshape(28, 28)
    ink = ink_pixels(x)
    if len(ink) == 0:
        return None
    ties, shuffle = rngs(key)
    tie_break = ties.permutation(len(ink))
    orders = [attribution_order(a, ink, tie_break) for a in attributions.values()]
    orders += [ink[shuffle.permutation(len(ink))] for _ in range(random_orders)]
    names = (*attributions, *(f"random{i}" for i in range(random_orders)))
    counts = pixel_counts(len(ink))
    flat = x.reshape(-1)
    ink_only = np.zeros(784, np.float32)
    ink_only[ink] = flat[ink]
    head = [flat, flat - ink_only, np.zeros(784, np.float32), ink_only]
    rank = np.full((len(orders), 784), 784, np.int64)  # each order's rank of each pixel (784: not ink)
    for i, order in enumerate(orders):
        rank[i, order] = np.arange(len(order))
    taken = rank[:, None, :] < counts[None, 1:-1, None]  # (orders, inner percents, 784)
    deleted = np.where(taken, 0.0, flat).astype(np.float32)
    inserted = np.where(taken, flat, 0.0).astype(np.float32)
    body = np.stack([deleted, inserted], axis=2).reshape(-1, 784)  # order, percent, (deletion, insertion)
    images = np.concatenate([np.stack(head), body]).reshape(-1, 1, 28, 28)
    return Plan(images, names, len(attributions), len(ink), counts)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (so that a saturated probability is 1 - 1e-12, not 1.0 in float32)."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class DigitCurves:
    """One drawing's curves: ``deletion`` and ``insertion`` (orders, len(PERCENTS)) of p(true);
    rows: the methods in ``names`` then the random orders. ``p`` is p(true) of the drawing."""

    names: tuple[str, ...]
    n_methods: int
    p: float
    deletion: np.ndarray
    insertion: np.ndarray

    def row(self, method: str) -> int:
        return self.names.index(method)

    def drop(self, method: str) -> float:
        """The deletion test: p(true) less p(true) with the method's top 10% of the ink removed."""
        return self.p - float(self.deletion[self.row(method), TEST_INDEX])

    @property
    def random_deletion(self) -> np.ndarray:
        return self.deletion[self.n_methods:].mean(axis=0)

    @property
    def random_insertion(self) -> np.ndarray:
        return self.insertion[self.n_methods:].mean(axis=0)

    @property
    def random_drop(self) -> float:
        """The mean drop over the random orders."""
        return self.p - float(self.random_deletion[TEST_INDEX])


def read(p: Plan, probs: np.ndarray) -> DigitCurves:
    """The curves of a drawing from its plan and p(true) of each image of the batch (N,)."""
    probs = np.asarray(probs, np.float64).reshape(-1)
    if len(probs) != len(p.images):
        raise ValueError(f"{len(probs)} probabilities for a batch of {len(p.images)} images")
    inner = probs[4:].reshape(len(p.names), len(PERCENTS) - 2, 2)
    n = len(p.names)
    deletion = np.column_stack([np.full(n, probs[ORIGINAL]), inner[:, :, 0], np.full(n, probs[ALL_REMOVED])])
    insertion = np.column_stack([np.full(n, probs[BLANK]), inner[:, :, 1], np.full(n, probs[INK_ONLY])])
    return DigitCurves(p.names, p.n_methods, float(probs[ORIGINAL]), deletion, insertion)


def auc(curve: np.ndarray) -> np.ndarray:
    """Area under ``curve`` (..., len(PERCENTS)) over the fraction of ink 0..1, by trapezoids."""
    c = np.asarray(curve, np.float64)
    return ((c[..., 1:] + c[..., :-1]) / 2 * np.diff(FRACTIONS)).sum(axis=-1)


def passes(drop_method: np.ndarray, drop_random: np.ndarray) -> np.ndarray:
    """Per drawing: the method's drop is at least MOVED and RATIO_GOAL x the random drop (floored at 0)."""
    drop_method, drop_random = np.asarray(drop_method, np.float64), np.asarray(drop_random, np.float64)
    return (drop_method >= MOVED) & (drop_method >= RATIO_GOAL * np.maximum(drop_random, 0.0))


def unmoved(drop_method: np.ndarray, drop_random: np.ndarray) -> np.ndarray:
    """Per drawing: neither drop reaches MOVED in size (a saturated probability: the test cannot tell)."""
    return (np.abs(drop_method) < MOVED) & (np.abs(drop_random) < MOVED)


def capped(p: np.ndarray, drop_random: np.ndarray) -> np.ndarray:
    """Per drawing: RATIO_GOAL x the random drop exceeds p(true) itself, so no map could pass (a drop
    is at most p(true)): the model loses much of its belief whatever ink goes."""
    return RATIO_GOAL * np.asarray(drop_random, np.float64) > np.asarray(p, np.float64)


def ratio_of_means(mean_method: float, mean_random: float) -> float | None:
    """mean drop (method) / mean drop (random); None when the random mean is not above 0."""
    return mean_method / mean_random if mean_random > 0 else None


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def summarize(curves: Sequence[DigitCurves], method: str) -> dict:
    """A method's figures over drawings: the deletion test (mean drops, their ratio, the share of
    drawings that pass, strict and among the decided ones, how many are unmoved) and the curves."""
    p = np.array([c.p for c in curves])
    drop_m = np.array([c.drop(method) for c in curves])
    drop_r = np.array([c.random_drop for c in curves])
    ok, still = passes(drop_m, drop_r), unmoved(drop_m, drop_r)
    n, n_unmoved = len(curves), int(still.sum())
    decided = n - n_unmoved
    mean_m, mean_r = float(drop_m.mean()), float(drop_r.mean())
    ratio = ratio_of_means(mean_m, mean_r)
    deletion = np.stack([c.deletion[c.row(method)] for c in curves])
    insertion = np.stack([c.insertion[c.row(method)] for c in curves])
    saturated_p = p >= 0.999
    return {
        "digits": n,
        "mean_drop": _r(mean_m, 5),
        "mean_drop_random": _r(mean_r, 5),
        "ratio": None if ratio is None else _r(ratio, 3),
        "share": _r(ok.sum() / n),
        "passed": int(ok.sum()),
        "unmoved": n_unmoved,
        "unmoved_p_above_0999": int((still & saturated_p).sum()),
        "capped": int(capped(p, drop_r).sum()),
        "share_decided": None if decided == 0 else _r(ok.sum() / decided),
        "median_drop": _r(np.median(drop_m), 5),
        "median_drop_random": _r(np.median(drop_r), 5),
        "deletion_curve": [_r(v) for v in deletion.mean(axis=0)],
        "insertion_curve": [_r(v) for v in insertion.mean(axis=0)],
        "deletion_auc": _r(auc(deletion).mean()),
        "insertion_auc": _r(auc(insertion).mean()),
        "deletion_auc_random": _r(np.mean([auc(c.random_deletion) for c in curves])),
        "insertion_auc_random": _r(np.mean([auc(c.random_insertion) for c in curves])),
        "_ratio_exact": ratio,
        "_share_exact": float(ok.sum() / n),
        "_mean_exact": (mean_m, mean_r),
    }


def summarize_random(curves: Sequence[DigitCurves]) -> dict:
    """The random orders' figures over drawings (the same for every method), and the drawings' p(true)."""
    p = np.array([c.p for c in curves])
    deletion = np.stack([c.random_deletion for c in curves])
    insertion = np.stack([c.random_insertion for c in curves])
    return {
        "digits": len(curves),
        "mean_p_true": _r(p.mean()),
        "p_true_above_0999": int((p >= 0.999).sum()),
        "mean_drop": _r(np.mean([c.random_drop for c in curves]), 5),
        "capped": int(capped(p, np.array([c.random_drop for c in curves])).sum()),
        "deletion_curve": [_r(v) for v in deletion.mean(axis=0)],
        "insertion_curve": [_r(v) for v in insertion.mean(axis=0)],
        "deletion_auc": _r(auc(deletion).mean()),
        "insertion_auc": _r(auc(insertion).mean()),
    }


def verdict(summary: dict) -> dict:
    """{faithful, ratio, share} of a method's ``summarize`` on the MNIST test digits. A ratio of None
    (the random drop's mean not above 0) meets the ratio goal when the method's mean drop is above 0."""
    mean_m, mean_r = summary["_mean_exact"]
    ratio = summary["_ratio_exact"]
    ratio_ok = ratio >= RATIO_GOAL if ratio is not None else mean_m > 0
    return {"faithful": bool(ratio_ok and summary["_share_exact"] >= SHARE_GOAL),
            "ratio": summary["ratio"], "share": summary["share"]}


def public(summary: dict) -> dict:
    """A summary without its unrounded working figures (the keys that start with _)."""
    return {k: v for k, v in summary.items() if not k.startswith("_")}


def method_verdicts(source: str | Path | Mapping | None = None) -> dict[str, dict[str, dict]]:
    """Per model and method, {"faithful": bool, "ratio": float | None, "share": float}, as the
    benchmark judged them on the MNIST test digits; from its JSON or the shipped verdicts file (a
    path, default ``SHIPPED_VERDICTS``, or the parsed dict). The page labels unfaithful methods with it.

    >>> method_verdicts({"format": FORMAT, "models": {"m": {"verdicts": {"occlusion":
    ...     {"faithful": True, "ratio": 4.2, "share": 0.93}}}}})
    {'m': {'occlusion': {'faithful': True, 'ratio': 4.2, 'share': 0.93}}}
    """
    if isinstance(source, Mapping):
        data = source
    else:
        path = Path(source) if source else SHIPPED_VERDICTS
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DigitzooError(f"{path} is missing: make it with `digitzoo bench explain --ship`") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DigitzooError(f"{path} is not valid JSON ({exc})") from None
    if isinstance(data, Mapping) and data.get("format") == VERDICTS_FORMAT:
        return {model: {method: dict(v) for method, v in methods.items()} for model, methods in data["models"].items()}
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise DigitzooError(f"not the faithfulness benchmark's figures ({FORMAT}) or verdicts ({VERDICTS_FORMAT})")
    return {model: {method: {"faithful": bool(v["faithful"]), "ratio": v["ratio"], "share": v["share"]}
                    for method, v in figures["verdicts"].items()}
            for model, figures in data["models"].items()}


def verdicts_file(figures: Mapping, command: str) -> dict:
    """The shipped verdicts (SHIPPED_VERDICTS) from the benchmark's JSON ``figures``: the verdicts,
    how many digits they rest on and the command that measured them."""
    return {"format": VERDICTS_FORMAT, "command": command, "digits": figures.get("digits"),
            "rules": f"ratio of mean drops >= {RATIO_GOAL:g} and share >= {SHARE_GOAL:.0%} on the MNIST test digits",
            "models": method_verdicts(figures)}
