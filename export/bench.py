"""Inference latency of every exported part in every backend, next to eager PyTorch.

Each part runs eagerly (the checkpoint's module, inference mode), from its TorchScript and
.pt2 files, and in ONNX Runtime, at batch 1 and a large batch, on the same real inputs, one
after the other in one process with pinned threads (torch.set_num_threads and ORT's
intra-op threads both set to ``threads``). A backend is timed for ``min_seconds`` or
``min_calls``, whichever is longer, after warm-up calls; medians and p99 are reported, and
each backend's ratio to eager at the same batch (eager time / backend time: >1 is faster).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from digitzoo.export.formats import part_module
from digitzoo.export.verify import reference_inputs
from digitzoo.hub.checkpoint import load_checkpoint
from digitzoo.hub.manifest import exports_root, parts_with_role, read_manifest
from digitzoo.hub.registry import get_spec
from digitzoo.hub.runtime import load_part, torch_runner

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


def inference_latency(threads: int = 2, batches: tuple[int, ...] = (1, 256), min_seconds: float = 1.0,
                      min_calls: int = 30, device: str = "cpu", data_dir=None, log=print) -> list[dict]:
    """One row per (model, part, batch, backend): p50/p99 ms, items/s, ratio to eager."""
    torch.set_num_threads(threads)
    root = exports_root()
    rows = []
    for name, entry in read_manifest(root)["models"].items():
        spec = get_spec(name)
        model, _ = load_checkpoint(name)
        for part in spec.parts:
            module = part_module(model.cpu(), part)
            inputs = reference_inputs(spec, part, model, samples=256, data_dir=data_dir)  # computed on the CPU
            model.to(device)
            runners = {"eager": torch_runner(module, device)}
            formats = {a["format"] for a in entry["artifacts"] if a["part"] == part.name}
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
                    label = getattr(run, "device", f"torch-{device}")
                    rows.append({"model": name, "part": part.name, "batch": size, "backend": backend,
                                 "runtime": label, "p50_ms": p50, "p99_ms": float(np.percentile(times, 99)),
                                 "items_per_s": size / p50 * 1000, "calls": len(times),
                                 "speedup_vs_eager": eager_p50 / p50})
                    log(f"{name}/{part.name} batch {size:4d} {backend:12s} p50 {p50:8.3f} ms  x{eager_p50 / p50:5.2f}")
    return rows


def gan_grid_latency(threads: int = 2, grid: int = 64, min_seconds: float = 1.0, min_calls: int = 50) -> dict:
    """Time to sample a grid of ``grid`` digits with the served generator (ONNX Runtime), as the app does."""
    (model, part), *_ = parts_with_role(read_manifest(exports_root()), "generator")
    generator = load_part(model, part, threads=threads)
    z_dim = generator.entry["inputs"][0]["shape"][1]
    z = np.random.default_rng(0).standard_normal((grid, z_dim)).astype(np.float32)
    labels = (np.arange(grid) % 10).astype(np.int64)
    times = _time(generator, (z, labels), min_seconds, min_calls)
    return {"grid": grid, "p50_ms": statistics.median(times), "p99_ms": float(np.percentile(times, 99)),
            "runtime": generator.device, "threads": threads}
