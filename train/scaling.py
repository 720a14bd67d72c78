"""One rank of `digitzoo bench train-scaling`: timed real training steps under torchrun.

    torchrun --standalone --nproc-per-node 2 -m digitzoo.train.scaling MODEL --out result.json

Each rank builds the model and task as `digitzoo train` does, wraps them in DDP through
``train.distributed`` and trains on its share of each global batch (the recipe's batch size,
augmentation included). The clock runs on rank 0 from a barrier after the warm-up steps to a
barrier after the last step, so it covers every rank's work and the gradient all-reduces;
images/s counts global-batch images. Rank 0 writes the figures as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def run_rank(name: str, recipe_name: str, steps: int, warmup: int, threads: int, out: str | None, data_dir=None) -> dict:
    import torch
    import torch.distributed as dist

    from digitzoo.hub.serving.errors import DigitzooError
    from digitzoo.hub.mnist import load_mnist, to_float
    from digitzoo.hub.registry import Recipe, get_spec
    from digitzoo.train import distributed
    from digitzoo.train.augment import AUGMENTATIONS
    from digitzoo.train.loop import TrainConfig, resolved_recipe
    from digitzoo.train.tasks import TASK_TYPES

    rank = distributed.join("cpu")
    if rank is None:
        raise DigitzooError("digitzoo.train.scaling runs under torchrun (see `digitzoo bench train-scaling`)")
    torch.set_num_threads(threads)
    spec = get_spec(name)
    recipe = resolved_recipe(TrainConfig(name=name, recipe=recipe_name))
    batch = recipe["batch_size"]
    distributed.check_global_batch(batch, rank.world_size)
    torch.manual_seed(0)
    model = spec.build(**recipe["model_kwargs"])
    task = TASK_TYPES[spec.task](spec, model, Recipe(**recipe), rank.device)
    task.distribute(rank.wrap)
    augment = AUGMENTATIONS[recipe["augment"]]
    images, labels = load_mnist(train=True, data_dir=data_dir)
    step_s, began = [], 0.0
    for step in range(warmup + steps):
        if step == warmup:
            dist.barrier()
            began = time.perf_counter()
        # The same global batch on every rank (same generator), each rank trains on its share.
        idx = rank.shard(torch.randint(0, len(images), (batch,), generator=torch.Generator().manual_seed(step)))
        torch.manual_seed(rank.step_seed(step))
        t0 = time.perf_counter()
        task.train_step(augment(to_float(images[idx])), labels[idx])
        if step >= warmup:
            step_s.append(time.perf_counter() - t0)
    dist.barrier()
    wall = time.perf_counter() - began
    result = {"world_size": rank.world_size, "backend": rank.backend, "threads_per_rank": threads, "model": name,
              "recipe": recipe_name, "global_batch": batch, "augment": recipe["augment"], "steps": steps,
              "wall_s": wall, "images_per_s": batch * steps / wall, "step_ms_median": 1000 * statistics.median(step_s)}
    rank.close()
    if rank.is_main and out:
        with open(out, "w") as f:
            json.dump(result, f)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    a = parser.parse_args()
    run_rank(a.model, a.recipe, a.steps, a.warmup, a.threads, a.out, a.data_dir)
