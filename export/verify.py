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
    # Explainers only: samples whose input x gradient map exceeded the tolerance at a max-pool near-tie.
    near_ties: int = 0


# An input gradient through max-pooling follows the window's largest value. Where two values in a
# window differ by float rounding only (saturated ink after a conv, before a ReLU), eager PyTorch and
# ONNX Runtime can each find a different maximum, and the gradient then lands on a neighbouring pixel:
# both are correct gradients of their own forward pass. Measured on the shipped mnist_inception: 3 of
# 1,000 test digits, up to 1.8% of the map's largest value, on one CPU; on another (a different
# float rounding in the convolutions) 5 of 1,000, one of them off by 7.2% of its map's total. So an explainer's map may miss the
# element-wise tolerance on at most NEAR_TIE_SHARE of the samples, each within NEAR_TIE_L1 of the
# map's total |value|; its logits and feature maps are held to the element-wise tolerance.
NEAR_TIE_SHARE = 0.01
NEAR_TIE_L1 = 0.10


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


def compare_explainer(run_exported, run_eager, inputs: tuple[np.ndarray, ...]) -> Parity:
    """``compare`` for an explainer (outputs: logits, input x gradient, feature maps), with the
    max-pool near-tie allowance above for the map (output 1), counted over the samples: a sample
    off in its single-sample run or in the whole batch is one sample off."""
    worst, ok = 0.0, True
    n = len(inputs[0])
    off: dict[int, float] = {}  # sample -> the largest share of its map's total |value| it was off by
    batches = [(i, tuple(a[i:i + 1] for a in inputs)) for i in range(min(SINGLE, n))] + [(0, inputs)]
    for first, batch in batches:
        for k, (w, g) in enumerate(zip(run_eager(*batch), run_exported(*batch))):
            if w.shape != g.shape:
                return Parity(float("inf"), n, (1, n), False)
            diff = np.abs(w.astype(np.float64) - g.astype(np.float64))
            worst = max(worst, float(diff.max()))
            within = diff <= ATOL + RTOL * np.abs(w)
            if k != 1:
                ok &= bool(np.all(within))
                continue
            l1 = diff.reshape(len(w), -1).sum(axis=1) / np.maximum(np.abs(w).reshape(len(w), -1).sum(axis=1), 1e-12)
            for i in np.flatnonzero(~within.reshape(len(w), -1).all(axis=1)):
                off[first + int(i)] = max(off.get(first + int(i), 0.0), float(l1[i]))
    ok &= all(share <= NEAR_TIE_L1 for share in off.values()) and len(off) <= NEAR_TIE_SHARE * n
    near = len(off)
    return Parity(worst, n, (1, n), ok, near)
