"""Checkpoints that describe themselves: safetensors weights + a JSON card (nanoGPT style).

A checkpoint folder holds ``model.safetensors`` and ``card.json``. The card names the model,
its constructor arguments, recipe, metrics, seed, versions and the sha256 of the weights, so
the model can be rebuilt from the card alone and a half-written or swapped file is refused.

Every write goes to a temporary file in the same folder, is fsync'ed, then ``os.replace``d:
a killed process leaves either the old file or the new one, never a partial one. The card is
written last, so a checkpoint without a matching card is not a checkpoint.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import CheckpointError
from digitzoo.hub.serving.files import atomic_write, atomic_write_partials, atomic_write_text, inside, read_format_json, sha256_file

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "card.json"
CARD_FORMAT = "digitzoo-checkpoint/1"


def save_tensors(path: str | os.PathLike, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """Atomically write a safetensors file (tensors made contiguous, shared storage split)."""
    from safetensors.torch import save_file

    clean = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(clean, tmp, metadata=metadata))


def remove_partial_writes(folder: str | os.PathLike, names: tuple[str, ...]) -> list[str]:
    """Delete what a save killed half-way leaves in ``folder``: ``atomic_write``'s temporaries of
    ``names`` and the ``.tmpXXXXXX`` that safetensors writes before renaming it. Nothing reads
    them (the real files are only ever replaced whole), but nothing else removes them either."""
    folder = Path(folder)
    partial = atomic_write_partials(folder, names)
    if folder.is_dir():
        partial += [p for p in folder.iterdir() if re.fullmatch(r"\.tmp[A-Za-z0-9]{6}", p.name)]
    for path in partial:
        path.unlink(missing_ok=True)
    return sorted(p.name for p in partial)


def load_tensors(path: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    """Read a safetensors file and its metadata; a clear CheckpointError when it is not one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a valid safetensors file ({exc})") from None


def save_checkpoint(folder: str | os.PathLike, model, card: dict[str, Any]) -> dict[str, Any]:
    """Write weights then card into ``folder``; returns the card with the weights' sha256.

    >>> import shutil, tempfile, torch
    >>> folder = Path(tempfile.mkdtemp())
    >>> card = save_checkpoint(folder, torch.nn.Linear(2, 1), {"name": "demo", "kwargs": {}})
    >>> sorted(p.name for p in folder.iterdir()), card["weights_sha256"] == sha256_file(folder / WEIGHTS_FILE)
    (['card.json', 'model.safetensors'], True)
    >>> shutil.rmtree(folder)
    """
    folder = Path(folder)
    weights = folder / WEIGHTS_FILE
    # One metadata key only: safetensors stores metadata in a hash map, so with several keys
    # their order (and the file's sha256) would change from one save to the next.
    save_tensors(weights, model.state_dict(), metadata={"digitzoo": json.dumps({"name": card["name"], "format": CARD_FORMAT})})
    card = {
        **card,
        "format": CARD_FORMAT,
        "weights": WEIGHTS_FILE,
        "weights_sha256": sha256_file(weights),
        "weights_bytes": weights.stat().st_size,
    }
    atomic_write_text(folder / CARD_FILE, json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def find_checkpoint(name: str) -> Path:
    """The folder holding ``name``'s checkpoint: the one you trained, else the shipped one.

    >>> find_checkpoint("mnist_cnn").name
    'mnist_cnn'
    """
    for folder in (paths.checkpoint_dir(name), paths.pretrained_dir(name)):
        if (folder / CARD_FILE).is_file():
            return folder
    raise CheckpointError(
        f"no checkpoint for {name}: train one with `digitzoo train {name}` "
        f"(looked in {paths.checkpoint_dir(name)} and the shipped models)"
    )


def read_card(folder: str | os.PathLike) -> dict[str, Any]:
    path = Path(folder) / CARD_FILE
    return read_format_json(path, CARD_FORMAT, "checkpoint card", CheckpointError, f"{path} does not exist")


def load_checkpoint(name: str, folder: str | os.PathLike | None = None, device: str = "cpu"):
    """Rebuild ``name`` from its card and verified weights; returns ``(model, card)`` in eval mode.

    >>> model, card = load_checkpoint("mnist_cnn")
    >>> card["metrics"]["test_accuracy"] >= 0.995
    True
    """
    from digitzoo.hub.registry import get_spec

    folder = Path(folder) if folder is not None else find_checkpoint(name)
    card = read_card(folder)
    if card.get("name") != name:
        raise CheckpointError(f"{folder} holds {card.get('name')!r}, not {name!r}")
    try:  # the card names its weights file: it must be in the checkpoint's folder, not "/etc/passwd"
        weights = inside(folder, str(card.get("weights", WEIGHTS_FILE)))
    except ValueError as exc:
        raise CheckpointError(f"{folder / CARD_FILE} refused: its weights file {exc}") from None
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing")
    if sha256_file(weights) != card.get("weights_sha256"):
        raise CheckpointError(f"{weights} does not match the sha256 in its card: refusing to load it")
    state, _ = load_tensors(weights)
    kwargs = card.get("kwargs")
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{folder / CARD_FILE} has no constructor arguments (\"kwargs\") for {name}")
    try:
        model = get_spec(name).build(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / CARD_FILE}: {name} cannot be built from its arguments ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights} does not fit {name} built from its card: {exc}") from None
    return model.to(device).eval(), card
