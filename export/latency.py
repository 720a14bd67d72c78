"""Batch-1 latency of the exported classifiers for the leaderboard: ONNX Runtime on the CPU,
1 thread (intra- and inter-op), the median of ``runs`` calls on one fixed digit after a
warm-up, through the same runtime wrapper the apps use. No torch needed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from digitzoo.hub.manifest import read_manifest, verified_path, write_manifest
from digitzoo.hub.runtime import open_file

RUNS = 200
WARMUP = 20


def _digit() -> np.ndarray:
    """A fixed input, a vertical stroke (a "1"): the time of these nets does not depend on the pixels."""
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 5:23, 13:15] = 1.0
    return x


def onnx_batch1_ms(path: str | Path, runs: int = RUNS, image: np.ndarray | None = None) -> dict[str, Any]:
    """{'onnx_batch1_ms': median ms, ...} of ``runs`` calls of the ONNX file at ``path``."""
    run, label = open_file(path, "onnx", device="cpu", threads=1)
    x = _digit() if image is None else image
    for _ in range(WARMUP):
        run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(x)
        times.append((time.perf_counter() - start) * 1000)
    return {"onnx_batch1_ms": round(statistics.median(times), 4), "p90_ms": round(float(np.percentile(times, 90)), 4),
            "runs": runs, "threads": 1, "runtime": label,
            "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def classifier_onnx(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest item of an entry's classifier ONNX file, if it has one."""
    return next((a for a in entry.get("artifacts", []) if a["format"] == "onnx" and a.get("role") == "classifier"), None)


def measure_manifest(root: str | Path, names: list[str] | None = None, runs: int = RUNS, log=print) -> dict[str, Any]:
    """Re-measure every classifier of the manifest in ``root`` (or ``names``) and store it there."""
    root = Path(root)
    manifest = read_manifest(root)
    image = _digit()
    for name, entry in manifest["models"].items():
        item = classifier_onnx(entry)
        if item is None or (names and name not in names):
            continue
        entry["latency"] = onnx_batch1_ms(verified_path(root, item), runs, image)
        log(f"{name:20s} {entry['latency']['onnx_batch1_ms']:8.3f} ms (median of {runs}, ONNX Runtime CPU, 1 thread)")
    write_manifest(root, manifest)
    return manifest
