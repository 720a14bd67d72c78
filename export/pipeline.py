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
from digitzoo.export import cards, explain_graph
from digitzoo.export.formats import EXPORTERS, part_module
from digitzoo.export.latency import batch1_latency, classifier_onnx
from digitzoo.export.verify import ATOL, NEAR_TIE_L1, NEAR_TIE_SHARE, RTOL, compare, compare_explainer, reference_inputs

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


def _export_file(spec: ModelSpec, part: PartSpec, card: dict, module, eager, inputs: tuple[np.ndarray, ...], fmt: str,
                 out: Path, log, check=compare) -> dict[str, Any]:
    """Export ``module`` as ``part`` in ``fmt`` to a temporary file, verify it against ``eager`` on
    ``inputs`` through the runtime every user of the file has, and only then give it its final name."""
    name = spec.name
    example = tuple(torch.from_numpy(a[:4]) for a in inputs)
    suffix, exporter_fn = EXPORTERS[fmt]
    final = out / f"{part.file}{suffix}"
    tmp = out / f".{part.file}.tmp{suffix}"  # loaders look at the suffix
    began = time.perf_counter()
    try:
        exporter = exporter_fn(module, example, part, tmp)
        if fmt == "onnx":
            _onnx_finish(tmp, spec, part, card, exporter)
        exported, _ = open_file(tmp, fmt, device="cpu", threads=1)
        parity = check(exported, eager, inputs)
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
    if check is compare_explainer:
        item["verified"].update(reference="eager PyTorch on CPU (autograd for the map, forward hooks for the feature maps)",
                                near_tie_samples=parity.near_ties, near_tie_share=NEAR_TIE_SHARE, near_tie_l1=NEAR_TIE_L1)
    if fmt == "onnx":
        test_dir = out / f"{part.file}_test_data"
        shutil.rmtree(test_dir, ignore_errors=True)
        few = tuple(a[:8] for a in inputs)
        _write_test_data(test_dir, few, eager(*few), part)
        item["test_data"] = f"{name}/{test_dir.name}/test_data_set_0"
    log(f"{name}/{part.name} {fmt:11s} {final.name:28s} {item['bytes'] / 1e6:6.2f} MB  "
        f"max|diff| {parity.max_abs_diff:.1e}  {exporter.split(';')[0]}  ({time.perf_counter() - began:.1f} s)")
    return item


def _export_explainer(spec: ModelSpec, classifier: PartSpec, model, card: dict, out: Path, data_dir, log) -> dict[str, Any]:
    """The classifier's explainer (export/explain_graph.py) as ONNX, verified against autograd on
    the classifier's real test images, each asked about a different digit (0, 1, ..., 9, 0, ...)."""
    (images,) = reference_inputs(spec, classifier, model, data_dir=data_dir)
    targets = np.arange(len(images), dtype=np.int64) % 10
    eager = explain_graph.EagerExplainer(model, spec.feature_blocks).eval()
    example = (torch.from_numpy(images[:4]), torch.from_numpy(targets[:4]))
    block_shapes = [tuple(m.shape[1:]) for m in eager(*example)[2:]]
    part = explain_graph.explainer_part(spec, block_shapes)

    def run_eager(*arrays):
        return [o.numpy() for o in eager(*[torch.from_numpy(a) for a in arrays])]
    with explain_graph.nondeterministic_allowed():
        traced = explain_graph.traced_explainer(eager, example)
        return _export_file(spec, part, card, traced, run_eager, (images, targets), "onnx", out, log, check=compare_explainer)


def export_versions() -> dict[str, str]:
    """The versions this process exports with: each manifest entry records them."""
    import onnx
    import onnxruntime

    return {"digitzoo": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def export_model(name: str, root: Path, formats: tuple[str, ...] = FORMATS, data_dir=None, log=print,
                 parts: tuple[str, ...] | None = None, previous: ModelEntry | None = None) -> ModelEntry:
    """Export every part of ``name`` in ``formats`` into ``root/name``; returns the manifest entry.

    ``parts`` (part names, "explain" for the explainer) exports only those and keeps the files of
    the others from ``previous``, the model's entry in the manifest, which must come from the same
    checkpoint: how an explainer is added to exports made before there were explainers. The entry
    then keeps ``previous``'s ``versions``, and each file made now carries its own block when this
    process's versions differ from those."""
    spec = get_spec(name)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise DigitzooError(f"unknown format(s) {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
    folder = find_checkpoint(name)
    model, card = load_checkpoint(name, folder)
    if parts is not None:
        known = [p.name for p in spec.parts] + ["explain"]
        if set(parts) - set(known):
            raise DigitzooError(f"{name} has no part(s) {', '.join(sorted(set(parts) - set(known)))}; its parts: {', '.join(known)}")
        if previous is None or previous.checkpoint.get("weights_sha256") != card["weights_sha256"]:
            raise DigitzooError(f"--parts keeps {name}'s other files, but {root} has no export of {name} from its "
                                f"current checkpoint: export all of its parts first")
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for part in spec.parts:
        if parts is not None and part.name not in parts:
            continue
        module = part_module(model, part)
        inputs = reference_inputs(spec, part, model, data_dir=data_dir)
        eager = torch_runner(module)
        for fmt in formats:
            artifacts.append(_export_file(spec, part, card, module, eager, inputs, fmt, out, log))
    classifier = next((p for p in spec.parts if p.role == "classifier"), None)
    # the page's "Why?" view runs the explainer with onnxruntime-web
    if classifier is not None and "onnx" in formats and (parts is None or "explain" in parts):
        artifacts.append(_export_explainer(spec, classifier, model, card, out, data_dir, log))
    entry = {
        **describe(spec),
        "metrics": card["metrics"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "checkpoint": {k: card.get(k) for k in ("weights_sha256", "device", "wall_time_s", "command", "recipe",
                                                "seed", "steps", "created", "kwargs")},
        "artifacts": artifacts,
        "versions": export_versions(),
    }
    if spec.demo and spec.demo.scatter_points:
        entry["demo_data"] = _latent_points(spec, model, out, data_dir)
    typed = ModelEntry.from_json(entry, f"models.{name}")  # the shape every reader of the manifest expects
    onnx_classifier = classifier_onnx(typed)
    if parts is not None:  # the files of the parts not asked for stay as they were, with their latency
        redone = {(a["part"], a["format"]) for a in artifacts}
        kept = [a.to_json() for a in previous.artifacts if (a.part, a.format) not in redone]
        if entry["versions"] != previous.versions:  # these files say which versions made them
            artifacts = [{**a, "versions": entry["versions"]} for a in artifacts]
        typed = dataclasses.replace(typed, artifacts=ModelEntry.from_json(
            {**entry, "artifacts": kept + artifacts}, f"models.{name}").artifacts, latency=previous.latency,
            versions=previous.versions)
        if onnx_classifier is None or onnx_classifier.part not in parts:
            onnx_classifier = None
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


def export(names: list[str], root: Path, formats: tuple[str, ...] = FORMATS, data_dir=None, log=print,
           parts: tuple[str, ...] | None = None) -> Manifest:
    """Export ``names`` (or every model for ``["all"]``; with ``parts``, every model that has them)
    and update ``root/manifest.json``."""
    names = list_models() if names == ["all"] else names
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(root)
    except DigitzooError:
        manifest = empty_manifest()
    if parts is not None and names == list_models():
        names = [n for n in names if {p.name for p in get_spec(n).parts} & set(parts)
                 or ("explain" in parts and any(p.role == "classifier" for p in get_spec(n).parts))]
    for name in names:
        entry = export_model(name, root, formats, data_dir, log, parts, manifest.models.get(name))
        # versions=None: the top-level block of older manifests said only which versions ran last
        manifest = dataclasses.replace(manifest.with_model(name, entry), versions=None)
        write_manifest(root, manifest)  # after each model, so a failure later keeps what was verified
    return manifest
