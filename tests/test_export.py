"""Export: every part in every format matches eager PyTorch, is described, and stands alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from digitzoo.export import pipeline
from digitzoo.hub.checkpoint import load_checkpoint
from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import MANIFEST_FILE, Manifest, exports_root, manifest_text, read_manifest, write_manifest
from digitzoo.hub.registry import get_spec, list_models
from digitzoo.hub.serving.runtime import open_onnx
from digitzoo.hub.torch_files import load_part, open_torch
from digitzoo.export.formats import part_module
from digitzoo.export.pipeline import FORMATS, export, export_versions
from digitzoo.export.verify import reference_inputs

PAIRS = [(name, part.name) for name in list_models() for part in get_spec(name).parts]


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """All shipped checkpoints exported once into a private folder."""
    root = tmp_path_factory.mktemp("exports")
    export(["all"], root, log=lambda msg: None)
    return root


def test_the_manifest_the_exporter_writes_round_trips(exported):
    """What `digitzoo export` writes reads back typed and is written back byte for byte."""
    text = (exported / MANIFEST_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    assert Manifest.from_json(data).to_json() == data
    assert manifest_text(read_manifest(exported)) == text


@pytest.mark.parametrize("name", list_models())
def test_manifest_lists_every_part_and_format(exported, name):
    manifest = read_manifest(exported)
    entry = manifest.models[name]
    assert manifest.versions is None and entry.versions == export_versions()
    assert {"torch", "onnx", "onnxruntime", "python", "digitzoo"} == entry.versions.keys()
    assert all(a.versions is None for a in entry.artifacts)  # one run made them all
    spec = get_spec(name)
    _, card = load_checkpoint(name)
    assert entry.metrics == card["metrics"] and entry.checkpoint["weights_sha256"] == card["weights_sha256"]
    found = {(a.part, a.format) for a in entry.artifacts}
    classifier = any(p.role == "classifier" for p in spec.parts)  # export adds its explainer, as ONNX
    assert found == {(p.name, f) for p in spec.parts for f in FORMATS} | ({("explain", "onnx")} if classifier else set())
    for a in entry.artifacts:
        path = exported / a.file
        assert sha256_file(path) == a.sha256 and path.stat().st_size == a.bytes
        assert all(t.shape[0] == "batch" and t.dtype for t in a.inputs + a.outputs)
        assert a.verified["samples"] >= 1000 and a.exporter
        if a.part == "explain":  # image + digit in; logits, input x gradient, one output per feature block
            assert a.role == "explainer" and [t.name for t in a.inputs] == ["image", "target"]
            assert [t.name for t in a.outputs] == ["logits", "input_x_gradient"] + [
                f"block{i + 1}" for i in range(len(spec.feature_blocks))]
            assert a.verified["near_tie_samples"] <= a.verified["near_tie_share"] * a.verified["samples"]
            continue
        part = next(p for p in spec.parts if p.name == a.part)
        assert [t.name for t in a.inputs] == [t.name for t in part.inputs]
        assert [t.name for t in a.outputs] == [t.name for t in part.outputs]
        assert a.verified["max_abs_diff"] <= a.verified["atol"]
    assert not list(exported.glob(f"{name}/.*.tmp*")), "temporary files left behind"
    if any(p.role == "classifier" for p in spec.parts):  # the leaderboard's latency, measured at export
        latency = entry.latency
        assert 0 < latency["onnx_batch1_ms"] < 1000 and latency["runs"] == 200 and latency["threads"] == 1
    else:
        assert entry.latency is None and "latency" not in entry.to_json()


@pytest.mark.parametrize("backend", FORMATS)
@pytest.mark.parametrize("name, part_name", PAIRS)
def test_exported_part_matches_eager(exported, name, part_name, backend):
    """Recomputed here, independent of the exporter's own check: batch 1 and batch 300."""
    spec = get_spec(name)
    part = next(p for p in spec.parts if p.name == part_name)
    model, _ = load_checkpoint(name)
    inputs = reference_inputs(spec, part, model, samples=300)
    loaded = load_part(name, part_name, backend=backend, root=exported)
    eager = part_module(model, part)
    for batch in (tuple(a[:1] for a in inputs), inputs):
        with torch.inference_mode():
            want = eager(*[torch.from_numpy(a) for a in batch])
        want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
        got = loaded(*batch)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", [n for n in list_models() if any(p.role == "classifier" for p in get_spec(n).parts)])
def test_explainer_matches_autograd(exported, name):
    """The explainer recomputed here: autograd's input gradient times the image, forward hooks'
    feature maps, on 300 test digits each asked about a different digit, at batch 1 and 300."""
    from digitzoo.export.explain_graph import EagerExplainer
    from digitzoo.export.verify import compare_explainer

    spec = get_spec(name)
    model, _ = load_checkpoint(name)
    classifier = next(p for p in spec.parts if p.role == "classifier")
    (images,) = reference_inputs(spec, classifier, model, samples=300)
    targets = (np.arange(300) % 10).astype(np.int64)
    eager = EagerExplainer(model, spec.feature_blocks).eval()
    loaded = load_part(name, "explain", root=exported)
    parity = compare_explainer(loaded, lambda *a: [o.numpy() for o in eager(*map(torch.from_numpy, a))], (images, targets))
    assert parity.ok, parity
    maps = loaded(images[:20], targets[:20])[1]
    assert np.abs(maps).sum(axis=(1, 2, 3)).min() > 0  # every test digit gets a map with something in it


@pytest.mark.parametrize("name, part_name", PAIRS)
def test_onnx_file_is_self_contained_and_self_describing(exported, name, part_name):
    import onnx

    item = next(a for a in read_manifest(exported).models[name].artifacts
                if a.part == part_name and a.format == "onnx")
    model = onnx.load(str(exported / item.file), load_external_data=False)
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 18
    assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["model_name"] == name and props["part"] == part_name
    assert props["source_checkpoint_sha256"] == load_checkpoint(name)[1]["weights_sha256"]
    layout = props["input_layout"]
    assert json.loads(props["inputs"])[0]["value_range"] is not None or "noise" in layout or "latent" in layout
    for key in ("version", "exporter", "input_layout", "output_meaning"):
        assert props[key]
    if get_spec(name).labels:
        assert json.loads(props["labels"]) == list(get_spec(name).labels)  # digits 0-9; the detector: digit / not a digit
    assert [i.name for i in model.graph.input] == [t.name for t in item.inputs]
    for graph_input in model.graph.input:
        first_dim = graph_input.type.tensor_type.shape.dim[0]
        assert first_dim.dim_param and not first_dim.dim_value, "batch dimension must be dynamic"


@pytest.mark.parametrize("name, part_name", PAIRS)
def test_onnx_test_data_set_reproduces(exported, name, part_name):
    from onnx import TensorProto, numpy_helper

    item = next(a for a in read_manifest(exported).models[name].artifacts
                if a.part == part_name and a.format == "onnx")
    folder = exported / item.test_data

    def read(pb):
        tensor = TensorProto()
        tensor.ParseFromString(pb.read_bytes())
        return numpy_helper.to_array(tensor)

    inputs = [read(p) for p in sorted(folder.glob("input_*.pb"))]
    outputs = [read(p) for p in sorted(folder.glob("output_*.pb"))]
    run, _ = open_onnx(exported / item.file, device="cpu")
    for got, want in zip(run(*inputs), outputs, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.fixture
def exported_copy(exported, tmp_path) -> Path:
    root = tmp_path / "exports"
    shutil.copytree(exported, root)
    return root


def test_the_explainer_exports_after_a_training_run_left_deterministic_algorithms_on(tmp_path):
    """train/loop.py turns torch.use_deterministic_algorithms on for the process; the explainer's
    dynamo export failed under it (the CI suite exports after in-process training). It exports, and the
    flag is as it was afterwards."""
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        export(["mnist_tutorial_cnn"], tmp_path, ("onnx",), log=lambda msg: None)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    (explainer,) = [a for a in read_manifest(tmp_path).models["mnist_tutorial_cnn"].artifacts if a.part == "explain"]
    assert explainer.exporter.startswith("dynamo")


def test_export_of_some_parts_keeps_the_other_files(exported_copy):
    """`digitzoo export NAME --parts explain`: the explainer is made again; every other file, its
    manifest record and the measured latency stay as they were."""
    before = read_manifest(exported_copy).models["mnist_tutorial_cnn"]
    kept = {(a.part, a.format): a.sha256 for a in before.artifacts if a.part != "explain"}
    export(["mnist_tutorial_cnn"], exported_copy, parts=("explain",), log=lambda msg: None)
    after = read_manifest(exported_copy).models["mnist_tutorial_cnn"]
    assert {(a.part, a.format): a.sha256 for a in after.artifacts if a.part != "explain"} == kept
    assert after.latency == before.latency
    (explainer,) = [a for a in after.artifacts if a.part == "explain"]
    assert sha256_file(exported_copy / explainer.file) == explainer.sha256
    with pytest.raises(DigitzooError, match="has no part"):
        export(["mnist_tutorial_cnn"], exported_copy, parts=("nonsense",), log=lambda msg: None)


def test_each_export_records_the_versions_that_made_it(tmp_path, store, monkeypatch):
    """Per entry: exporting one model writes its versions and leaves every other entry's as they
    were; `--parts` keeps the entry's versions and marks the files it made with other versions."""
    quiet = dict(log=lambda msg: None)
    export(["mnist_tutorial_cnn"], tmp_path, ("torchscript",), **quiet)  # TorchScript only: seconds
    first = read_manifest(tmp_path)
    (tutorial,) = first.models.values()
    assert tutorial.versions == export_versions() and tutorial.versions["torch"] == torch.__version__
    assert first.versions is None and not any(a.versions for a in tutorial.artifacts)

    later = {**export_versions(), "torch": "9.9.9+later"}  # another process, exporting later
    monkeypatch.setattr(pipeline, "export_versions", lambda: later)
    export(["mnist_lenet"], tmp_path, ("torchscript",), **quiet)
    second = read_manifest(tmp_path)
    assert second.models["mnist_tutorial_cnn"] == tutorial  # its versions as they were
    assert second.models["mnist_lenet"].versions == later

    export(["mnist_tutorial_cnn"], tmp_path, ("torchscript",), parts=("model",), **quiet)
    third = read_manifest(tmp_path)
    assert third.models["mnist_lenet"] == second.models["mnist_lenet"]
    redone = third.models["mnist_tutorial_cnn"]
    (item,) = redone.artifacts
    assert redone.versions == tutorial.versions and item.versions == later == redone.versions_of(item)
    assert item.sha256 == sha256_file(tmp_path / item.file)

    monkeypatch.setattr(pipeline, "export_versions", export_versions)  # the entry's own versions again:
    export(["mnist_tutorial_cnn"], tmp_path, ("torchscript",), parts=("model",), **quiet)
    (item,) = read_manifest(tmp_path).models["mnist_tutorial_cnn"].artifacts
    assert item.versions is None  # the file needs no block of its own


def test_the_shipped_versions_are_what_the_files_record():
    """Each ONNX file's producer_version and each .pt2 archive's torch_version is the torch that the
    manifest says exported it (the shipped blocks were recovered from exactly these)."""
    import onnx

    root = paths.pretrained_exports_dir()
    checked = 0
    for name, entry in read_manifest(root).models.items():
        for item in entry.artifacts:
            torch_version = entry.versions_of(item)["torch"]
            if item.format == "onnx":
                model = onnx.load(str(root / item.file), load_external_data=False)
                assert (model.producer_name, model.producer_version) == ("pytorch", torch_version), item.file
            elif item.format == "pt2":
                with zipfile.ZipFile(root / item.file) as archive:
                    (program,) = [n for n in archive.namelist() if n.endswith("/models/model.json")]
                    assert json.loads(archive.read(program))["torch_version"] == torch_version, item.file
            else:
                continue
            checked += 1
    assert checked >= 20


def test_tampered_file_is_refused_by_checksum(exported_copy):
    path = exported_copy / "mnist_cnn" / "mnist_cnn.onnx"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DigitzooError, match="does not match the sha256"):
        load_part("mnist_cnn", root=exported_copy)


@pytest.mark.parametrize("suffix, opener", [(".onnx", lambda p: open_onnx(p, "cpu")),
                                            (".pt", lambda p: open_torch(p, "torchscript", "cpu")),
                                            (".pt2", lambda p: open_torch(p, "pt2", "cpu"))])
@pytest.mark.parametrize("damage", ["truncated", "random", "text"])
def test_broken_files_give_a_clear_error(exported_copy, tmp_path, suffix, opener, damage):
    good = (exported_copy / "mnist_cnn" / f"mnist_cnn{suffix}").read_bytes()
    data = {"truncated": good[: len(good) // 3], "random": np.random.default_rng(0).bytes(5000),
            "text": b"this is not a model\n"}[damage]
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(data)
    with pytest.raises(DigitzooError, match=r"is not a valid (ONNX model|torchscript file|pt2 file)"):
        opener(bad)


def test_manifest_cannot_point_outside_the_exports(exported_copy):
    manifest = read_manifest(exported_copy)
    item = next(a for a in manifest.models["mnist_cnn"].artifacts if a.format == "onnx")
    write_manifest(exported_copy, manifest.with_artifact("mnist_cnn", item, replace(item, file="../../../../etc/passwd")))
    with pytest.raises(DigitzooError, match="outside"):
        load_part("mnist_cnn", root=exported_copy)


def test_export_writes_only_below_its_folder(tmp_path, store):
    before = {p for p in tmp_path.rglob("*")}
    export(["mnist_cnn"], tmp_path / "out", formats=("onnx",), log=lambda msg: None)
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p.is_relative_to(tmp_path / "out") for p in created)


def _snippet(readme: Path, file: str) -> str:
    text = readme.read_text()
    match = re.search(rf"### `{re.escape(file)}`.*?```python\n(.*?)```", text, re.S)
    assert match, f"no snippet for {file} in {readme}"
    return match.group(1)


def _digit_png(folder: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(255 - image).resize((112, 112)).save(folder / "digit.png")  # dark ink on white paper


@pytest.fixture(scope="session")
def onnx_only_python(tmp_path_factory) -> Path:
    """A fresh virtual environment with onnxruntime, numpy and pillow only."""
    venv = tmp_path_factory.mktemp("venv-onnx") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "onnxruntime", "numpy", "pillow"], check=True,
                   capture_output=True, timeout=600)
    return python


def test_onnx_snippet_runs_with_onnxruntime_numpy_pillow_only(exported, onnx_only_python, tmp_path, mnist_test):
    images, labels = mnist_test
    code = _snippet(exported / "mnist_cnn" / "README.md", "mnist_cnn.onnx")
    shutil.copy(exported / "mnist_cnn" / "mnist_cnn.onnx", tmp_path)
    check = "import importlib.util, sys\nassert importlib.util.find_spec('torch') is None\n"
    for i in (0, 1, 2):
        _digit_png(tmp_path, images[i].numpy())
        out = subprocess.run([str(onnx_only_python), "-c", check + code], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"digit: {int(labels[i])}"


@pytest.mark.parametrize("file", ["mnist_cnn.pt", "mnist_cnn.pt2"])
def test_torch_snippets_run_with_plain_torch(exported, tmp_path, mnist_test, file):
    """-S skips site's .pth files, so digitzoo (installed editable) is not importable; torch is."""
    images, labels = mnist_test
    code = _snippet(exported / "mnist_cnn" / "README.md", file)
    shutil.copy(exported / "mnist_cnn" / file, tmp_path)
    _digit_png(tmp_path, images[3].numpy())
    check = "import importlib.util\nassert importlib.util.find_spec('hub') is None and importlib.util.find_spec('export') is None\n"
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    out = subprocess.run([sys.executable, "-S", "-c", check + code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(f"digit: {int(labels[3])}")


def test_unknown_format_is_a_clear_error(tmp_path, store):
    with pytest.raises(DigitzooError, match="unknown format"):
        export(["mnist_cnn"], tmp_path, formats=("tflite",), log=lambda msg: None)


@pytest.mark.parametrize("fmt, suffix", [("torchscript", ".pt"), ("pt2", ".pt2")])
def test_torch_backends_run_where_their_label_says(fmt, suffix):
    """The runtime's torch loaders put the module on the device they name (label and place agree)."""
    path = exports_root() / "mnist_cnn" / f"mnist_cnn{suffix}"
    run, label = open_torch(path, fmt, device="cpu")
    assert label == f"{fmt}-cpu" and run(np.zeros((2, 1, 28, 28), np.float32))[0].shape == (2, 10)
    if not torch.cuda.is_available():
        with pytest.raises(DigitzooError, match="no CUDA GPU"):
            open_torch(path, fmt, device="cuda")
