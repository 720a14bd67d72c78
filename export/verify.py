"""Parity of exported files with eager PyTorch on real inputs.

Inputs are real: 1,000 MNIST test images for image parts, the eager encoder's codes of those
images for the decoder, seeded normal noise with labels 0-9 for the generator. Each file is
run at batch 1 (on the first 16 samples one by one) and on all samples as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hub.registry import ModelSpec, PartSpec
from train.data import load_mnist, to_float

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
    """Real inputs for ``part``, chosen by what the part's inputs are."""
    first = part.inputs[0]
    if first.name == "image":
        images, _ = load_mnist(train=False, data_dir=data_dir)
        return (to_float(images[:samples]).numpy(),)
    if first.name == "code":  # a decoder: decode where real digits sit in the latent space
        images, _ = load_mnist(train=False, data_dir=data_dir)
        with torch.inference_mode():
            codes = model.encoder(to_float(images[:samples]))
        return (codes.numpy(),)
    if first.name == "z":  # a conditional generator: seeded noise, every digit
        g = torch.Generator().manual_seed(0)
        z = torch.randn(samples, first.shape[1], generator=g)
        return z.numpy(), (torch.arange(samples) % 10).numpy()
    raise ValueError(f"no reference inputs for a part whose first input is {first.name!r}")


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
