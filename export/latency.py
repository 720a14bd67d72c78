"""Batch-1 latency of the exported classifiers for the leaderboard: ONNX Runtime on the CPU,
1 thread (intra- and inter-op), the median of ``runs`` calls on one fixed digit after a
warm-up, through the same runtime wrapper the apps use. No torch needed.

``batch1_latency`` times one file (`digitzoo export` stores it as the manifest entry's ``latency``);
``measure_manifest`` re-measures every classifier of a manifest (`digitzoo bench leaderboard`) and
``report`` prints the leaderboard with the new figures. The shipped manifest is package data and
is never rewritten: figures measured on its files go to the user's store
(``leaderboard.write_local_latency``), and the leaderboard shows them from there.
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
from digitzoo.hub.serving import paths
from digitzoo.hub.serving.leaderboard import classifier_onnx, with_local_latency, write_local_latency
from digitzoo.hub.serving.manifest import Manifest, read_manifest, verified_path, write_manifest
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


@dataclass
class LeaderboardResult(Result):
    """`digitzoo bench leaderboard`: the exports folder, each re-measured classifier's ``Batch1Latency``,
    the machine. ``manifest`` (with the new figures, what ``report`` prints) and ``written_to`` (the
    file the figures went to) are left out of the JSON, whose keys stay as they were."""

    root: str
    latency: dict[str, Batch1Latency]
    machine: Machine
    manifest: Manifest = field(repr=False)
    written_to: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_json().items() if k not in ("manifest", "written_to")}


def shipped(root: Path) -> bool:
    """Whether ``root`` is the exports folder inside the installed package (read-only package data)."""
    return root.resolve() == paths.pretrained_exports_dir().resolve()


def measure_manifest(root: str | Path, names: list[str] | None = None, runs: int = RUNS, log=print) -> LeaderboardResult:
    """Re-measure every classifier of the manifest in ``root`` (or ``names``): into that manifest when
    it is yours, into your store's figures when it is the shipped one."""
    root = Path(root)
    manifest = read_manifest(root)
    image = _digit()
    measured, timed_files = {}, {}
    for name, entry in manifest.models.items():
        item = classifier_onnx(entry)
        if item is None or (names and name not in names):
            continue
        measured[name] = batch1_latency(verified_path(root, item), runs, image)
        timed_files[name] = (item.sha256, measured[name].to_json())
        manifest = manifest.with_model(name, replace(entry, latency=measured[name].to_json()))
        log(f"{name:20s} {measured[name].onnx_batch1_ms:8.3f} ms (median of {runs}, ONNX Runtime CPU, 1 thread)")
    if shipped(root):
        written = write_local_latency(timed_files)
        manifest = with_local_latency(read_manifest(root))  # earlier figures of the other models too
    else:
        write_manifest(root, manifest)
        written = root / "manifest.json"
    log(f"figures written to {written}")
    return LeaderboardResult(str(root), measured, Machine.now(threads=1), manifest, str(written))


def report(result: LeaderboardResult) -> str:
    """The classifier leaderboard of the manifest just written (`digitzoo list --table`'s text)."""
    return leaderboard.text(result.manifest)
