"""Hostile files: what a user could be tricked into loading is refused with one clear line, and runs nothing.

Every file here is put where digitzoo would really load it: as a checkpoint's weights (with the
card's sha256 updated to match) or as an exported file listed in a manifest with its correct
sha256, so that the checksum passes and the format check itself must refuse it. Pickles carry a
payload that creates a marker file when unpickled; the marker must not exist afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import pickle
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from digitzoo.hub.serving import paths
from digitzoo.hub.checkpoint import CARD_FILE, WEIGHTS_FILE, load_checkpoint, load_tensors
from digitzoo.hub.serving.errors import CheckpointError, DigitzooError
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import MANIFEST_FILE, read_manifest, write_manifest
from digitzoo.hub.serving.filechecks import check_torch_archive, onnx_uses_external_data
from digitzoo.hub.torch_files import load_part  # every backend

SHIPPED = paths.pretrained_exports_dir()
FORMAT_OF_BACKEND = {"onnx": "onnx", "torchscript": "torchscript", "pt2": "pt2"}
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "pt2": ".pt2"}


class RunsCode:
    """Unpickling this calls ``pathlib.Path.touch(marker)``: proof that a pickle was executed."""

    def __init__(self, marker: Path, shell: bool = False):
        self.marker, self.shell = marker, shell

    def __reduce__(self):
        if self.shell:
            return (os.system, (f"touch {self.marker}",))
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "CODE-WAS-EXECUTED"
    yield path
    assert not path.exists(), "a hostile pickle was executed"


def assert_one_clear_line(exc: BaseException, *fragments: str) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text and len(text) < 600, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def pickled(obj, protocol: int = 4) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def torch_saved(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def exports_listing(root: Path, backend: str, data: bytes, model: str = "mnist_cnn") -> Path:
    """An exports folder whose manifest lists ``data`` as ``model``'s file for ``backend``, sha256 and all."""
    manifest = read_manifest(SHIPPED)
    item = next(a for a in manifest.models[model].artifacts
                if a.part == "model" and a.format == FORMAT_OF_BACKEND[backend])
    path = root / item.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    write_manifest(root, manifest.with_artifact(model, item, replace(item, sha256=sha256_file(path), bytes=len(data))))
    return path


def checkpoint_with_weights(root: Path, data: bytes, name: str = "mnist_cnn") -> Path:
    """A copy of the shipped checkpoint whose weights are ``data`` and whose card records their sha256."""
    folder = root / name
    shutil.copytree(paths.pretrained_dir(name), folder)
    (folder / WEIGHTS_FILE).write_bytes(data)
    card = json.loads((folder / CARD_FILE).read_text())
    card["weights_sha256"], card["weights_bytes"] = sha256_file(folder / WEIGHTS_FILE), len(data)
    (folder / CARD_FILE).write_text(json.dumps(card))
    return folder


# --- the payload itself -------------------------------------------------------------------------

@pytest.mark.parametrize("shell", [False, True], ids=["Path.touch", "os.system"])
def test_the_payload_really_runs_code_when_unpickled(tmp_path, shell):
    """Control: the pickles below are live. Plain ``pickle.loads`` runs them and creates the marker,
    so "no marker afterwards" in the other tests means the loader refused, not that the payload is inert."""
    marker = tmp_path / "ran"
    pickle.loads(pickled(RunsCode(marker, shell)))
    assert marker.exists()


# --- checkpoints (safetensors) ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["plain pickle", "torch.save", "os.system pickle"])
def test_pickle_posing_as_checkpoint_weights_is_refused(tmp_path, marker, kind):
    """A pickle (raw, or a torch.save() zip) named model.safetensors, with a card whose sha256 matches
    it, is refused by load_checkpoint and load_tensors as "not a valid safetensors file"; nothing runs."""
    payload = {"plain pickle": lambda: pickled(RunsCode(marker)),
               "os.system pickle": lambda: pickled(RunsCode(marker, shell=True)),
               "torch.save": lambda: torch_saved({"weight": RunsCode(marker)})}[kind]()
    folder = checkpoint_with_weights(tmp_path, payload)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint("mnist_cnn", folder)
    assert_one_clear_line(info.value, "is not a valid safetensors file")
    with pytest.raises(CheckpointError) as info:
        load_tensors(folder / WEIGHTS_FILE)
    assert_one_clear_line(info.value, "is not a valid safetensors file")


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    """Weights cut in half: refused by the card's sha256, and, when the card is made to match the
    truncated file, by the safetensors format check. Either way one line, a CheckpointError."""
    whole = (paths.pretrained_dir("mnist_cnn") / WEIGHTS_FILE).read_bytes()
    folder = tmp_path / "as-shipped"
    shutil.copytree(paths.pretrained_dir("mnist_cnn"), folder)
    (folder / WEIGHTS_FILE).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint("mnist_cnn", folder)
    assert_one_clear_line(info.value, "does not match the sha256")

    folder = checkpoint_with_weights(tmp_path / "card-rewritten", whole[: len(whole) // 2])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint("mnist_cnn", folder)
    assert_one_clear_line(info.value, "is not a valid safetensors file")


def test_random_bytes_as_safetensors_are_refused(tmp_path):
    """Random bytes as model.safetensors (the card's sha256 matching them): one line from both loaders."""
    folder = checkpoint_with_weights(tmp_path, np.random.default_rng(1).bytes(10_000))
    for load in (lambda: load_tensors(folder / WEIGHTS_FILE), lambda: load_checkpoint("mnist_cnn", folder)):
        with pytest.raises(CheckpointError) as info:
            load()
        assert_one_clear_line(info.value, "is not a valid safetensors file")


@pytest.mark.parametrize("weights", ["/etc/passwd", "../../../../../../etc/passwd", "../mnist_lstm/model.safetensors"])
def test_checkpoint_card_cannot_name_a_file_outside_its_folder(tmp_path, weights):
    """A card whose "weights" field leaves the checkpoint folder (absolute, "..") is refused before the
    file is hashed or read, even with that file's real sha256 in the card."""
    folder = tmp_path / "ckpt" / "mnist_cnn"
    shutil.copytree(paths.pretrained_dir("mnist_cnn"), folder)
    shutil.copytree(paths.pretrained_dir("mnist_lstm"), tmp_path / "ckpt" / "mnist_lstm")
    card = json.loads((folder / CARD_FILE).read_text())
    target = (folder / weights).resolve()
    card["weights"] = weights
    card["weights_sha256"] = sha256_file(target) if target.is_file() else "0" * 64
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint("mnist_cnn", folder)
    assert_one_clear_line(info.value, "points outside")


@pytest.mark.parametrize("field, value, message", [("kwargs", None, "no constructor arguments"),
                                                   ("kwargs", {"no_such_argument": 1}, "cannot be built"),
                                                   ("weights_sha256", None, "does not match the sha256")])
def test_checkpoint_card_with_missing_or_wrong_fields_is_a_clear_error(tmp_path, field, value, message):
    folder = tmp_path / "mnist_cnn"
    shutil.copytree(paths.pretrained_dir("mnist_cnn"), folder)
    card = json.loads((folder / CARD_FILE).read_text())
    if value is None:
        del card[field]
    else:
        card[field] = value
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint("mnist_cnn", folder)
    assert_one_clear_line(info.value, message)


# --- exported files listed in a manifest with their correct sha256 -----------------------------

@pytest.mark.parametrize("backend", ["onnx", "torchscript", "pt2"])
@pytest.mark.parametrize("kind", ["plain pickle", "torch.save", "random bytes", "empty"])
def test_foreign_file_listed_in_manifest_is_refused(tmp_path, marker, backend, kind):
    """A pickle, a torch.save() file, random bytes or nothing, listed in the manifest as an exported
    file with its correct sha256: load_part refuses it with one line naming the format; nothing runs."""
    data = {"plain pickle": lambda: pickled(RunsCode(marker)),
            "torch.save": lambda: torch_saved((RunsCode(marker),)),
            "random bytes": lambda: np.random.default_rng(2).bytes(20_000),
            "empty": lambda: b""}[kind]()
    root = tmp_path / "exports"
    exports_listing(root, backend, data)
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", backend=backend, device="cpu", root=root)
    assert_one_clear_line(info.value, f"is not a valid {'ONNX model' if backend == 'onnx' else backend + ' file'}")
    assert not str(info.value).endswith("()"), "the reason in parentheses is empty"


def rewrite_zip(src: Path, dst: Path, edit=None, add: dict[str, bytes] | None = None) -> None:
    """Copy a torch zip archive, changing records with ``edit(name, data) -> data | None`` and adding ``add``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        top = zin.namelist()[0].split("/", 1)[0]
        for name in zin.namelist():
            data = zin.read(name)
            data = edit(name[len(top) + 1:], data) if edit else data
            if data is not None:
                zout.writestr(name, data)
        for name, data in (add or {}).items():
            zout.writestr(f"{top}/{name}" if not name.startswith("/") else name[1:], data)


def _weights_pickled(marker):
    """First weight marked use_pickle, its bytes a torch.save() of the payload."""
    state = {}

    def edit(name, data):
        if name == "data/weights/model_weights_config.json":
            config = json.loads(data)
            fqn = next(iter(config["config"]))
            config["config"][fqn]["use_pickle"] = True
            state["file"] = "data/weights/" + config["config"][fqn]["path_name"]
            return json.dumps(config).encode()
        return data
    return edit, state


def crafted_pt2(kind: str, marker: Path, dst: Path) -> Path:
    """mnist_cnn.pt2 as shipped, with one way of smuggling a pickle (or code) into it."""
    src = SHIPPED / "mnist_cnn" / "mnist_cnn.pt2"
    evil_torch, evil_pickle = torch_saved((RunsCode(marker),)), pickled(RunsCode(marker))
    if kind == "sample inputs":
        rewrite_zip(src, dst, lambda n, d: evil_torch if n == "data/sample_inputs/model.pt" else d)
    elif kind == "weight with use_pickle":
        edit, state = _weights_pickled(marker)
        rewrite_zip(src, dst.with_suffix(".tmp"), edit)
        rewrite_zip(dst.with_suffix(".tmp"), dst, lambda n, d: torch_saved(RunsCode(marker)) if n == state["file"] else d)
    elif kind in ("opaque constant", "opaque constant named as raw", "opaque constant in the config only"):
        # A constant whose file name says "opaque object": torch.export.load runs pickle.loads on it,
        # whether or not its config entry says use_pickle.
        raw = kind != "opaque constant"  # use_pickle False with a tensor_meta, as a raw tensor would have
        meta = {"dtype": 1, "sizes": [{"as_int": len(evil_pickle)}], "requires_grad": False,
                "device": {"type": "cpu", "index": None}, "strides": [{"as_int": 1}],
                "storage_offset": {"as_int": 0}, "layout": 7}
        entry = {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": not raw, "tensor_meta": meta if raw else None}
        rewrite_zip(src, dst, lambda n, d: json.dumps({"config": {"evil": entry}}).encode()
                    if n == "data/constants/model_constants_config.json" else d,
                    add={} if kind.endswith("config only") else {"data/constants/opaque_obj_0": evil_pickle})
    elif kind == "legacy weights file":
        rewrite_zip(src, dst, add={"data/weights/model.pt": evil_torch})
    elif kind == "compiled code":
        rewrite_zip(src, dst, add={"data/aotinductor/model/model.so": b"\x7fELF" + b"\0" * 64})
    elif kind == "entry outside the archive folder":
        rewrite_zip(src, dst, add={"/version": b"3\n", "/serialized_exported_program.json": b"{}"})
    elif kind == "duplicate entry":
        with zipfile.ZipFile(src) as z:
            top = z.namelist()[0].split("/", 1)[0]
        rewrite_zip(src, dst)
        with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(dst, "a") as z:
            z.writestr(f"{top}/data/sample_inputs/model.pt", evil_torch)
    else:
        raise ValueError(kind)
    return dst


PT2_TRICKS = {  # trick -> what digitzoo's archive check says (torch's own failures say none of these)
    "sample inputs": "is a pickle of more than tensors",
    "weight with use_pickle": "stores 'module.features.0.0.weight' as a pickle",
    "opaque constant": "holds 'data/constants/opaque_obj_0'",
    "opaque constant named as raw": "holds 'data/constants/opaque_obj_0'",
    "opaque constant in the config only": "stores 'evil' as a pickle or an object",
    "legacy weights file": "holds 'data/weights/model.pt'",
    "compiled code": "holds 'data/aotinductor/model/model.so'",
    "entry outside the archive folder": "not in one folder",
    "duplicate entry": "duplicate entries",
}


@pytest.mark.parametrize("kind", PT2_TRICKS)
def test_crafted_pt2_archive_is_refused_before_torch_loads_it(tmp_path, marker, kind):
    """A real mnist_cnn.pt2 with a pickle or compiled code smuggled in, listed with its sha256:
    load_part(backend="pt2") refuses it with one line saying what was found, and the payload never runs."""
    data = crafted_pt2(kind, marker, tmp_path / "evil.pt2").read_bytes()
    root = tmp_path / "exports"
    exports_listing(root, "pt2", data)
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", backend="pt2", device="cpu", root=root)
    assert_one_clear_line(info.value, "is not a valid pt2 file", PT2_TRICKS[kind])


@pytest.mark.parametrize("kind", ["sample inputs", "weight with use_pickle", "opaque constant",
                                  "opaque constant named as raw", "legacy weights file"])
def test_crafted_pt2_archive_runs_code_under_plain_torch_export_load(tmp_path, kind, caplog):
    """Control, and the reason for the check above: torch.export.load itself (torch 2.15) unpickles
    these archives and runs the payload, even when it then fails. If this starts failing, torch
    stopped doing so and the archive check is merely redundant for that trick."""
    import torch

    marker = tmp_path / "ran"
    path = crafted_pt2(kind, marker, tmp_path / "evil.pt2")
    with caplog.at_level(logging.CRITICAL):
        try:
            torch.export.load(str(path))
        except Exception:  # noqa: BLE001 - many of them fail after running the payload
            pass
    assert marker.exists()


@pytest.mark.parametrize("record", ["data.pkl", "constants.pkl"])
def test_torchscript_archive_with_a_hostile_pickle_is_refused(tmp_path, marker, record):
    """A real mnist_cnn.pt whose data.pkl / constants.pkl is replaced by the payload: TorchScript's
    own unpickler refuses the unknown global; the error is one line with a non-empty reason."""
    path = tmp_path / "evil.pt"
    rewrite_zip(SHIPPED / "mnist_cnn" / "mnist_cnn.pt", path,
                lambda n, d: pickled(RunsCode(marker), protocol=2) if n == record else d)
    root = tmp_path / "exports"
    exports_listing(root, "torchscript", path.read_bytes())
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", backend="torchscript", device="cpu", root=root)
    assert_one_clear_line(info.value, "is not a valid torchscript file (Unknown type name")


@pytest.mark.parametrize("damage", ["weight missing", "graph is garbage"])
def test_damaged_pt2_logs_no_traceback(tmp_path, capfd, caplog, damage):
    """A .pt2 with an allowed layout but a missing weight or a garbage graph: one line, and
    torch.export.load's own logged traceback (it logs one before retrying an older format when
    the archive reader fails) is not emitted either."""
    path = tmp_path / "damaged.pt2"
    edit = {"weight missing": lambda n, d: None if n == "data/weights/weight_3" else d,
            "graph is garbage": lambda n, d: b'{"not": "a graph"}' if n == "models/model.json" else d}[damage]
    rewrite_zip(SHIPPED / "mnist_cnn" / "mnist_cnn.pt2", path, edit)
    root = tmp_path / "exports"
    exports_listing(root, "pt2", path.read_bytes())
    caplog.set_level(logging.WARNING)
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", backend="pt2", device="cpu", root=root)
    assert_one_clear_line(info.value, "is not a valid pt2 file")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_shipped_exports_pass_the_archive_and_external_data_checks():
    """The checks refuse only hostile files: every shipped .pt / .pt2 passes the archive check, no
    shipped .onnx uses external data, and each backend still opens and runs mnist_cnn."""
    manifest = read_manifest(SHIPPED)
    for entry in manifest.models.values():
        for item in entry.artifacts:
            path = SHIPPED / item.file
            if item.format == "onnx":
                assert not onnx_uses_external_data(path.read_bytes()), path
            else:
                check_torch_archive(path, item.format)
    for backend in ("onnx", "torchscript", "pt2"):
        part = load_part("mnist_cnn", backend=backend, device="cpu", root=SHIPPED)
        (logits,) = part(np.zeros((2, 1, 28, 28), np.float32))
        assert logits.shape == (2, 10)


# --- ONNX external data ------------------------------------------------------------------------

def onnx_with_external(location: str, where: str = "initializer") -> bytes:
    """A tiny valid model, y = x + w, whose w (4 floats) is stored in the external file ``location``.

    ``where``: "initializer" (a graph initializer), "constant" (a Constant node's tensor attribute),
    "subgraph" (an initializer of an If node's branch) or "function" (a Constant in a model-local function).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    onnx.external_data_helper.set_external_data(w, location=location, offset=0, length=16)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    opsets = [helper.make_opsetid("", 20)]
    functions = []
    if where == "initializer":
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [w])
    elif where == "constant":
        graph = helper.make_graph([helper.make_node("Constant", [], ["w"], value=w),
                                   helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y])
    elif where == "subgraph":
        branch = helper.make_graph([helper.make_node("Identity", ["w"], ["b"])], "branch", [],
                                   [helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])], [w])
        cond = numpy_helper.from_array(np.array(True), "cond")
        graph = helper.make_graph([helper.make_node("If", ["cond"], ["w2"], then_branch=branch, else_branch=branch),
                                   helper.make_node("Add", ["x", "w2"], ["y"])], "g", [x], [y], [cond])
    elif where == "function":
        body = [helper.make_node("Constant", [], ["w"], value=w), helper.make_node("Add", ["a", "w"], ["o"])]
        functions = [helper.make_function("local", "AddW", ["a"], ["o"], body, opsets)]
        opsets = opsets + [helper.make_opsetid("local", 1)]
        graph = helper.make_graph([helper.make_node("AddW", ["x"], ["y"], domain="local")], "g", [x], [y])
    else:
        raise ValueError(where)
    model = helper.make_model(graph, opset_imports=opsets, functions=functions)
    model.ir_version = 10
    return model.SerializeToString()


@pytest.mark.parametrize("where", ["initializer", "constant", "subgraph", "function"])
def test_external_data_scan_agrees_with_the_onnx_library(where):
    """The stdlib scan in hub.runtime says "external" exactly where onnx's own helpers find an
    external tensor, wherever in the model the tensor sits; and "not external" for the same model
    with its data inline."""
    import onnx
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    data = onnx_with_external("w.bin", where)
    model = onnx.load_from_string(data)
    assert any(uses_external_data(t) for t in _get_all_tensors(model))
    assert onnx_uses_external_data(data)
    for t in _get_all_tensors(model):
        t.ClearField("external_data")
        t.data_location = onnx.TensorProto.DEFAULT
        t.raw_data = np.zeros(4, np.float32).tobytes() if t.name == "w" else t.raw_data
    assert not onnx_uses_external_data(model.SerializeToString())


def test_external_data_scan_refuses_what_is_not_protobuf():
    with pytest.raises(ValueError):
        onnx_uses_external_data(b"\xff" * 64)
    with pytest.raises(ValueError):
        onnx_uses_external_data(b"\x3a\xff\xff\xff\x0f")  # graph field claiming 4 GB


@pytest.fixture
def outside_secret(tmp_path) -> Path:
    """A file outside the exports folder that a model must not read (16 bytes = the 4 floats of w)."""
    path = tmp_path / "outside" / "secret.bin"
    path.parent.mkdir()
    path.write_bytes(b"SECRET-16-BYTES!")
    return path


@pytest.mark.parametrize("where", ["initializer", "constant"])
@pytest.mark.parametrize("location", ["relative escape", "absolute", "/etc/passwd", "../../../../etc/passwd", "inside the folder"])
def test_onnx_with_external_data_is_refused_before_a_session_is_made(tmp_path, outside_secret, monkeypatch, where, location):
    """An ONNX file whose weights live in another file (outside the exports folder by "..", by an
    absolute path, or even inside it, where the manifest's sha256 would not cover them), listed with
    its sha256: load_part refuses it with one line, and ONNX Runtime is never asked to open it."""
    import onnxruntime as ort

    root = tmp_path / "exports"
    target = root / "mnist_cnn" / "mnist_cnn.onnx"
    spot = {"relative escape": os.path.relpath(outside_secret, target.parent), "absolute": str(outside_secret),
            "inside the folder": "weights.bin"}.get(location, location)
    if location == "inside the folder":
        target.parent.mkdir(parents=True)
        (target.parent / "weights.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    exports_listing(root, "onnx", onnx_with_external(spot, where))
    sessions = []
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: sessions.append(a) or pytest.fail("session made"))
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", backend="onnx", device="cpu", root=root)
    assert_one_clear_line(info.value, "refers to external data files", "self-contained")
    assert sessions == []


def test_onnx_external_data_model_is_valid_for_onnxruntime(tmp_path):
    """Control: the crafted model is a real, loadable ONNX model (ONNX Runtime runs it and reads
    its in-folder external weights), so the refusal above is digitzoo's check, not a broken file."""
    import onnxruntime as ort

    (tmp_path / "weights.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_with_external("weights.bin"))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.ones(4, np.float32)})
    np.testing.assert_array_equal(y, [1, 2, 3, 4])


def test_manifest_still_refuses_files_outside_the_exports(tmp_path):
    """The manifest itself is hostile: an entry naming /etc/passwd (absolute) is refused before hashing."""
    root = tmp_path / "exports"
    exports_listing(root, "onnx", b"x")
    manifest = json.loads((root / MANIFEST_FILE).read_text())
    item = next(a for a in manifest["models"]["mnist_cnn"]["artifacts"] if a["format"] == "onnx")
    item["file"] = "/etc/passwd"
    (root / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DigitzooError) as info:
        load_part("mnist_cnn", root=root)
    assert_one_clear_line(info.value, "outside")
