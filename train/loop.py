"""The training loop shared by every model: resumable, deterministic, checkpointed atomically.

Resumability: every ``checkpoint_every`` steps (and at each epoch end) the model, optimiser
states and step counter go into ``resume.safetensors`` (one file, written atomically). The
batch order of an epoch comes from ``seed + epoch`` and every step reseeds the RNG from
``seed`` and the step number, so a resumed run continues exactly where the killed one was:
same batches, same augmentations, same dropout masks, same final weights on CPU.

Under torchrun (``digitzoo train NAME --nproc-per-node N``) the same loop runs in every
process: ``train.distributed`` says which share of each global batch a rank trains on and
wraps the model in DistributedDataParallel; rank 0 alone logs, evaluates and writes files.
The resume state holds nothing per-rank, so a run resumes at any world size.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from digitzoo.hub import __version__
from digitzoo.hub.serving import paths
from digitzoo.hub.checkpoint import CARD_FILE, WEIGHTS_FILE, load_tensors, remove_partial_writes, save_checkpoint, save_tensors
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.registry import Recipe, get_spec
from digitzoo.train import distributed
from digitzoo.train.augment import AUGMENTATIONS
from digitzoo.hub.mnist import load_mnist, to_float
from digitzoo.train.evaluate import evaluate
from digitzoo.train.tasks import TASK_TYPES

RESUME_FILE = "resume.safetensors"


@dataclass
class TrainConfig:
    """Every field is a CLI flag of ``digitzoo train`` with the same name; None = from the recipe."""

    name: str
    recipe: str = "default"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    augment: str | None = None
    device: str = "auto"
    seed: int = 0
    threads: int | None = None
    data_dir: str | None = None
    out_dir: str | None = None
    checkpoint_every: int = 200
    resume: bool = False
    fresh: bool = False
    dry_run: bool = False
    limit_train: int | None = None
    limit_test: int | None = None
    sketch_eval: int = 10000
    stop_after: int | None = None  # stop as if killed after this many steps (tests, benchmarks)


class Interrupted(Exception):
    """Raised when ``stop_after`` is reached: the run is left exactly as a killed one."""


def resolve_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise DigitzooError("--device cuda was asked for but no CUDA GPU is usable here; use --device cpu or auto")
    if choice not in ("cpu", "cuda"):
        raise DigitzooError(f"--device must be auto, cpu or cuda, not {choice!r}")
    return torch.device(choice)


def resolved_recipe(config: TrainConfig) -> dict[str, Any]:
    spec = get_spec(config.name)
    recipe = dataclasses.asdict(spec.recipe(config.recipe))
    for key in ("epochs", "batch_size", "lr", "weight_decay", "augment"):
        if getattr(config, key) is not None:
            recipe[key] = getattr(config, key)
    if recipe["augment"] not in AUGMENTATIONS:
        raise DigitzooError(f"--augment must be one of {', '.join(AUGMENTATIONS)}")
    if recipe["epochs"] < 1 or recipe["batch_size"] < 1 or recipe["lr"] <= 0:
        raise DigitzooError("--epochs and --batch-size must be >= 1 and --lr > 0")
    return recipe


def output_dir(config: TrainConfig) -> Path:
    if config.out_dir:
        return Path(config.out_dir).expanduser().resolve()
    # A dry run must never overwrite a real checkpoint.
    return paths.store_dir() / "dry-run" / config.name if config.dry_run else paths.checkpoint_dir(config.name)


def _fingerprint(config: TrainConfig, recipe: dict) -> str:
    """What must match for --resume to be allowed (not device, threads or stop flags)."""
    keep = {k: getattr(config, k) for k in ("name", "recipe", "seed", "limit_train", "dry_run")}
    return json.dumps({**keep, **recipe}, sort_keys=True)


def _optimizer_tensors(optimizers: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, plain = {}, {}
    for name, opt in optimizers.items():
        state = opt.state_dict()
        plain[name] = {"param_groups": state["param_groups"], "state": {}}
        for idx, values in state["state"].items():
            for key, value in values.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{name}.{idx}.{key}"] = value
                else:
                    plain[name]["state"].setdefault(str(idx), {})[key] = value
    return tensors, plain


def _restore_optimizers(optimizers: dict, tensors: dict, plain: dict) -> None:
    for name, opt in optimizers.items():
        state: dict[int, dict] = {}
        for idx, values in plain[name]["state"].items():
            state.setdefault(int(idx), {}).update(values)
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                idx, field = key[len(prefix):].split(".", 1)
                state.setdefault(int(idx), {})[field] = value
        opt.load_state_dict({"state": state, "param_groups": plain[name]["param_groups"]})


def train(config: TrainConfig, log=print) -> dict[str, Any] | None:
    """Train ``config.name`` and write its checkpoint; returns the card. See TrainConfig.

    Under torchrun every rank calls this; rank 0 returns the card, the others None.
    """
    rank = distributed.join(config.device)  # None without torchrun: the single-process path
    try:
        return _train(config, log, rank)
    finally:
        if rank is not None:
            rank.close()


def _train(config: TrainConfig, log, rank: distributed.Rank | None) -> dict[str, Any] | None:
    spec = get_spec(config.name)
    recipe = resolved_recipe(config)
    device = rank.device if rank else resolve_device(config.device)
    main = rank is None or rank.is_main
    if not main:
        log = _silent  # one log and one progress bar per run, rank 0's
    if config.threads:
        torch.set_num_threads(config.threads)
    if rank:
        rank.gather_devices(distributed.host_label(device, torch.get_num_threads()))
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    out = output_dir(config)
    resume_path = out / RESUME_FILE
    where = {"device": str(device)}
    if rank:
        where["distributed"] = rank.card()
    log(f"config: {json.dumps({**dataclasses.asdict(config), 'resolved_recipe': recipe, **where})}")

    torch.manual_seed(config.seed)
    model_kwargs = {**spec.kwargs, **recipe["model_kwargs"]}
    model = spec.build(**recipe["model_kwargs"]).to(device)
    task = TASK_TYPES[spec.task](spec, model, Recipe(**recipe), device)
    augment = AUGMENTATIONS[recipe["augment"]]

    images, labels = load_mnist(train=True, data_dir=config.data_dir)
    if config.limit_train:
        images, labels = images[: config.limit_train], labels[: config.limit_train]
    small = bool(config.dry_run or (config.limit_train and config.limit_train <= 5000))  # a dry or test-sized run
    images, labels = task.training_set(images, labels, config.data_dir, small)
    batch = min(recipe["batch_size"], len(images))
    steps_per_epoch = len(images) // batch  # drop the ragged last batch: BatchNorm dislikes tiny ones
    total = 2 if config.dry_run else recipe["epochs"] * steps_per_epoch
    if rank:
        distributed.check_global_batch(batch, rank.world_size)

    start, elapsed = 0, 0.0
    fingerprint = _fingerprint(config, recipe)
    if resume_path.is_file() and not (config.resume or config.fresh):
        raise DigitzooError(
            f"{resume_path} holds an unfinished run of {config.name}; "
            "pass --resume to continue it or --fresh to start over"
        )
    if config.resume:
        if not resume_path.is_file():
            raise DigitzooError(f"--resume: no unfinished run of {config.name} in {out}")
        tensors, meta = load_tensors(resume_path)
        state = json.loads(meta["state"])
        if state["fingerprint"] != fingerprint:
            raise DigitzooError(
                f"--resume: {resume_path} was started with other settings ({state['fingerprint']}); "
                "use the same flags, or --fresh to start over"
            )
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        _restore_optimizers(task.optimizers, tensors, state["optimizers"])
        start, elapsed = state["step"], state["elapsed_s"]
        log(f"resumed {config.name} from step {start}/{total} ({resume_path})")
    if main:  # other ranks never touch the folder (rank 0 may be writing in it)
        removed = remove_partial_writes(out, (RESUME_FILE, WEIGHTS_FILE, CARD_FILE))
        if removed:
            log(f"removed {len(removed)} partial file(s) that a killed run left in {out}: {', '.join(removed)}")
    if rank:
        # After the resume state is loaded: DDP copies rank 0's weights to every rank here
        # (all ranks loaded the same file, so this changes nothing but would mend a mismatch).
        task.distribute(rank.wrap)

    def save_resume(step: int, spent: float) -> None:
        if not main:
            return  # rank 0 writes; the states are equal on every rank (same averaged gradients)
        opt_tensors, opt_plain = _optimizer_tensors(task.optimizers)
        tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()}, **opt_tensors}
        state = {"step": step, "total": total, "elapsed_s": spent, "fingerprint": fingerprint, "optimizers": opt_plain}
        save_tensors(resume_path, tensors, metadata={"state": json.dumps(state)})

    began = time.perf_counter()
    order: torch.Tensor | None = None
    order_epoch = -1
    bar = tqdm(total=total, initial=start, desc=config.name, unit="step", mininterval=1.0, file=sys.stderr,
               disable=not main)
    for step in range(start, total):
        epoch, index = divmod(step, steps_per_epoch)
        if epoch != order_epoch:  # the batch order of an epoch depends only on (seed, epoch)
            # seed * a prime + epoch: one generator seed per (seed, epoch) below 7919 epochs, recomputed the same on --resume.
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(config.seed * 7919 + epoch))
            order_epoch = epoch
        # Likewise one seed per (seed, step) below 1,000,003 steps: a resumed step draws what the killed run would have.
        step_seed = config.seed * 1_000_003 + step
        torch.manual_seed(rank.step_seed(step_seed) if rank else step_seed)  # augmentation and dropout of this step
        idx = order[index * batch:(index + 1) * batch]
        if rank:
            idx = rank.shard(idx)  # the global batch is the same at any world size
        x = augment(to_float(images[idx])).to(device)
        y = labels[idx].to(device)
        for opt in task.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = task.lr_at(step, total, recipe["lr"])
        logs = task.train_step(x, y)
        bar.update(1)
        bar.set_postfix({"epoch": epoch + 1, **{k: f"{v:.4f}" for k, v in logs.items()}}, refresh=False)
        done = step + 1
        if done < total and (done % config.checkpoint_every == 0 or done % steps_per_epoch == 0):
            save_resume(done, elapsed + time.perf_counter() - began)
        if config.stop_after is not None and done >= config.stop_after and done < total:
            save_resume(done, elapsed + time.perf_counter() - began)
            bar.close()
            raise Interrupted(f"stopped after step {done} of {total}")
    bar.close()
    wall = elapsed + time.perf_counter() - began
    if not main:
        return None  # evaluation and the checkpoint are rank 0's

    task.finish(config.data_dir, small, log=log)
    limit_test = config.limit_test or (500 if config.dry_run else None)
    sketch_eval = min(config.sketch_eval, 100) if config.dry_run else config.sketch_eval
    results = evaluate(spec, model, device, config.data_dir, limit_test, sketch_eval)
    log(f"metrics: {json.dumps(results)}")

    card = {
        "name": config.name,
        "kwargs": model_kwargs,
        "recipe": recipe,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("stop_after",)},
        "metrics": results,
        "seed": config.seed,
        "steps": total,
        "wall_time_s": round(wall, 1),
        "device": _device_label(device),
        "command": _command(config, rank),
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if rank:  # absent from single-process cards, which stay as they were
        card["distributed"] = rank.card()
    card = save_checkpoint(out, model.cpu(), card)
    resume_path.unlink(missing_ok=True)  # the run is complete: nothing left to resume
    log(f"checkpoint: {out} (sha256 {card['weights_sha256'][:12]}, {wall:.0f} s on {card['device']})")
    return card


def _silent(msg: str) -> None:
    pass


def _command(config: TrainConfig, rank: distributed.Rank | None = None) -> str:
    """The `digitzoo train` command line that repeats this run."""
    flags = [config.name]
    for field in dataclasses.fields(config)[1:]:
        value = getattr(config, field.name)
        if value != field.default and field.name not in ("resume", "fresh", "stop_after", "data_dir", "out_dir"):
            flag = "--" + field.name.replace("_", "-")
            flags.append(flag if value is True else f"{flag} {value}")
    if rank:
        flags.append(f"--nproc-per-node {rank.local_world_size}")
        if rank.world_size != rank.local_world_size:
            flags.append(f"--nnodes {rank.world_size // rank.local_world_size} --rdzv-endpoint HOST:PORT")
    return "digitzoo train " + " ".join(flags)


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"


def _versions() -> dict[str, str]:
    import torchvision

    return {"digitzoo": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version()}
