"""Evaluation on the 10,000 MNIST test images, one function per task.

The not-a-digit detector is measured on those digits, on the same digits re-drawn as browser
sketches, and on the measured set of letters (fonts it never saw), shapes, scribbles and taps.

GAN quality is judged by the trained mnist_cnn (spec.judge): how often samples of digit d
are read as d, the classifier Inception Score, and a Frechet distance in the judge's
128-d feature space next to the same distance between two halves of the real test set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from digitzoo.hub.mnist import to_float


@torch.inference_mode()
def _batched(fn, tensor: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([fn(tensor[i:i + batch]) for i in range(0, len(tensor), batch)])


def classifier_metrics(model, images, labels, sketches: np.ndarray | None, device) -> dict[str, float]:
    model.eval()
    logits = _batched(lambda x: model(to_float(x).to(device)).cpu(), images)
    metrics = {
        "test_accuracy": (logits.argmax(1) == labels).float().mean().item(),
        "test_loss": F.cross_entropy(logits, labels).item(),
    }
    if sketches is not None:
        x = torch.from_numpy(sketches).unsqueeze(1)  # (N, 1, 28, 28)
        pred = _batched(lambda b: model(b.to(device)).argmax(1).cpu(), x)
        metrics["sketch_accuracy"] = (pred == labels[: len(x)]).float().mean().item()
        metrics["sketch_count"] = len(x)
    return metrics


def detector_metrics(model, images, sketches: np.ndarray, others: np.ndarray, kinds: list[str],
                     device, printed: tuple[np.ndarray, list[str]] | None = None,
                     printed_letters: np.ndarray | None = None) -> dict[str, float]:
    """Share flagged "not a digit" of test digits, of re-drawn test digits, of printed test digits
    (``printed``: images and their kinds: typed, traced, photo) and of the non-digit set (``others``,
    whose categories are ``kinds``: letter, shape, scribble, tap), overall and per category; and of
    printed letters (typed and photographed; reported beside the non-digit set, not in it)."""
    model.eval()

    def flagged(x: torch.Tensor) -> torch.Tensor:
        return _batched(lambda b: (model(b.to(device)).argmax(1) == 1).cpu(), x)

    metrics = {"test_digits_flagged": flagged(to_float(images)).float().mean().item(),
               "drawn_digits_flagged": flagged(torch.from_numpy(sketches).unsqueeze(1)).float().mean().item()}
    hits = flagged(torch.from_numpy(others).unsqueeze(1)).numpy()
    metrics["not_digits_flagged"] = float(hits.mean())
    for kind in sorted(set(kinds)):
        metrics[f"{kind}s_flagged"] = float(hits[np.asarray(kinds) == kind].mean())
    metrics["not_digit_count"] = len(others)
    metrics["drawn_digit_count"] = len(sketches)
    if printed is not None:
        images_printed, printed_kinds = printed
        hits = flagged(torch.from_numpy(images_printed).unsqueeze(1)).numpy()
        metrics["printed_digits_flagged"] = float(hits.mean())
        for kind in sorted(set(printed_kinds)):
            metrics[f"printed_{kind}_digits_flagged"] = float(hits[np.asarray(printed_kinds) == kind].mean())
        metrics["printed_digit_count"] = len(images_printed)
    if printed_letters is not None:
        metrics["printed_letters_flagged"] = float(flagged(torch.from_numpy(printed_letters).unsqueeze(1)).float().mean())
        metrics["printed_letter_count"] = len(printed_letters)
    return metrics


def autoencoder_metrics(model, images, device) -> dict[str, float]:
    model.eval()
    x = to_float(images)
    codes = _batched(lambda b: model.encoder(b.to(device)).cpu(), x)
    recon = _batched(lambda c: model.decoder(c.to(device)).cpu(), codes)
    lo, hi = np.percentile(codes.numpy(), [1, 99], axis=0)
    return {
        "test_mse": F.mse_loss(recon, x).item(),  # per pixel, pixels in [0, 1]
        # Where 98% of test digits sit in the latent space: the demo's slider ranges.
        "latent_p01": [round(float(v), 4) for v in lo],
        "latent_p99": [round(float(v), 4) for v in hi],
    }


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID formula on two (N, D) feature sets, in float64 with a symmetric matrix square root."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    sqrt_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    # tr sqrt(cov_a cov_b) = sum of sqrt eigenvalues of sqrt_a cov_b sqrt_a (symmetric PSD)
    cross = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature T minimising the NLL of softmax(logits / T) (Guo et al. 2017, calibration).

    mnist_cnn is trained with label smoothing, which caps its confidence near 0.95: its raw
    probabilities would put even real MNIST at an Inception Score of ~7.4. Calibrating on
    real test images gives probabilities a plain cross-entropy classifier would give.
    """
    grid = torch.logspace(-2, 1, 200)  # T from 0.01 to 10
    nll = torch.stack([F.cross_entropy(logits / t, labels) for t in grid])
    return float(grid[nll.argmin()])


def inception_score(probs: torch.Tensor) -> float:
    marginal = probs.mean(0, keepdim=True)
    kl = (probs * (probs.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1)
    return kl.mean().exp().item()


@torch.inference_mode()
def gan_metrics(generator, judge, test_images, test_labels, device, per_class: int = 1000, seed: int = 1234) -> dict[str, float]:
    generator.eval()
    judge.eval()
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)  # (10 * per_class,)
    z = torch.randn(len(labels), generator.z_dim, generator=g)
    fake = torch.cat([generator(z[i:i + 1000].to(device), labels[i:i + 1000].to(device)).cpu()
                      for i in range(0, len(labels), 1000)])
    real = to_float(test_images)
    fake_logits = _batched(lambda x: judge(x.to(device)).cpu(), fake)
    real_logits = _batched(lambda x: judge(x.to(device)).cpu(), real)
    temperature = fit_temperature(real_logits, test_labels)
    real_feats = _batched(lambda x: judge.embed(x.to(device)).cpu(), real)
    fake_feats = _batched(lambda x: judge.embed(x.to(device)).cpu(), fake)
    half = len(real_feats) // 2
    perm = torch.randperm(len(real_feats), generator=g)
    real_a, real_b = real_feats[perm[:half]], real_feats[perm[half:2 * half]]
    fake_sub = fake_feats[torch.randperm(len(fake_feats), generator=g)[:half]]
    return {
        "class_accuracy": (fake_logits.argmax(1) == labels).float().mean().item(),
        "inception_score": inception_score((fake_logits / temperature).softmax(1)),
        "inception_score_real_test": inception_score((real_logits / temperature).softmax(1)),
        "inception_score_uncalibrated": inception_score(fake_logits.softmax(1)),
        "inception_score_real_test_uncalibrated": inception_score(real_logits.softmax(1)),
        "judge_temperature": temperature,
        "fid_cnn_features": frechet_distance(fake_sub, real_a),
        "fid_cnn_features_real_halves": frechet_distance(real_b, real_a),
        "samples": len(labels),
    }
