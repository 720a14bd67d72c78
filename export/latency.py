"""Batch-1 latency of the exported classifiers for the leaderboard: ONNX Runtime on the CPU,
1 thread (intra- and inter-op), the median of ``runs`` calls on one fixed digit after a
warm-up, through the same runtime wrapper the apps use. No torch needed.

``batch1_latency`` times one file (`digitzoo export` stores it as the manifest entry's ``latency``);
``measure_manifest`` re-measures every classifier of a manifest (`digitzoo bench leaderboard`) and
``report`` prints the leaderboard with the new figures.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from digitzoo.hub.benchmarking import Machine, Result
from digitzoo.hub.serving import leaderboard
from digitzoo.hub.serving.manifest import Artifact, Manifest, ModelEntry, read_manifest, verified_path, write_manifest
from digitzoo.hub.serving.runtime import open_file

RUNS = 200
WARMUP = 20


def _digit() -> np.ndarray:
    """A fixed input, a vertical stroke (a "1"): the time of these nets does not depend on the pixels."""
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 5:23, 13:15] = 1.0
    return x


@dataclass(frozen=True)
class Batch1Latency(Result):
    """One file's batch-1 latency; its JSON is the manifest entry's ``latency`` (the leaderboard reads
    ``onnx_batch1_ms``): the median and p90 in ms, the calls, the threads, the runtime, when (UTC)."""

    onnx_batch1_ms: float
    p90_ms: float
    runs: int
    threads: int
    runtime: str
    measured: str


def batch1_latency(path: str | Path, runs: int = RUNS, image: np.ndarray | None = None) -> Batch1Latency:
    """``runs`` calls of the ONNX file at ``path`` on one digit (``image``, default a fixed "1")."""
    run, label = open_file(path, "onnx", device="cpu", threads=1)
    x = _digit() if image is None else image
    for _ in range(WARMUP):
        run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(x)
        times.append((time.perf_counter() - start) * 1000)
    return Batch1Latency(round(statistics.median(times), 4), round(float(np.percentile(times, 90)), 4), runs, 1, label,
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def classifier_onnx(entry: ModelEntry) -> Artifact | None:
    """The manifest item of an entry's classifier ONNX file, if it has one."""
    return next((a for a in entry.artifacts if a.format == "onnx" and a.role == "classifier"), None)


@dataclass
class LeaderboardResult(Result):
    """`digitzoo bench leaderboard`: the exports folder, each re-measured classifier's ``Batch1Latency``,
    the machine. ``manifest`` (as written, what ``report`` prints) is left out of the JSON."""

    root: str
    latency: dict[str, Batch1Latency]
    machine: Machine
    manifest: Manifest = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_json().items() if k != "manifest"}


def measure_manifest(root: str | Path, names: list[str] | None = None, runs: int = RUNS, log=print) -> LeaderboardResult:
    """Re-measure every classifier of the manifest in ``root`` (or ``names``) and store it there."""
    root = Path(root)
    manifest = read_manifest(root)
    image = _digit()
    measured = {}
    for name, entry in manifest.models.items():
        item = classifier_onnx(entry)
        if item is None or (names and name not in names):
            continue
        measured[name] = batch1_latency(verified_path(root, item), runs, image)
        manifest = manifest.with_model(name, replace(entry, latency=measured[name].to_json()))
        log(f"{name:20s} {measured[name].onnx_batch1_ms:8.3f} ms (median of {runs}, ONNX Runtime CPU, 1 thread)")
    write_manifest(root, manifest)
    return LeaderboardResult(str(root), measured, Machine.now(threads=1), manifest)


def report(result: LeaderboardResult) -> str:
    """The classifier leaderboard of the manifest just written (`digitzoo list --table`'s text)."""
    return leaderboard.text(result.manifest)
