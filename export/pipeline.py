"""`digitzoo export`: checkpoint -> verified files + manifest entry, written atomically.

For every part of a model and every format: export to a temporary file next to the target,
verify it (onnx.checker full check for ONNX; outputs against eager PyTorch for all), and
only then move it into place and record it. Export reads checkpoints and writes only below
its output folder; file names come from the registry, never from user input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from digitzoo.hub import __version__
from digitzoo.hub.checkpoint import find_checkpoint, load_checkpoint
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import Manifest, ModelEntry, empty_manifest, read_manifest, write_manifest
from digitzoo.hub.registry import ModelSpec, PartSpec, get_spec, list_models
from digitzoo.hub.torch_files import open_file, torch_runner
from digitzoo.export import cards
from digitzoo.export.formats import EXPORTERS, part_module
from digitzoo.export.latency import batch1_latency, classifier_onnx
from digitzoo.export.verify import ATOL, RTOL, compare, reference_inputs

FORMATS = tuple(EXPORTERS)


class ExportError(DigitzooError):
    """An exported file did not match eager PyTorch or failed its checks; nothing was recorded."""


def _onnx_finish(path: Path, spec: ModelSpec, part: PartSpec, card: dict, exporter: str) -> None:
    """Describe the file for someone who has only it, then run the full ONNX checker."""
    import onnx

    model = onnx.load(str(path))
    props = {
        "model_name": spec.name,
        "part": part.name,
        "version": __version__,
        "source_checkpoint_sha256": card["weights_sha256"],
        "exporter": exporter,
        "inputs": json.dumps([_tensor_doc(t) for t in part.inputs]),
        "outputs": json.dumps([_tensor_doc(t) for t in part.outputs]),
        "input_layout": "; ".join(f"{t.name}: {t.description}" for t in part.inputs),
        "output_meaning": "; ".join(f"{t.name}: {t.description}" for t in part.outputs),
    }
    if spec.labels:
        props["labels"] = json.dumps(list(spec.labels))
    onnx.helper.set_model_props(model, props)
    model.doc_string = f"{spec.title} ({part.name}): {spec.summary}"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path), save_as_external_data=False)


def _tensor_doc(t) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
            "value_range": list(t.value_range) if t.value_range else None, "description": t.description}


def _write_test_data(folder: Path, inputs: tuple[np.ndarray, ...], outputs: list[np.ndarray], part: PartSpec) -> None:
    """ONNX model zoo layout: test_data_set_0/input_i.pb, output_i.pb as serialized TensorProto."""
    from onnx import numpy_helper

    target = folder / "test_data_set_0"
    target.mkdir(parents=True, exist_ok=True)
    for i, (array, t) in enumerate(zip(inputs, part.inputs)):
        (target / f"input_{i}.pb").write_bytes(numpy_helper.from_array(array, t.name).SerializeToString())
    for i, (array, t) in enumerate(zip(outputs, part.outputs)):
        (target / f"output_{i}.pb").write_bytes(numpy_helper.from_array(array, t.name).SerializeToString())


def export_model(name: str, root: Path, formats: tuple[str, ...] = FORMATS, data_dir=None, log=print) -> ModelEntry:
    """Export every part of ``name`` in ``formats`` into ``root/name``; returns the manifest entry."""
    spec = get_spec(name)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise DigitzooError(f"unknown format(s) {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
    folder = find_checkpoint(name)
    model, card = load_checkpoint(name, folder)
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for part in spec.parts:
        module = part_module(model, part)
        inputs = reference_inputs(spec, part, model, data_dir=data_dir)
        eager = torch_runner(module)
        example = tuple(torch.from_numpy(a[:4]) for a in inputs)
        for fmt in formats:
            suffix, exporter_fn = EXPORTERS[fmt]
            final = out / f"{part.file}{suffix}"
            tmp = out / f".{part.file}.tmp{suffix}"  # loaders look at the suffix
            began = time.perf_counter()
            try:
                exporter = exporter_fn(module, example, part, tmp)
                if fmt == "onnx":
                    _onnx_finish(tmp, spec, part, card, exporter)
                exported, _ = open_file(tmp, fmt, device="cpu", threads=1)  # the runtime every user of the file has
                parity = compare(exported, eager, inputs)
            except DigitzooError:
                tmp.unlink(missing_ok=True)
                raise
            except Exception as exc:
                tmp.unlink(missing_ok=True)
                raise ExportError(f"{name}/{part.name} {fmt}: export failed ({type(exc).__name__}: {str(exc)[:300]})") from exc
            if not parity.ok:
                tmp.unlink(missing_ok=True)
                raise ExportError(f"{name}/{part.name} {fmt}: outputs differ from eager PyTorch by up to "
                                  f"{parity.max_abs_diff:.2e} (atol {ATOL}, rtol {RTOL}); not recorded")
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)  # only verified files take the final name
            item = {
                "part": part.name, "role": part.role, "format": fmt, "file": f"{name}/{final.name}",
                "sha256": sha256_file(final), "bytes": final.stat().st_size, "exporter": exporter,
                "inputs": [_tensor_doc(t) for t in part.inputs], "outputs": [_tensor_doc(t) for t in part.outputs],
                "verified": {"max_abs_diff": parity.max_abs_diff, "atol": ATOL, "rtol": RTOL,
                             "samples": parity.samples, "batch_sizes": list(parity.batch_sizes),
                             "reference": "eager PyTorch on CPU"},
            }
            if fmt == "onnx":
                test_dir = out / f"{part.file}_test_data"
                shutil.rmtree(test_dir, ignore_errors=True)
                few = tuple(a[:8] for a in inputs)
                _write_test_data(test_dir, few, eager(*few), part)
                item["test_data"] = f"{name}/{test_dir.name}/test_data_set_0"
            artifacts.append(item)
            log(f"{name}/{part.name} {fmt:11s} {final.name:28s} {item['bytes'] / 1e6:6.2f} MB  "
                f"max|diff| {parity.max_abs_diff:.1e}  {exporter.split(';')[0]}  ({time.perf_counter() - began:.1f} s)")
    entry = {
        **describe(spec),
        "metrics": card["metrics"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "checkpoint": {k: card.get(k) for k in ("weights_sha256", "device", "wall_time_s", "command", "recipe",
                                                "seed", "steps", "created", "kwargs")},
        "artifacts": artifacts,
    }
    if spec.demo and spec.demo.scatter_points:
        entry["demo_data"] = _latent_points(spec, model, out, data_dir)
    typed = ModelEntry.from_json(entry, f"models.{name}")  # the shape every reader of the manifest expects
    onnx_classifier = classifier_onnx(typed)
    if onnx_classifier is not None:  # the leaderboard's latency, measured on the file just verified
        typed = dataclasses.replace(typed, latency=batch1_latency(root / onnx_classifier.file).to_json())
    (out / "README.md").write_text(cards.model_readme(spec, typed), encoding="utf-8")
    return typed


def describe(spec: ModelSpec) -> dict[str, Any]:
    """What the manifest says of a model besides its files and metrics; the apps read only this."""
    return {"title": spec.title, "summary": spec.summary, "task": spec.task, "labels": list(spec.labels),
            "demo": dataclasses.asdict(spec.demo) if spec.demo else None}


def _latent_points(spec: ModelSpec, model, out: Path, data_dir) -> dict[str, Any]:
    """Codes of the first N test digits (with labels and per-digit means) for the latent plot."""
    from digitzoo.hub.serving.files import atomic_write_text
    from digitzoo.hub.mnist import load_mnist, to_float

    count = spec.demo.scatter_points
    encoder = next(p for p in spec.parts if p.role == "encoder")
    images, labels = load_mnist(train=False, data_dir=data_dir)
    with torch.inference_mode():
        codes = part_module(model, encoder)(to_float(images[:count])).numpy()
    labels = labels[:count].numpy()
    means = [codes[labels == d].mean(0).round(4).tolist() for d in range(10)]
    data = {"codes": codes.round(4).tolist(), "labels": labels.tolist(), "class_means": means,
            "p01": np.percentile(codes, 1, axis=0).round(4).tolist(),
            "p99": np.percentile(codes, 99, axis=0).round(4).tolist()}
    path = out / f"{spec.name}_latent_points.json"
    atomic_write_text(path, json.dumps(data))
    return {"file": f"{spec.name}/{path.name}", "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "points": count}


def export(names: list[str], root: Path, formats: tuple[str, ...] = FORMATS, data_dir=None, log=print) -> Manifest:
    """Export ``names`` (or every model for ``["all"]``) and update ``root/manifest.json``."""
    names = list_models() if names == ["all"] else names
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(root)
    except DigitzooError:
        manifest = empty_manifest()
    for name in names:
        manifest = manifest.with_model(name, export_model(name, root, formats, data_dir, log))
        import onnx
        import onnxruntime

        manifest = dataclasses.replace(manifest, versions={
            "digitzoo": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()})
        write_manifest(root, manifest)  # after each model, so a failure later keeps what was verified
    return manifest
