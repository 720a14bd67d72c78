"""Shared by the reliability checks: the small training configuration, child processes, hashes.

Every training run here is a real ``python -m digitzoo.cli train`` child process on CPU (``--threads``
pinned), in its own ``DIGITZOO_HOME`` (so the checkpoint lands where ``digitzoo train`` puts it
and ``find_checkpoint`` looks for it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from digitzoo.hub.registry import get_spec, list_models

REPO = Path(__file__).resolve().parents[2]


def add_config_args(parser: argparse.ArgumentParser, *, limit_train: int, epochs: int, checkpoint_every: int,
                    threads: int = 1) -> None:
    """The training flags the checks pass to `digitzoo train` (small, but several resumable states)."""
    group = parser.add_argument_group("training configuration (flags of `digitzoo train`)")
    classifiers = [name for name in list_models() if get_spec(name).task == "classifier"]
    group.add_argument("--model", default=classifiers[0], choices=list_models())
    group.add_argument("--seed", type=int, default=0, help="training seed (also seeds the kill schedule)")
    group.add_argument("--limit-train", type=int, default=limit_train)
    group.add_argument("--epochs", type=int, default=epochs)
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--checkpoint-every", type=int, default=checkpoint_every)
    group.add_argument("--limit-test", type=int, default=100)
    group.add_argument("--threads", type=int, default=threads, help="torch CPU threads of each training process")


def train_flags(args: argparse.Namespace, seed: int | None = None) -> list[str]:
    return [
        args.model, "--device", "cpu", "--threads", str(args.threads), "--seed", str(args.seed if seed is None else seed),
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--limit-train", str(args.limit_train),
        "--checkpoint-every", str(args.checkpoint_every), "--limit-test", str(args.limit_test), "--sketch-eval", "0",
    ]


def train_command(flags: list[str]) -> list[str]:
    return [sys.executable, "-m", "digitzoo.cli", "train", *flags]


def child_env(store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DIGITZOO_HOME=str(store))
    return env


def run_to_completion(cmd: list[str], store: Path, log: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=REPO, env=child_env(store), stdout=out, stderr=subprocess.STDOUT, timeout=timeout)


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def tensors_sha256(tensors: dict, extra: str = "") -> str:
    """sha256 over names, dtypes, shapes and raw bytes of the tensors (order-independent), plus ``extra``."""
    import torch

    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    digest.update(extra.encode())
    return digest.hexdigest()


def resume_state_sha256(tensors: dict, meta: dict) -> tuple[int, str]:
    """(step, hash) of a resume state: model + optimiser tensors and the state minus its wall clock."""
    state = json.loads(meta["state"])
    state.pop("elapsed_s", None)
    return state["step"], tensors_sha256(tensors, json.dumps(state, sort_keys=True))


def checkpoint_digest(name: str, folder: Path) -> dict:
    """Load a checkpoint the way the project does (card sha256 checked) and hash what is in it."""
    from digitzoo.hub.checkpoint import WEIGHTS_FILE, load_checkpoint, load_tensors
    from digitzoo.hub.serving.files import sha256_file

    _, card = load_checkpoint(name, folder)  # raises CheckpointError unless card + weights agree
    tensors, _ = load_tensors(folder / WEIGHTS_FILE)
    return {"card_sha256": card["weights_sha256"], "file_sha256": sha256_file(folder / WEIGHTS_FILE),
            "tensors_sha256": tensors_sha256(tensors), "steps": card["steps"]}


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
