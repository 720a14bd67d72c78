"""Parity of exported files with eager PyTorch on real inputs.

Inputs are real, chosen by the part's role: 1,000 MNIST test images for classifiers, detectors and encoders,
the eager encoder's codes of those images for a decoder, seeded normal noise with every label
for a generator. Each file is run at batch 1 (on the first 16 samples one by one) and on all
samples as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from digitzoo.export.formats import part_module
from digitzoo.hub.registry import ModelSpec, PartSpec
from digitzoo.hub.mnist import load_mnist, to_float

ATOL = 1e-4
RTOL = 1e-4
SAMPLES = 1000
SINGLE = 16


@dataclass
class Parity:
    max_abs_diff: float
    samples: int
    batch_sizes: tuple[int, int]
    ok: bool


def reference_inputs(spec: ModelSpec, part: PartSpec, model, samples: int = SAMPLES, data_dir=None) -> tuple[np.ndarray, ...]:
    """Real inputs for ``part``, chosen by its role (see ``PartSpec``)."""
    if part.role in ("classifier", "encoder", "detector"):
        images, _ = load_mnist(train=False, data_dir=data_dir)
        return (to_float(images[:samples]).numpy(),)
    if part.role == "decoder":  # decode where real digits sit in the latent space
        encoder = next(p for p in spec.parts if p.role == "encoder")
        (images,) = reference_inputs(spec, encoder, model, samples, data_dir)
        with torch.inference_mode():
            codes = part_module(model, encoder)(torch.from_numpy(images))
        return (codes.numpy(),)
    if part.role == "generator":  # a conditional generator: seeded noise, every digit
        noise = part.inputs[0]
        g = torch.Generator().manual_seed(0)
        z = torch.randn(samples, *noise.shape[1:], generator=g)
        return z.numpy(), (torch.arange(samples) % len(spec.labels or range(10))).numpy()
    raise ValueError(f"no reference inputs for a part whose role is {part.role!r}")


def compare(run_exported, run_eager, inputs: tuple[np.ndarray, ...]) -> Parity:
    worst, ok = 0.0, True
    n = len(inputs[0])
    batches = [tuple(a[i:i + 1] for a in inputs) for i in range(min(SINGLE, n))] + [inputs]
    for batch in batches:
        want = run_eager(*batch)
        got = run_exported(*batch)
        for w, g in zip(want, got):
            if w.shape != g.shape:
                return Parity(float("inf"), n, (1, n), False)
            diff = np.abs(w.astype(np.float64) - g.astype(np.float64))
            worst = max(worst, float(diff.max()))
            ok &= bool(np.all(diff <= ATOL + RTOL * np.abs(w)))
    return Parity(worst, n, (1, n), ok)
