"""How well "not a digit" is told apart, measured on the exported files the app runs.

Three methods, each given the same allowance of digits it may flag (its threshold is set on 5,000
held-out training digits, raw and re-drawn), then measured on the test digits, the re-drawn test
digits, printed digits in unseen faces (``train.printed_digits``: typed, traced, photographed), the
measured non-digit set (``train.not_digits``, "test" split: unseen fonts) and printed letters:
- the trained detector (``mnist_not_digit``), as shipped (its threshold is baked in);
- the CNN's own confidence (max softmax): flag when it is below a threshold;
- the autoencoder's reconstruction error: flag when it is above a threshold.
Printed per category and per letter, so it is clear which letters pass as digits and why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitzoo.hub.benchmarking import Machine, Result
from digitzoo.hub.serving.manifest import Manifest, demo_models, part_with_role, parts_with_role, read_manifest
from digitzoo.hub.mnist import load_mnist
from digitzoo.hub.serving.runtime import load_part
from digitzoo.train.not_digits import not_digit_set
from digitzoo.train.printed_digits import KINDS as PRINTED_KINDS, printed_set
from digitzoo.train.sketches import sketch_set
from digitzoo.train.tasks import DetectorTask


def _batched(part, x: np.ndarray, batch: int = 500) -> np.ndarray:
    return np.concatenate([part(x[i:i + batch])[0] for i in range(0, len(x), batch)])


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _strangeness(manifest: Manifest) -> dict[str, Any]:
    """method -> function of (N, 1, 28, 28) images giving a score that is higher for stranger inputs."""
    detector = load_part(*parts_with_role(manifest, "detector")[0], threads=1)
    cnn = demo_models(manifest, "draw")[0]
    classifier = load_part(cnn, part_with_role(manifest, cnn, "classifier"), threads=1)
    ae = demo_models(manifest, "latent")[0]
    encoder = load_part(ae, part_with_role(manifest, ae, "encoder"), threads=1)
    decoder = load_part(ae, part_with_role(manifest, ae, "decoder"), threads=1)

    def reconstruction_error(x):
        return ((_batched(decoder, _batched(encoder, x)) - x) ** 2).mean(axis=(1, 2, 3))

    def detector_margin(x):
        scores = _batched(detector, x)
        return scores[:, 1] - scores[:, 0]  # > 0: the shipped detector flags it

    return {"trained detector (shipped)": detector_margin,
            f"{cnn} max softmax": lambda x: -_softmax(_batched(classifier, x)).max(axis=1),
            f"{ae} reconstruction error": reconstruction_error}


@dataclass
class NotDigitResult(Result):
    """`digitzoo bench not-digit`: the size of each set; per method the share flagged of each set, by category
    and by letter."""

    counts: dict[str, int]
    methods: dict[str, dict]
    machine: Machine


def run(data_dir=None, log=print) -> NotDigitResult:
    manifest = read_manifest()
    train_images, _ = load_mnist(train=True, data_dir=data_dir)
    held = train_images[DetectorTask.HELD_OUT:].numpy()
    test_images, _ = load_mnist(train=False, data_dir=data_dir)
    test = test_images.numpy()
    as_input = lambda a: (a.astype(np.float32) / (255 if a.dtype == np.uint8 else 1))[:, None]  # noqa: E731
    log("drawing the sets (cached after the first run)...")
    sets = {"held-out digits": np.concatenate([as_input(held), as_input(sketch_set(held, seed=1))]),
            "test digits": as_input(test), "re-drawn test digits": as_input(sketch_set(test))}
    printed, printed_listed = printed_set("test", "digits")
    sets["printed test digits"] = as_input(printed)
    printed_kinds = np.asarray([kind for kind, _, _ in printed_listed])
    others, listed = not_digit_set("test")
    sets["not digits"] = as_input(others)
    sets["printed letters"] = as_input(printed_set("test", "letters")[0])
    result = NotDigitResult({k: len(v) for k, v in sets.items()}, {}, Machine.now(threads=1))
    for method, score in _strangeness(manifest).items():
        log(f"scoring: {method}")
        scores = {name: score(x) for name, x in sets.items()}
        # The detector's threshold is its own (0 on its calibrated margin); the others get the one
        # that flags as many held-out digits as the detector does, for a like-for-like comparison.
        if method.startswith("trained"):
            threshold = 0.0
        else:
            allowed = float((result.methods["trained detector (shipped)"]["held_out_flagged"]))
            threshold = float(np.quantile(scores["held-out digits"], 1 - allowed))
        flagged = {name: s > threshold for name, s in scores.items()}
        row: dict[str, Any] = {"held_out_flagged": float(flagged["held-out digits"].mean()),
                               "test_digits_flagged": float(flagged["test digits"].mean()),
                               "drawn_digits_flagged": float(flagged["re-drawn test digits"].mean()),
                               "printed_digits_flagged": float(flagged["printed test digits"].mean()),
                               **{f"printed_{kind}_digits_flagged": float(flagged["printed test digits"][printed_kinds == kind].mean())
                                  for kind in PRINTED_KINDS},
                               "not_digits_flagged": float(flagged["not digits"].mean()),
                               "printed_letters_flagged": float(flagged["printed letters"].mean())}
        by_category, by_letter = defaultdict(list), defaultdict(list)
        for (category, kind, _), hit in zip(listed, flagged["not digits"]):
            by_category[category].append(hit)
            if category == "letter":
                by_letter[kind.split("@")[0]].append(hit)
            else:
                by_category[f"{category}: {kind}"].append(hit)
        row["by_category"] = {k: float(np.mean(v)) for k, v in sorted(by_category.items())}
        row["by_letter"] = {k: float(np.mean(v)) for k, v in sorted(by_letter.items())}
        result.methods[method] = row
    return result


def report(result: NotDigitResult) -> str:
    counts, lines = result.counts, []
    out = lines.append
    out(f"sets: {counts['test digits']} test digits, {counts['re-drawn test digits']} re-drawn test digits, "
        f"{counts['printed test digits']} printed digits in unseen faces, {counts['not digits']} non-digits "
        f"(letters in unseen fonts, shapes, scribbles, taps), {counts['printed letters']} printed letters")
    columns = (("non-digits", "not_digits_flagged", ".1%"), ("printed letters", "printed_letters_flagged", ".1%"),
               ("test digits", "test_digits_flagged", ".2%"), ("re-drawn", "drawn_digits_flagged", ".2%"),
               ("printed digits", "printed_digits_flagged", ".2%"))
    out(f"{'share flagged, method':38s} " + " ".join(f"{title:>16s}" for title, _, _ in columns))
    for method, row in result.methods.items():
        out(f"{method:38s} " + " ".join(f"{row[key]:>16{fmt}}" for _, key, fmt in columns))
    shipped = result.methods["trained detector (shipped)"]
    out("trained detector, printed digits by kind: " + ", ".join(
        f"{kind} {shipped[f'printed_{kind}_digits_flagged']:.2%}" for kind in PRINTED_KINDS))
    out("trained detector, non-digits by category: " + ", ".join(f"{k} {v:.0%}" for k, v in shipped["by_category"].items()
                                                                   if ":" not in k))
    shapes = {k: v for k, v in shipped["by_category"].items() if ":" in k}
    out("  by kind: " + ", ".join(f"{k.split(': ')[1]} {v:.0%}" for k, v in shapes.items()))
    letters = sorted(shipped["by_letter"].items(), key=lambda kv: kv[1])
    out("  letters least often flagged: " + ", ".join(f"{k} {v:.0%}" for k, v in letters[:12]))
    return "\n".join(lines)
