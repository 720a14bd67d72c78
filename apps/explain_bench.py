"""`digitzoo bench explain`: are the "Why this digit?" maps faithful to their models?

For each Draw classifier, each attribution method of ``digitzoo.hub.serving.explain`` (computed from
the exported files, as the page does) and each shipped digit set (the first ``digits`` MNIST test
digits and the first ``digits`` re-drawn ones): the deletion test at 10% of the ink against random
ink, and the deletion / insertion curves with their areas, as ``digitzoo.hub.serving.faithfulness``
defines them. Every perturbed image of a drawing (all methods' orders and the random ones) is one
classifier call. ONNX Runtime on the CPU, ``threads`` intra-op threads (1 by default).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from digitzoo.hub.benchmarking import Machine, Result
from digitzoo.hub.serving import digit_sets, faithfulness
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.explain import METHODS, attribution
from digitzoo.hub.serving.manifest import demo_models, read_manifest
from digitzoo.hub.serving.runtime import load_part

SETS = ("mnist_test", "redrawn_test")
VERDICT_SET = "mnist_test"


@dataclass
class ExplainResult(Result):
    format: str
    command: str
    machine: Machine
    loadavg_end: list
    threads: int
    wall_s: float
    digits: int
    sets: dict
    methods: list
    rules: dict
    models: dict  # name -> {seconds, attribution_ms, sets: {set: {random, methods}}, verdicts, best_method}
    goal: dict


def measure_model(name: str, sets: dict[str, tuple[np.ndarray, np.ndarray]], methods: Sequence[str], threads: int = 1,
                  log: Callable[[str], None] = print) -> dict:
    """One classifier's figures on every set (set name -> (images (N, 28, 28) uint8, labels))."""
    classify = load_part(name, "model", device="cpu", threads=threads)
    # occlusion runs the classifier alone; the gradient methods need the explainer file
    explain = load_part(name, "explain", device="cpu", threads=threads) if set(methods) - {"occlusion"} else None
    began = time.perf_counter()
    spent = dict.fromkeys(methods, 0.0)
    figures, count = {}, 0
    for s, (set_name, (images, labels)) in enumerate(sets.items()):
        curves, blank, correct = [], 0, 0
        set_began = time.perf_counter()
        for i, (image, label) in enumerate(zip(images, labels)):
            x = image.astype(np.float32) / 255.0
            y = int(label)
            maps = {}
            for method in methods:
                t = time.perf_counter()
                maps[method] = attribution(x, y, method, classify, explain)
                spent[method] += time.perf_counter() - t
            batch = faithfulness.plan(x, maps, key=(s, i))
            if batch is None:
                blank += 1
                continue
            logits = classify(batch.images)[0]
            correct += int(logits[0].argmax() == y)
            curves.append(faithfulness.read(batch, faithfulness.softmax(logits)[:, y]))
        count += len(images)
        summaries = {m: faithfulness.summarize(curves, m) for m in methods}
        figures[set_name] = {"digits": len(curves), "blank_skipped": blank,
                             "accuracy": round(correct / max(1, len(curves)), 4),
                             "seconds": round(time.perf_counter() - set_began, 1),
                             "random": faithfulness.summarize_random(curves), "methods": summaries}
        log(f"{name} {set_name}: {len(curves)} digits in {figures[set_name]['seconds']:.1f} s; "
            + ", ".join(f"{m} ratio {v['ratio']} share {v['share']:.0%}" for m, v in summaries.items()))
    verdicts = {m: faithfulness.verdict(figures[VERDICT_SET]["methods"][m]) for m in methods} if VERDICT_SET in figures else {}
    for f in figures.values():
        f["methods"] = {m: faithfulness.public(v) for m, v in f["methods"].items()}
    best = max(verdicts, key=lambda m: (verdicts[m]["faithful"], verdicts[m]["share"], verdicts[m]["ratio"] or 0),
               default=None)
    return {"seconds": round(time.perf_counter() - began, 1),
            "attribution_ms": {m: round(1000 * t / max(1, count), 2) for m, t in spent.items()},
            "sets": figures, "verdicts": verdicts, "best_method": best}


def _check(chosen: Sequence[str], known: Sequence[str], option: str) -> list[str]:
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise DigitzooError(f"{option} takes {', '.join(known)}, not {', '.join(unknown)}")
    return list(chosen)


def run(digits: int = 1000, models: Sequence[str] | None = None, methods: Sequence[str] | None = None,
        sets: Sequence[str] = SETS, threads: int = 1, log: Callable[[str], None] = print) -> ExplainResult:
    if digits < 1:
        raise DigitzooError(f"--digits must be at least 1, not {digits}")
    draw = demo_models(read_manifest(), "draw")
    models = _check(models or draw, draw, "--models")
    methods = _check(methods or list(METHODS), list(METHODS), "--methods")
    sets = _check(sets, SETS, "--sets")
    loaded = {}
    for name in sets:
        images, labels = digit_sets.load(name)
        loaded[name] = (images[:digits], labels[:digits])
    machine = Machine.now(threads=threads)
    began = time.perf_counter()
    figures = {}
    for name in models:
        log(f"{name}: {len(methods)} methods x {', '.join(f'{len(v[0])} {k}' for k, v in loaded.items())}")
        figures[name] = measure_model(name, loaded, methods, threads, log)
    wall = round(time.perf_counter() - began, 1)
    faithful = {name: [m for m, v in f["verdicts"].items() if v["faithful"]] for name, f in figures.items()}
    command = f"digitzoo bench explain --digits {digits}"
    if list(models) != draw:
        command += f" --models {','.join(models)}"
    if list(methods) != list(METHODS):
        command += f" --methods {','.join(methods)}"
    if threads != 1:
        command += f" --threads {threads}"
    goal = {"says": "for every classifier, the best method's deletion test drops the true-class probability at least "
                    f"{faithfulness.RATIO_GOAL:g}x more than random at {faithfulness.TEST_PERCENT}% of the ink, on at least "
                    f"{faithfulness.SHARE_GOAL:.0%} of test digits",
            "faithful_methods": faithful, "met": all(faithful.values()) if VERDICT_SET in sets else None}
    return ExplainResult(
        format=faithfulness.FORMAT, command=command, machine=machine,
        loadavg_end=[round(v, 2) for v in os.getloadavg()], threads=threads, wall_s=wall, digits=digits,
        sets={k: {"label": digit_sets.LABELS[k], "digits": len(v[0])} for k, v in loaded.items()},
        methods=list(methods), rules={**faithfulness.RULES, "percents": list(faithfulness.PERCENTS),
                                      "random_orders": faithfulness.RANDOM_ORDERS, "seed": faithfulness.SEED},
        models=figures, goal=goal)


def _ratio(v) -> str:
    return "  n/a" if v is None else f"{v:5.1f}"


def report(result: ExplainResult) -> str:
    lines = [f"Why this digit? Faithfulness of the attribution maps: ONNX Runtime CPU, {result.threads} thread(s), "
             f"{result.machine.cpus} cores ({result.machine.cpu}), load average {' '.join(map(str, result.machine.loadavg))} "
             f"at the start, {' '.join(map(str, result.loadavg_end))} at the end; {result.wall_s:.1f} s wall.",
             f"Deletion test: the top {faithfulness.TEST_PERCENT}% of the ink by attribution (true label) set to 0 vs "
             f"random ink (mean of {faithfulness.RANDOM_ORDERS} orders); drop = p(true) before - after.",
             f"share: digits with drop >= {faithfulness.MOVED} and >= {faithfulness.RATIO_GOAL:g} x random; 'unmoved' "
             f"digits (both drops < {faithfulness.MOVED}: a saturated probability) count as failures there; "
             "share* leaves them out; 'capped' digits (3 x random drop > p(true): no map can pass) fail in both.",
             "AUC: deletion (lower is better) and insertion (higher is better), method/random.",
             f"faithful: on MNIST test digits, ratio >= {faithfulness.RATIO_GOAL:g} and share >= {faithfulness.SHARE_GOAL:.0%}."]
    for set_name, about in result.sets.items():
        lines += ["", f"{about['label']} (first {about['digits']}):",
                  f"{'model':19s} {'method':21s} {'drop':>6s} {'rand':>6s} {'ratio':>5s} {'share':>6s} {'share*':>6s} "
                  f"{'unmoved':>7s} {'capped':>6s} {'del AUC m/r':>11s} {'ins AUC m/r':>11s} {'faithful':>8s}"]
        for name, model in result.models.items():
            f = model["sets"][set_name]
            for method, v in f["methods"].items():
                verdict = model["verdicts"].get(method, {}).get("faithful") if set_name == VERDICT_SET else None
                mark = "" if verdict is None else ("yes" if verdict else "NO")
                star = "  n/a" if v["share_decided"] is None else f"{v['share_decided']:6.1%}"
                lines.append(f"{name:19s} {method:21s} {v['mean_drop']:6.3f} {v['mean_drop_random']:6.3f} {_ratio(v['ratio'])} "
                             f"{v['share']:6.1%} {star:>6s} {v['unmoved']:7d} {v['capped']:6d} "
                             f"{v['deletion_auc']:5.3f}/{f['random']['deletion_auc']:5.3f} "
                             f"{v['insertion_auc']:5.3f}/{f['random']['insertion_auc']:5.3f} {mark:>8s}")
    lines.append("")
    lines.append("attribution ms per digit (1 thread): " + "; ".join(
        f"{name} " + "/".join(f"{ms:.1f}" for ms in m["attribution_ms"].values()) for name, m in result.models.items())
        + f" ({'/'.join(result.methods)})")
    for name, model in result.models.items():
        bad = [m for m, v in model["verdicts"].items() if not v["faithful"]]
        lines.append(f"{name}: best method {model['best_method']}; not faithful: {', '.join(bad) or 'none'}")
    met = result.goal["met"]
    lines.append(f"goal ({result.goal['says']}): {'n/a' if met is None else 'met' if met else 'MISSED'}")
    return "\n".join(lines)
