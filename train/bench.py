"""`digitzoo bench fast-cnn`: the fast CNN recipe against the classic tutorial recipe.

Both train on the same in-memory MNIST in one process with pinned threads, one after the
other, and are scored on the 10,000 test images. Figures are medians over ``--repeats``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from dataclasses import dataclass

import torch

from digitzoo.train.baselines import train_tutorial
from digitzoo.hub.benchmarking import Machine, Result
from digitzoo.hub.mnist import load_mnist
from digitzoo.train.loop import TrainConfig, train
from digitzoo.train.metrics import classifier_metrics


FAST_RECIPE = "fast"


def fast_recipe_model() -> str:
    """The zoo's lead classifier among those with a recipe named "fast": the lowest demo order (mnist_cnn).

    Several model files now offer a "fast" recipe; the benchmark compares the first of the draw tab,
    not whichever name sorts first.
    """
    from digitzoo.hub.registry import get_spec, list_models

    specs = [get_spec(name) for name in list_models()]
    fast = [s for s in specs if FAST_RECIPE in s.recipes]
    return min(fast, key=lambda s: (s.demo.order if s.demo else float("inf"), s.name)).name


def fast_recipe_label() -> str:
    return f"digitzoo {fast_recipe_model()} --recipe {FAST_RECIPE}"


def _train_fast_recipe(seed: int, threads: int, data_dir) -> dict:
    """`digitzoo train <model> --recipe fast` into a throw-away folder; its card (time, accuracy)."""
    name = fast_recipe_model()
    with tempfile.TemporaryDirectory() as tmp:
        return train(TrainConfig(name=name, recipe=FAST_RECIPE, seed=seed, threads=threads, data_dir=data_dir,
                                 out_dir=os.path.join(tmp, name), sketch_eval=0, checkpoint_every=10**9),
                     log=lambda msg: None)


@dataclass
class FastCnnResult(Result):
    """`digitzoo bench fast-cnn`. JSON: one key per recipe (its medians and runs), the speed-up, the machine."""

    recipes: dict[str, dict]
    speedup_fast_vs_tutorial: float
    machine: Machine

    def to_json(self) -> dict:
        return {**self.recipes, "speedup_fast_vs_tutorial": self.speedup_fast_vs_tutorial, "machine": self.machine.to_json()}


def report_fast_cnn(result: FastCnnResult) -> str:
    lines = [f"{'recipe':52s} {'train s (median)':>16s} {'test acc (median)':>18s} {'min':>7s}"]
    for name, row in result.recipes.items():
        lines.append(f"{name:52s} {row['train_seconds_median']:16.1f} {row['test_accuracy_median']:18.4f} "
                     f"{row['test_accuracy_min']:7.4f}")
    lines.append(f"speed-up of the fast recipe: {result.speedup_fast_vs_tutorial:.2f}x; machine: {result.machine}")
    return "\n".join(lines)


def fast_cnn(threads: int = 2, repeats: int = 3, data_dir=None, log=print) -> FastCnnResult:
    torch.set_num_threads(threads)
    images, labels = load_mnist(train=True, data_dir=data_dir)
    test_images, test_labels = load_mnist(train=False, data_dir=data_dir)
    fast = fast_recipe_label()
    rows: dict[str, list[tuple[float, float]]] = {"tutorial (2-conv, Adam 1e-3, batch 50, 1 epoch)": [], fast: []}
    for seed in range(repeats):
        model, seconds = train_tutorial(images, labels, seed=seed)
        acc = classifier_metrics(model, test_images, test_labels, None, "cpu")["test_accuracy"]
        rows["tutorial (2-conv, Adam 1e-3, batch 50, 1 epoch)"].append((seconds, acc))
        card = _train_fast_recipe(seed, threads, data_dir)
        rows[fast].append((card["wall_time_s"], card["metrics"]["test_accuracy"]))
        log(f"repeat {seed + 1}/{repeats}: " + ", ".join(f"{k.split(' ')[0]} {v[-1][0]:.1f}s {v[-1][1]:.4f}" for k, v in rows.items()))
    summary = {name: {"train_seconds_median": statistics.median(s for s, _ in runs),
                      "test_accuracy_median": statistics.median(a for _, a in runs),
                      "test_accuracy_min": min(a for _, a in runs), "runs": runs}
               for name, runs in rows.items()}
    tutorial, fast = summary.values()
    return FastCnnResult(summary, tutorial["train_seconds_median"] / fast["train_seconds_median"], Machine.now(threads))


def time_to_accuracy(threads: int = 2, target: float = 0.99, max_tutorial_epochs: int = 6, seed: int = 0,
                     data_dir=None, log=print) -> dict:
    """Training seconds until the test accuracy first reaches ``target``: fast recipe vs tutorial.

    The tutorial recipe is trained epoch by epoch and scored after each one (scoring is not
    counted); the fast recipe is one OneCycle epoch, so it is scored once, at its end. Both run
    in this process, one after the other, with the same pinned threads.
    """
    torch.set_num_threads(threads)
    images, labels = load_mnist(train=True, data_dir=data_dir)
    test_images, test_labels = load_mnist(train=False, data_dir=data_dir)
    tutorial = {"epochs": [], "reached_after_s": None}

    def score(epoch, model, spent):
        acc = classifier_metrics(model, test_images, test_labels, None, "cpu")["test_accuracy"]
        tutorial["epochs"].append({"epoch": epoch, "train_seconds": round(spent, 2), "test_accuracy": acc})
        log(f"tutorial epoch {epoch}: {spent:.1f} s, accuracy {acc:.4f}")
        if acc >= target:
            tutorial["reached_after_s"] = spent
        return acc >= target

    train_tutorial(images, labels, epochs=max_tutorial_epochs, seed=seed, after_epoch=score)
    card = _train_fast_recipe(seed, threads, data_dir)
    fast_acc = card["metrics"]["test_accuracy"]
    fast = {"label": fast_recipe_label(), "train_seconds": card["wall_time_s"], "test_accuracy": fast_acc,
            "reached_after_s": card["wall_time_s"] if fast_acc >= target else None}
    log(f"fast recipe: {card['wall_time_s']:.1f} s, accuracy {fast_acc:.4f}")
    ratio = (tutorial["reached_after_s"] / fast["reached_after_s"]
             if tutorial["reached_after_s"] and fast["reached_after_s"] else None)
    return {"target": target, "tutorial": tutorial, "fast": fast, "tutorial_over_fast": ratio,
            "threads": threads}


def training_throughput(threads: int = 2, steps: int = 20, warmup: int = 3, device: str = "cpu",
                        data_dir=None) -> dict[str, dict]:
    """Images per second of each model's real training step (its recipe's batch and augmentation)."""
    import time

    from digitzoo.hub.registry import Recipe, get_spec, list_models
    from digitzoo.train.augment import AUGMENTATIONS
    from digitzoo.hub.mnist import to_float
    from digitzoo.train.loop import resolved_recipe
    from digitzoo.train.tasks import TASK_TYPES

    torch.set_num_threads(threads)
    images, labels = load_mnist(train=True, data_dir=data_dir)
    rows = {}
    for name in list_models():
        spec = get_spec(name)
        recipe = resolved_recipe(TrainConfig(name=name))
        torch.manual_seed(0)
        model = spec.build(**recipe["model_kwargs"]).to(device)
        task = TASK_TYPES[spec.task](spec, model, Recipe(**recipe), torch.device(device))
        augment = AUGMENTATIONS[recipe["augment"]]
        batch = recipe["batch_size"]
        classes = len(spec.labels) or 10  # the detector has two: any valid targets time a step the same
        times = []
        for step in range(warmup + steps):
            idx = torch.randint(0, len(images), (batch,))
            began = time.perf_counter()
            x = augment(to_float(images[idx])).to(device)
            task.train_step(x, (labels[idx] % classes).to(device))
            if device == "cuda":
                torch.cuda.synchronize()
            if step >= warmup:
                times.append(time.perf_counter() - began)
        median = statistics.median(times)
        rows[name] = {"batch": batch, "augment": recipe["augment"], "step_ms_median": median * 1000,
                      "images_per_s": batch / median, "device": device, "threads": threads}
    return rows


@dataclass
class ScalingResult(Result):
    """`digitzoo bench train-scaling`. JSON: model, recipe, worlds (per world size), the ratios to the first
    world size as ``speedup_vs_world_size_<first>``, steps, and the machine (threads: per rank)."""

    model: str
    recipe: str
    worlds: dict[str, dict]
    speedup: dict[str, float]
    steps: int
    machine: Machine

    def to_json(self) -> dict:
        return {"model": self.model, "recipe": self.recipe, "worlds": self.worlds,
                f"speedup_vs_world_size_{next(iter(self.worlds))}": self.speedup, "steps": self.steps,
                "machine": self.machine.to_json()}


def report_train_scaling(result: ScalingResult) -> str:
    base = next(iter(result.worlds))
    lines = [f"{result.model} --recipe {result.recipe}: global batch {result.worlds[base]['global_batch']}, "
             f"{result.steps} timed steps, gloo, {result.machine.threads} thread(s) per rank",
             f"{'world size':>10s} {'images/s':>9s} {'step ms (median)':>17s} {'vs ' + base:>7s}"]
    for world, row in result.worlds.items():
        lines.append(f"{world:>10s} {row['images_per_s']:9.0f} {row['step_ms_median']:17.1f} {result.speedup[world]:6.2f}x")
    lines.append(f"machine: {result.machine.cpus} cores, load average {' '.join(f'{x:.2f}' for x in result.machine.loadavg)}")
    return "\n".join(lines)


def train_scaling(model: str | None = None, recipe: str = "default", worlds: tuple[int, ...] = (1, 2), steps: int = 30,
                  warmup: int = 5, threads: int = 1, data_dir=None, log=print) -> ScalingResult:
    """Images/s of real training steps at each world size: torchrun, gloo, ``threads`` per rank.

    Every world size runs as its own `torchrun --standalone` (``train.scaling`` in each rank),
    one after the other; world size 1 goes through torchrun and DDP too, so the ratio is the
    cost and gain of more processes, not of DDP itself. Default model: the first classifier.
    """
    import json
    import subprocess
    import sys

    from digitzoo.hub.serving.errors import DigitzooError
    from digitzoo.hub.registry import get_spec, list_models

    name = model or next(n for n in list_models() if get_spec(n).task == "classifier")
    get_spec(name)  # unknown model: one line, before any process starts
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for world in worlds:
            out = os.path.join(tmp, f"w{world}.json")
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(world),
                   "--max-restarts", "0", "-m", "digitzoo.train.scaling", name, "--recipe", recipe, "--steps", str(steps),
                   "--warmup", str(warmup), "--threads", str(threads), "--out", out]
            if data_dir:
                cmd += ["--data-dir", str(data_dir)]
            load_before = os.getloadavg()[0]
            done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
            if done.returncode != 0 or not os.path.exists(out):
                raise DigitzooError(f"train-scaling at world size {world} failed: {done.stderr.strip()[-500:]}")
            with open(out) as f:
                rows[str(world)] = {**json.load(f), "loadavg_1m_before": load_before}
            log(f"world size {world}: {rows[str(world)]['images_per_s']:.0f} images/s")
    base = rows[str(worlds[0])]["images_per_s"]
    return ScalingResult(name, recipe, rows, {w: r["images_per_s"] / base for w, r in rows.items()}, steps,
                         Machine.now(threads))
