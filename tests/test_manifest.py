"""The typed manifest: the shipped manifest.json round-trips unchanged, a manifest of the wrong shape
is refused with one sentence, and readers get typed values (no string keys)."""

import copy
import json

import pytest

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.manifest import (MANIFEST_FILE, Artifact, DemoData, Manifest, ModelEntry, Tensor, artifact,
                                           demo_models, manifest_text, part_with_role, parts_with_role, read_manifest,
                                           write_manifest)

SHIPPED = paths.pretrained_exports_dir() / MANIFEST_FILE


def shipped_json() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_manifest_round_trips_byte_for_byte(tmp_path):
    data = shipped_json()
    manifest = Manifest.from_json(data)
    assert manifest.to_json() == data
    assert Manifest.from_json(manifest.to_json()) == manifest
    write_manifest(tmp_path, read_manifest(SHIPPED.parent))
    assert (tmp_path / MANIFEST_FILE).read_bytes() == SHIPPED.read_bytes()
    assert manifest_text(manifest) == SHIPPED.read_text(encoding="utf-8")


def test_absent_optional_keys_stay_absent_and_unknown_keys_are_kept():
    data = shipped_json()
    data["added_by_a_newer_exporter"] = {"x": 1}
    data["repository"] = {"repo_id": "alice/digitzoo-mnist", "files": {}}
    entry = data["models"]["mnist_cnn"]
    entry["card"] = "kept"
    entry["artifacts"][0]["signature"] = "kept too"
    entry["artifacts"][0]["inputs"][0]["layout"] = "NCHW"
    del data["models"]["mnist_mlp"]["latency"]
    del data["models"]["mnist_mlp"]["versions"]
    manifest = Manifest.from_json(copy.deepcopy(data))
    assert manifest.to_json() == data
    assert manifest.extra == {"added_by_a_newer_exporter": {"x": 1}}
    assert manifest.versions is None and manifest.repository["repo_id"] == "alice/digitzoo-mnist"
    assert manifest.models["mnist_cnn"].extra == {"card": "kept"}
    assert manifest.models["mnist_mlp"].latency is None and manifest.models["mnist_mlp"].versions is None
    assert all(a.versions is None for a in manifest.models["mnist_mlp"].artifacts)
    assert Manifest().to_json() == {"format": "digitzoo-manifest/1", "models": {}}


def test_a_manifest_from_before_per_entry_versions_still_reads():
    """Older manifests have one top-level versions block (the last export run's) and none per entry."""
    data = shipped_json()
    for entry in data["models"].values():
        entry.pop("versions")
        for item in entry["artifacts"]:
            item.pop("versions", None)
    data["versions"] = {"digitzoo": "0.1.0", "onnx": "1.23.2", "onnxruntime": "1.31.1", "python": "3.11.7",
                        "torch": "2.14.1+cu130"}
    manifest = Manifest.from_json(copy.deepcopy(data))
    assert manifest.to_json() == data and manifest.versions["torch"] == "2.14.1+cu130"
    cnn = manifest.models["mnist_cnn"]
    assert cnn.versions is None and cnn.versions_of(cnn.artifacts[0]) is None


def test_every_shipped_entry_says_which_torch_exported_it():
    """Per entry (and per file where a later `--parts` run made it with another torch); the shipped
    blocks were recovered from the files, so they say where from and claim nothing the files lack."""
    manifest = read_manifest(SHIPPED.parent)
    assert "versions" not in shipped_json()  # the old top-level block is gone
    for name, entry in manifest.models.items():
        assert entry.versions and entry.versions["torch"].startswith("2."), name
        assert set(entry.versions) <= {"torch", "onnx", "onnxruntime", "python", "digitzoo", "recovered_from"}
        for item in entry.artifacts:
            versions = entry.versions_of(item)
            assert versions["torch"], (name, item.file)
            if "recovered_from" in versions:
                assert set(versions) == {"torch", "recovered_from"}, (name, item.file)
    cnn = manifest.models["mnist_cnn"]
    explain = artifact(manifest, "mnist_cnn", "explain", "onnx")
    assert cnn.versions_of(explain) == explain.versions != cnn.versions  # added by `export all --parts explain`


def test_readers_get_typed_values():
    manifest = read_manifest(SHIPPED.parent)
    cnn = manifest.models["mnist_cnn"]
    assert isinstance(cnn, ModelEntry) and cnn.task == "classifier" and cnn.labels == [str(d) for d in range(10)]
    assert cnn.demo_settings["tab"] == "draw" and manifest.models["mnist_not_digit"].demo_settings == {}
    item = artifact(manifest, "mnist_cnn", "model", "onnx")
    assert isinstance(item, Artifact) and item is cnn.artifacts[0]
    assert item.file == "mnist_cnn/mnist_cnn.onnx" and len(item.sha256) == 64 and isinstance(item.bytes, int)
    assert isinstance(item.inputs[0], Tensor) and item.inputs[0].name == "image"
    assert item.inputs[0].shape == ["batch", 1, 28, 28] and item.outputs[0].value_range is None
    assert item.test_data and artifact(manifest, "mnist_cnn", "model", "pt2").test_data is None
    assert isinstance(manifest.models["mnist_ae3d"].demo_data, DemoData)
    assert manifest.models["mnist_ae3d"].demo_data.points == 2000
    assert parts_with_role(manifest, "decoder") == [("mnist_ae3d", "decoder")]
    assert part_with_role(manifest, "mnist_gan", "generator") == "generator"
    assert demo_models(manifest, "latent") == ["mnist_ae3d"]
    assert sum(1 for _ in manifest.artifacts()) == sum(len(e.artifacts) for e in manifest.models.values())
    with pytest.raises(AttributeError):
        cnn.title = "changed"  # frozen: a change is a new manifest (with_model, with_artifact, dataclasses.replace)


def test_with_model_and_with_artifact_leave_the_original_alone():
    manifest = read_manifest(SHIPPED.parent)
    item = artifact(manifest, "mnist_cnn", "model", "onnx")
    changed = manifest.with_artifact("mnist_cnn", item, Artifact.from_json({**item.to_json(), "bytes": 1}, "test"))
    assert artifact(changed, "mnist_cnn", "model", "onnx").bytes == 1 and item.bytes != 1
    assert list(changed.models) == list(manifest.models)
    assert list(manifest.only(["mnist_gan", "mnist_cnn"]).models) == ["mnist_gan", "mnist_cnn"]


def _broken(change) -> dict:
    data = shipped_json()
    change(data)
    return data


def _sentence(exc: DigitzooError) -> str:
    text = str(exc)
    assert "\n" not in text and text.count(". ") == 0, text
    return text


@pytest.mark.parametrize("change, says", [
    (lambda d: d.update(format="digitzoo-manifest/2"), "format is 'digitzoo-manifest/2', not digitzoo-manifest/1"),
    (lambda d: d.pop("format"), "format is None"),
    (lambda d: d.pop("models"), "top level lacks the key 'models'"),
    (lambda d: d.update(models=[]), "the manifest's models should be an object, not a list"),
    (lambda d: d["models"].update(mnist_cnn="a string"), "models.mnist_cnn should be an object, not a string"),
    (lambda d: d["models"]["mnist_cnn"]["artifacts"][1].pop("sha256"), "models.mnist_cnn.artifacts[1] lacks the key 'sha256'"),
    (lambda d: d["models"]["mnist_cnn"]["artifacts"][0].update(bytes="12"),
     "models.mnist_cnn.artifacts[0].bytes should be an integer, not a string"),
    (lambda d: d["models"]["mnist_cnn"]["artifacts"][0].update(bytes=True),
     "models.mnist_cnn.artifacts[0].bytes should be an integer, not true or false"),
    (lambda d: d["models"]["mnist_cnn"].update(labels=[0, 1]), "models.mnist_cnn.labels should be a list of strings"),
    (lambda d: d["models"]["mnist_cnn"].update(demo="draw"), "models.mnist_cnn.demo should be an object, not a string"),
    (lambda d: d["models"]["mnist_ae3d"]["demo_data"].pop("file"), "models.mnist_ae3d.demo_data lacks the key 'file'"),
    (lambda d: d["models"]["mnist_gan"]["artifacts"][0]["inputs"][1].pop("dtype"),
     "models.mnist_gan.artifacts[0].inputs[1] lacks the key 'dtype'"),
    (lambda d: d.update(versions="2.0"), "the manifest's versions should be an object, not a string"),
    (lambda d: d["models"]["mnist_cnn"].update(versions="2.0"), "models.mnist_cnn.versions should be an object, not a string"),
    (lambda d: d["models"]["mnist_cnn"]["versions"].update(torch=2),
     "models.mnist_cnn.versions should be an object of strings"),
    (lambda d: d["models"]["mnist_cnn"]["artifacts"][3].update(versions=[]),
     "models.mnist_cnn.artifacts[3].versions should be an object, not a list"),
])
def test_a_manifest_of_the_wrong_shape_is_refused_in_one_sentence(change, says):
    with pytest.raises(DigitzooError) as info:
        Manifest.from_json(_broken(change))
    assert says in _sentence(info.value)


def test_reading_a_broken_manifest_names_the_file(tmp_path):
    data = _broken(lambda d: d["models"]["mnist_cnn"].pop("title"))
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(DigitzooError) as info:
        read_manifest(tmp_path)
    text = _sentence(info.value)
    assert str(tmp_path / MANIFEST_FILE) in text and "models.mnist_cnn lacks the key 'title'" in text
    with pytest.raises(DigitzooError, match="should be an object, not a list"):
        Manifest.from_json([])
