"""The exported parts the apps call, opened once per process with the chosen backend/device."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.manifest import Manifest, demo_models, exports_root, part_with_role, parts_with_role, read_manifest
from digitzoo.hub.serving.runtime import BACKEND_FORMATS, Part, load_part

SETTINGS = {"backend": "onnx", "device": "auto", "root": None}


def configure(backend: str = "onnx", device: str = "auto", root: str | os.PathLike | None = None) -> None:
    """Choose how every app runs its models (``root``: an exports folder); call before the first request."""
    SETTINGS.update(backend=backend, device=device, root=Path(root).resolve() if root else None)
    get.cache_clear()
    manifest.cache_clear()


@cache
def get(model: str, part: str = "model") -> Part:
    load, backend = load_part, SETTINGS["backend"]
    # A part exported as ONNX only (the explainer: a forward graph of a backward pass, made for
    # onnxruntime-web) is opened as ONNX whatever the backend.
    if backend != "onnx" and not any(a.part == part and a.format == BACKEND_FORMATS[backend]
                                     for a in manifest().models[model].artifacts):
        backend = "onnx"
    if backend != "onnx":  # `digitzoo serve --backend torchscript`: the one path that needs torch
        from digitzoo.hub.torch_files import load_part as load
    return load(model, part, backend=backend, device=SETTINGS["device"], root=SETTINGS["root"],
                spinning=False)  # a server: idle model threads must not busy-wait


def part_name(part: Part) -> str:
    """How a footer names an opened part: 'mnist_cnn', or 'mnist_ae3d/decoder' for a model of several parts."""
    return part.model if part.part == "model" else f"{part.model}/{part.part}"


def describe(device: str, timings: dict[str, float]) -> str:
    """'onnxruntime-cpu: mnist_cnn 1.2 ms + mnist_lstm 0.8 ms' for the page footer of a result."""
    return f"{device}: " + " + ".join(f"{name} {ms:.1f} ms" for name, ms in timings.items())


@cache
def manifest() -> Manifest:
    """The manifest the apps serve from; what each tab shows is data in it (see ``Demo``)."""
    return read_manifest(SETTINGS["root"] or exports_root())


def shown_on(tab: str) -> list[str]:
    """The models of a tab, in their demo order: ``["mnist_cnn", "mnist_lstm", "mnist_mlp", ...]`` for "draw"."""
    return demo_models(manifest(), tab)


def classifiers() -> list[str]:
    """Every model with a classifier part: those of the draw tab in their demo order, then the rest by name."""
    shown = shown_on("draw")
    others = sorted({m for m, _ in parts_with_role(manifest(), "classifier")} - set(shown))
    return [m for m in shown if m in {n for n, _ in parts_with_role(manifest(), "classifier")}] + others


def label(model: str) -> str:
    """The model's short name on screen (its demo label, else its name)."""
    return demo(model).get("label") or model


def demo(model: str) -> dict:
    """The model's demo settings: its label on screen, whether it charts a belief per row, ..."""
    return manifest().models[model].demo_settings


def with_role(model: str, role: str) -> Part:
    """The opened part of ``model`` that has ``role`` (classifier, encoder, decoder, generator)."""
    return get(model, part_with_role(manifest(), model, role))


def detector() -> Part | None:
    """The not-a-digit detector, or None for an exports folder made before there was one."""
    found = parts_with_role(manifest(), "detector")
    return get(*found[0]) if found else None


def first_shown(tab: str) -> str:
    """The model a one-model tab (latent, gan) shows; a clear error when no exported model is for it."""
    models = shown_on(tab)
    if not models:
        raise DigitzooError(f"no exported model is shown on the {tab!r} tab (its manifest entry has no demo for it)")
    return models[0]
