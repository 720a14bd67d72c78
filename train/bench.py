"""`digitzoo bench fast-cnn`: the fast CNN recipe against the classic tutorial recipe.

Both train on the same in-memory MNIST in one process with pinned threads, one after the
other, and are scored on the 10,000 test images. Figures are medians over ``--repeats``.
"""

from __future__ import annotations

import os
import statistics
import tempfile

import torch

from train.baselines import train_tutorial
from train.data import load_mnist
from train.loop import TrainConfig, train
from train.metrics import classifier_metrics


def fast_cnn(threads: int = 2, repeats: int = 3, data_dir=None, log=print) -> dict:
    torch.set_num_threads(threads)
    images, labels = load_mnist(train=True, data_dir=data_dir)
    test_images, test_labels = load_mnist(train=False, data_dir=data_dir)
    rows: dict[str, list[tuple[float, float]]] = {"tutorial (2-conv, Adam 1e-3, batch 50, 1 epoch)": [],
                                                  "digitzoo mnist_cnn --recipe fast": []}
    for seed in range(repeats):
        model, seconds = train_tutorial(images, labels, seed=seed)
        acc = classifier_metrics(model, test_images, test_labels, None, "cpu")["test_accuracy"]
        rows["tutorial (2-conv, Adam 1e-3, batch 50, 1 epoch)"].append((seconds, acc))
        with tempfile.TemporaryDirectory() as tmp:
            card = train(TrainConfig(name="mnist_cnn", recipe="fast", seed=seed, threads=threads,
                                     data_dir=data_dir, out_dir=os.path.join(tmp, "mnist_cnn"), sketch_eval=0,
                                     checkpoint_every=10**9), log=lambda msg: None)
        rows["digitzoo mnist_cnn --recipe fast"].append((card["wall_time_s"], card["metrics"]["test_accuracy"]))
        log(f"repeat {seed + 1}/{repeats}: " + ", ".join(f"{k.split(' ')[0]} {v[-1][0]:.1f}s {v[-1][1]:.4f}" for k, v in rows.items()))
    summary = {name: {"train_seconds_median": statistics.median(s for s, _ in runs),
                      "test_accuracy_median": statistics.median(a for _, a in runs),
                      "test_accuracy_min": min(a for _, a in runs), "runs": runs}
               for name, runs in rows.items()}
    tutorial, fast = summary.values()
    summary["speedup_fast_vs_tutorial"] = tutorial["train_seconds_median"] / fast["train_seconds_median"]
    summary["machine"] = {"threads": threads, "cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]}
    return summary
