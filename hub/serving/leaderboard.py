"""The classifier leaderboard: one row per classifier in a manifest, rendered for the CLI, the
Models tab and the README. Stdlib only, and only from the manifest: nothing here is measured.

Batch-1 latency is what ``digitzoo export`` stored in each entry's ``latency``: ONNX Runtime on
the CPU, 1 thread, median of 200 calls. ``digitzoo bench leaderboard`` re-measures every
classifier in one session; for your own exports it writes the manifest, for the shipped ones
(package data, never rewritten) your store's ``leaderboard-latency.json``, which
``with_local_latency`` lays over a manifest for the files it was measured on (same sha256).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import atomic_write_text
from digitzoo.hub.serving.manifest import Artifact, Manifest, ModelEntry

LOCAL_LATENCY_FILE = "leaderboard-latency.json"  # in the store: latency measured here for the shipped files
LOCAL_LATENCY_FORMAT = "digitzoo-local-latency/1"

README_START = "<!-- leaderboard:start -->"
README_END = "<!-- leaderboard:end -->"

# (key, header, datatype for a sortable table) in display order.
COLUMNS = (
    ("model", "model", "str"),
    ("test_accuracy", "test accuracy %", "number"),
    ("sketch_accuracy", "drawings accuracy %", "number"),
    ("parameters", "parameters", "number"),
    ("onnx_mb", "ONNX MB", "number"),
    ("latency_ms", "latency ms (batch 1)", "number"),
    ("train_min", "training min", "number"),
    ("device", "trained on", "str"),
)


def classifiers(manifest: Manifest) -> list[str]:
    """Manifest entries whose task is classifier, best test accuracy first (then by name)."""
    names = [n for n, e in manifest.models.items() if e.task == "classifier"]
    return sorted(names, key=lambda n: (-(manifest.models[n].metrics.get("test_accuracy") or 0), n))


def classifier_onnx(entry: ModelEntry) -> Artifact | None:
    """The manifest item of an entry's classifier ONNX file, if it has one."""
    return next((a for a in entry.artifacts if a.format == "onnx" and a.role == "classifier"), None)


def local_latency_path() -> Path:
    return paths.store_dir() / LOCAL_LATENCY_FILE


def read_local_latency() -> dict[str, dict]:
    """model -> {"sha256": of the ONNX file timed, "latency": its figures}; empty when none or unreadable."""
    try:
        data = json.loads(local_latency_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != LOCAL_LATENCY_FORMAT or not isinstance(data.get("models"), dict):
        return {}
    return {k: v for k, v in data["models"].items() if isinstance(v, dict) and isinstance(v.get("latency"), dict)}


def write_local_latency(measured: dict[str, tuple[str, dict]]) -> Path:
    """Add ``measured`` (model -> (sha256, latency)) to the store's figures (atomically); the file's path."""
    kept = read_local_latency()
    kept.update({name: {"sha256": sha256, "latency": latency} for name, (sha256, latency) in measured.items()})
    path = local_latency_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"format": LOCAL_LATENCY_FORMAT, "models": kept}, indent=2, sort_keys=True) + "\n")
    return path


def with_local_latency(manifest: Manifest) -> Manifest:
    """``manifest`` with the latency measured on this machine where it was measured on the same files."""
    for name, mine in read_local_latency().items():
        entry = manifest.models.get(name)
        onnx = classifier_onnx(entry) if entry else None
        if onnx is not None and onnx.sha256 == mine.get("sha256"):
            manifest = manifest.with_model(name, replace(entry, latency=mine["latency"]))
    return manifest


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


YOURS = " (yours)"  # after a visitor's own model's name, wherever it is ranked


def own_row(evaluation: dict[str, Any]) -> dict[str, Any]:
    """A leaderboard row for your own ONNX file from ``own_model.evaluate_onnx``: its accuracies on the
    shipped test digits and its size (the rest is not known of a file)."""
    sets = evaluation["sets"]
    accuracy = lambda name: sets[name]["accuracy"] if name in sets else None  # noqa: E731
    return {"model": Path(evaluation["file"]).name + YOURS, "test_accuracy": accuracy("mnist_test"),
            "sketch_accuracy": accuracy("redrawn_test"), "parameters": None, "onnx_mb": round(evaluation["bytes"] / 1e6, 2),
            "latency_ms": None, "train_min": None, "device": None}


def rows(manifest: Manifest, yours: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """One dict per classifier with the COLUMNS keys (None where the manifest has no figure), ``yours``
    (rows of ``own_row``) ranked among them by test accuracy."""
    out = []
    for name in classifiers(manifest):
        entry = manifest.models[name]
        metrics, ck = entry.metrics, entry.checkpoint
        onnx = classifier_onnx(entry)
        test, sketch = metrics.get("test_accuracy"), metrics.get("sketch_accuracy")
        wall = ck.get("wall_time_s")
        out.append({
            "model": name,
            "test_accuracy": _round(None if test is None else 100 * test, 2),
            "sketch_accuracy": _round(None if sketch is None else 100 * sketch, 2),
            "parameters": entry.parameters,
            "onnx_mb": _round(None if onnx is None else onnx.bytes / 1e6, 2),
            "latency_ms": _round((entry.latency or {}).get("onnx_batch1_ms"), 3),
            "train_min": _round(None if wall is None else wall / 60, 1),
            "device": ck.get("device"),
        })
    return sorted([*out, *yours], key=lambda row: -(row["test_accuracy"] or 0))  # stable: the zoo's order kept


def headers() -> list[str]:
    return [header for _, header, _ in COLUMNS]


def datatypes() -> list[str]:
    return [kind for _, _, kind in COLUMNS]


def table(manifest: Manifest) -> list[list[Any]]:
    """Rows as lists in COLUMNS order (numbers stay numbers, so a UI table sorts them as numbers)."""
    return [[row[key] for key, _, _ in COLUMNS] for row in rows(manifest)]


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "parameters":
        return f"{value:,}"
    if key in ("test_accuracy", "sketch_accuracy", "onnx_mb"):
        return f"{value:.2f}"
    if key == "latency_ms":
        return f"{value:.3f}"
    if key == "train_min":
        return f"{value:.1f}"
    return str(value)


def _cells(manifest: Manifest, yours: list[dict[str, Any]] = ()) -> list[list[str]]:
    return [[_cell(key, row[key]) for key, _, _ in COLUMNS] for row in rows(manifest, yours)]


def markdown(manifest: Manifest, yours: list[dict[str, Any]] = ()) -> str:
    """The leaderboard as a Markdown table (what the README block holds)."""
    lines = ["| " + " | ".join(headers()) + " |",
             "|" + "|".join("---" if kind == "str" else "---:" for _, _, kind in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in _cells(manifest, yours)]
    return "\n".join(lines)


def text(manifest: Manifest, yours: list[dict[str, Any]] = ()) -> str:
    """The leaderboard as fixed-width text for a terminal (`digitzoo list --table [--with FILE]`)."""
    grid = [headers(), *_cells(manifest, yours)]
    widths = [max(len(r[i]) for r in grid) for i in range(len(COLUMNS))]
    kinds = datatypes()
    return "\n".join("  ".join(c.ljust(w) if k == "str" else c.rjust(w) for c, w, k in zip(r, widths, kinds)).rstrip()
                     for r in grid)


def readme_block(manifest: Manifest) -> str:
    """The README's generated block, markers included."""
    note = ("<!-- generated from hub/pretrained/exports/manifest.json by `digitzoo list --table --readme README.md`; "
            "do not edit by hand -->")
    return f"{README_START}\n{note}\n\n{markdown(manifest)}\n\n{README_END}"


_BLOCK = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)


def readme_current_block(readme_text: str) -> str | None:
    """The block between the markers as it is in a README now (None when it has none)."""
    found = _BLOCK.search(readme_text)
    return found.group(0) if found else None


def update_readme(path: str | Path, manifest: Manifest) -> bool:
    """Rewrite the README's leaderboard block from ``manifest``; True when it changed."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    if readme_current_block(old) is None:
        raise DigitzooError(f"{path} has no {README_START} ... {README_END} block")
    new = _BLOCK.sub(lambda _: readme_block(manifest), old, count=1)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old
