"""The manifest of exported files: what exists, its checksum, and how to call it.

``exports/manifest.json`` lists per model its metrics and artifacts (part, format, file,
sha256, bytes, exporter, inputs/outputs with shapes, dtypes and value ranges). Files are
only ever opened through ``verified_path``, which refuses anything outside the exports
folder and anything whose sha256 differs from the manifest. Stdlib only: no torch here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import atomic_write_text, inside, read_format_json, sha256_file

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "digitzoo-manifest/1"


def exports_root() -> Path:
    """The exports you made (``$DIGITZOO_HOME/exports``) if any, else the shipped ones.

    >>> (exports_root() / MANIFEST_FILE).is_file()
    True
    """
    mine = paths.exports_dir()
    return mine if (mine / MANIFEST_FILE).is_file() else paths.pretrained_exports_dir()


def empty_manifest() -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "models": {}}


def read_manifest(root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest in ``root`` (default ``exports_root()``); clear errors when absent or broken."""
    path = Path(root or exports_root()) / MANIFEST_FILE
    return read_format_json(path, MANIFEST_FORMAT, "manifest", DigitzooError,
                            f"no exported models in {path.parent}: run `digitzoo export all`")


def write_manifest(root: str | os.PathLike, manifest: dict[str, Any]) -> None:
    atomic_write_text(Path(root) / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def artifact(manifest: dict[str, Any], model: str, part: str, fmt: str) -> dict[str, Any]:
    """The manifest entry of one exported file.

    >>> artifact(read_manifest(), "mnist_cnn", "model", "onnx")["file"]
    'mnist_cnn/mnist_cnn.onnx'
    """
    entry = manifest["models"].get(model)
    if entry is None:
        raise DigitzooError(f"{model} is not in the manifest; exported models: {', '.join(manifest['models'])}")
    for item in entry["artifacts"]:
        if item["part"] == part and item["format"] == fmt:
            return item
    raise DigitzooError(f"{model} has no exported {fmt} file for part {part!r}")


def verified_path(root: str | os.PathLike, item: dict[str, Any]) -> Path:
    """Path of an artifact after checking it stays inside ``root`` and matches its sha256."""
    try:
        path = inside(root, item["file"])
    except ValueError as exc:
        raise DigitzooError(f"manifest entry refused: {exc}") from None
    if not path.is_file():
        raise DigitzooError(f"{path} is listed in the manifest but missing")
    if sha256_file(path) != item["sha256"]:
        raise DigitzooError(f"{path} does not match the sha256 in the manifest: refusing to load it")
    return path


def demo_models(manifest: dict[str, Any], tab: str) -> list[str]:
    """The models the demo hub shows on ``tab``, in their demo order (set in each model file).

    >>> demo_models(read_manifest(), "draw")  # doctest: +NORMALIZE_WHITESPACE
    ['mnist_cnn', 'mnist_lstm', 'mnist_mlp', 'mnist_tutorial_cnn', 'mnist_inception', 'mnist_resnet',
     'mnist_lenet']
    """
    shown = [(entry["demo"].get("order", 0), name) for name, entry in manifest["models"].items()
             if (entry.get("demo") or {}).get("tab") == tab]
    return [name for _, name in sorted(shown)]


def parts_with_role(manifest: dict[str, Any], role: str) -> list[tuple[str, str]]:
    """(model, part) of every exported part whose role is ``role``, in the manifest's order.

    >>> parts_with_role(read_manifest(), "generator")
    [('mnist_gan', 'generator')]
    """
    found = {(name, item["part"]): None for name, entry in manifest["models"].items()
             for item in entry["artifacts"] if item.get("role") == role}
    return list(found)


def part_with_role(manifest: dict[str, Any], model: str, role: str) -> str:
    """The name of ``model``'s part with ``role``; a clear error when it has none."""
    for name, part in parts_with_role(manifest, role):
        if name == model:
            return part
    raise DigitzooError(f"{model} has no exported {role} part in the manifest")
