"""Inference latency of every exported part in every backend, next to eager PyTorch.

Each part runs eagerly (the checkpoint's module, inference mode), from its TorchScript and
.pt2 files, and in ONNX Runtime, at batch 1 and a large batch, on the same real inputs, one
after the other in one process with pinned threads (torch.set_num_threads and ORT's
intra-op threads both set to ``threads``). A backend is timed for ``min_seconds`` or
``min_calls``, whichever is longer, after warm-up calls; medians and p99 are reported, and
each backend's ratio to eager at the same batch (eager time / backend time: >1 is faster).

Part of `digitzoo bench` (its inference section and GAN grid): ``inference_latency`` returns an
``InferenceResult`` and ``gan_grid_latency`` a ``GanGridResult``, each printed by its ``report_*``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from digitzoo.export.formats import part_module
from digitzoo.export.verify import reference_inputs
from digitzoo.hub.benchmarking import Machine, Result
from digitzoo.hub.checkpoint import load_checkpoint
from digitzoo.hub.serving.manifest import exports_root, parts_with_role, read_manifest
from digitzoo.hub.registry import get_spec
from digitzoo.hub.torch_files import load_part, torch_runner

BACKENDS = ("eager", "torchscript", "pt2", "onnx")


def _time(run: Callable, inputs: tuple[np.ndarray, ...], min_seconds: float, min_calls: int, warmup: int = 3,
          synchronize: Callable[[], None] = lambda: None) -> list[float]:
    for _ in range(warmup):
        run(*inputs)
    synchronize()
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - began < min_seconds:
        start = time.perf_counter()
        run(*inputs)
        synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _batch(inputs: tuple[np.ndarray, ...], size: int) -> tuple[np.ndarray, ...]:
    reps = -(-size // len(inputs[0]))
    return tuple(np.ascontiguousarray(np.concatenate([a] * reps)[:size]) for a in inputs)


@dataclass(frozen=True)
class LatencyRow(Result):
    """One (model, part, batch, backend): its runtime, p50 and p99 ms, items/s, timed calls and the ratio
    to eager at the same batch (eager time / this time: above 1 is faster)."""

    model: str
    part: str
    batch: int
    backend: str
    runtime: str
    p50_ms: float
    p99_ms: float
    items_per_s: float
    calls: int
    speedup_vs_eager: float


@dataclass
class InferenceResult(Result):
    """`digitzoo bench`'s inference section: per device, a ``LatencyRow`` per (model, part, batch, backend).

    JSON (``to_json``, results.json's ``inference``): ``{device: [row, ...]}``; the threads and the
    machine are not in it (results.json records them once, as ``threads`` and ``machine_before``).
    """

    devices: dict[str, list[LatencyRow]]
    threads: int
    machine: Machine

    def to_json(self) -> dict[str, list[dict]]:
        return {device: [row.to_json() for row in rows] for device, rows in self.devices.items()}


def inference_latency(threads: int = 2, batches: tuple[int, ...] = (1, 256), min_seconds: float = 1.0,
                      min_calls: int = 30, devices: tuple[str, ...] = ("cpu",), data_dir=None, log=print) -> InferenceResult:
    """Every exported part in every backend on each of ``devices``, one after the other."""
    torch.set_num_threads(threads)
    rows = {device: _device_rows(threads, batches, min_seconds, min_calls, device, data_dir, log) for device in devices}
    return InferenceResult(rows, threads, Machine.now(threads))


def _device_rows(threads: int, batches: tuple[int, ...], min_seconds: float, min_calls: int, device: str, data_dir,
                 log) -> list[LatencyRow]:
    root = exports_root()
    rows = []
    for name, entry in read_manifest(root).models.items():
        spec = get_spec(name)
        model, _ = load_checkpoint(name)
        for part in spec.parts:
            module = part_module(model.cpu(), part)
            inputs = reference_inputs(spec, part, model, samples=256, data_dir=data_dir)  # computed on the CPU
            model.to(device)
            runners = {"eager": torch_runner(module, device)}
            formats = {a.format for a in entry.artifacts if a.part == part.name}
            for backend in ("torchscript", "pt2", "onnx"):
                if backend in formats:
                    runners[backend] = load_part(name, part.name, backend=backend, device=device, root=root,
                                                 threads=threads)
            sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
            for size in batches:
                batch = _batch(inputs, size)
                eager_p50 = None
                for backend, run in runners.items():
                    times = _time(run, batch, min_seconds, min_calls, synchronize=sync)
                    p50 = statistics.median(times)
                    eager_p50 = p50 if backend == "eager" else eager_p50
                    rows.append(LatencyRow(name, part.name, size, backend, getattr(run, "device", f"torch-{device}"), p50,
                                           float(np.percentile(times, 99)), size / p50 * 1000, len(times), eager_p50 / p50))
                    log(f"{name}/{part.name} batch {size:4d} {backend:12s} p50 {p50:8.3f} ms  x{eager_p50 / p50:5.2f}")
    return rows


def report_inference(result: InferenceResult) -> str:
    """p50 ms per (part, device, batch), one column per backend, and ONNX Runtime's ratio to eager."""
    lines = [f"{'inference (p50 ms)':28s} {'batch':>5s} {'eager':>9s} {'ts':>9s} {'pt2':>9s} {'onnx':>9s} {'onnx x':>7s}"]
    for device, rows in result.devices.items():
        for model, part, batch in dict.fromkeys((r.model, r.part, r.batch) for r in rows):
            by = {r.backend: r for r in rows if (r.model, r.part, r.batch) == (model, part, batch)}
            cells = " ".join(f"{by[b].p50_ms:9.3f}" if b in by else f"{'-':>9s}" for b in BACKENDS)
            ratio = f" {by['onnx'].speedup_vs_eager:6.2f}x" if "onnx" in by else ""
            lines.append(f"  {model + '/' + part + ' ' + device:26s} {batch:5d} {cells}{ratio}")
    return "\n".join(lines)


@dataclass
class GanGridResult(Result):
    """The GAN sampler's grid: ``grid`` digits per call, p50 and p99 ms, the runtime and its threads.
    JSON (results.json's ``gan_grid``): all but the machine (recorded once in results.json)."""

    grid: int
    p50_ms: float
    p99_ms: float
    runtime: str
    threads: int
    machine: Machine

    def to_json(self) -> dict:
        return {k: v for k, v in super().to_json().items() if k != "machine"}


def gan_grid_latency(threads: int = 2, grid: int = 64, min_seconds: float = 1.0, min_calls: int = 50) -> GanGridResult:
    """Time to sample a grid of ``grid`` digits with the served generator (ONNX Runtime), as the app does."""
    (model, part), *_ = parts_with_role(read_manifest(exports_root()), "generator")
    generator = load_part(model, part, threads=threads)
    z_dim = generator.entry.inputs[0].shape[1]
    z = np.random.default_rng(0).standard_normal((grid, z_dim)).astype(np.float32)
    labels = (np.arange(grid) % 10).astype(np.int64)
    times = _time(generator, (z, labels), min_seconds, min_calls)
    return GanGridResult(grid, statistics.median(times), float(np.percentile(times, 99)), generator.device, threads,
                         Machine.now(threads))


def report_gan_grid(result: GanGridResult) -> str:
    return f"GAN {result.grid}-digit grid: p50 {result.p50_ms:.1f} ms"
