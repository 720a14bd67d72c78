"""Push, space push and pull through the real huggingface_hub client against a loopback Hub
(tests/fake_hub.py): what lands in the repository, and what a pull installs or refuses."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import yaml
from fake_hub import FakeHub

from digitzoo.hub.serving import paths
from digitzoo.cli import main
from digitzoo.hub.serving.manifest import Manifest, exports_root, read_manifest

TOKEN = "hf_alice_writes"
REPO = "alice/digitzoo-mnist"


@pytest.fixture
def hub(monkeypatch, tmp_path, store):
    with FakeHub(tokens={TOKEN: "alice"}) as hub:
        hub.use(monkeypatch, tmp_path / "hf_home")
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield hub


@pytest.fixture
def pushed(hub, capsys):
    assert main(["push", REPO]) == 0
    capsys.readouterr()
    return hub.repos[("model", REPO)]


def test_push_uploads_everything_in_one_commit(pushed):
    shipped = read_manifest()
    assert len(pushed.commits) == 2  # the repository's initial commit, then ours: one commit
    ours = pushed.commits[-1]
    assert ours["message"].startswith("digitzoo push")
    assert {path for path, _ in ours["operations"]} == set(pushed.files)
    manifest = json.loads(pushed.files["manifest.json"])
    for path, meta in manifest["repository"]["files"].items():
        assert hashlib.sha256(pushed.files[path]).hexdigest() == meta["sha256"], path
    for name, entry in shipped.models.items():
        for a in entry.artifacts:
            assert hashlib.sha256(pushed.files[a.file]).hexdigest() == a.sha256
        assert f"{name}/model.safetensors" in pushed.files and f"{name}/config.json" in pushed.files
    card = pushed.files["README.md"].decode()
    assert yaml.safe_load(card.split("---\n", 2)[1])["library_name"] == "digitzoo"


def test_pull_verifies_and_installs_models_for_serve_and_runtime(pushed, capsys):
    from digitzoo.hub.checkpoint import find_checkpoint, load_checkpoint
    from digitzoo.hub.serving.runtime import load_part

    assert main(["pull", REPO]) == 0
    out = capsys.readouterr().out
    assert "match their sha256" in out and "Installed" in out
    assert exports_root() == paths.exports_dir()  # what `digitzoo serve` and hub.runtime now open
    assert read_manifest().models.keys() == json.loads(pushed.files["manifest.json"])["models"].keys()
    logits, = load_part("mnist_cnn")(np.zeros((1, 1, 28, 28), np.float32))
    assert logits.shape == (1, 10)
    model, card = load_checkpoint("mnist_cnn")  # weights restored as a checkpoint, checksum-checked
    restored = paths.checkpoint_dir("mnist_cnn") / "model.safetensors"
    assert find_checkpoint("mnist_cnn") == paths.checkpoint_dir("mnist_cnn")  # the pulled one, not the shipped one
    assert restored.is_file() and card["name"] == "mnist_cnn"
    assert hashlib.sha256(restored.read_bytes()).hexdigest() == card["weights_sha256"] \
        == hashlib.sha256(pushed.files["mnist_cnn/model.safetensors"]).hexdigest()


def test_pull_refuses_a_file_that_differs_from_the_manifest(hub, pushed, capsys):
    pushed.files["mnist_cnn/mnist_cnn.onnx"] = b"not the model that was pushed"
    assert main(["pull", REPO]) == 2
    err = capsys.readouterr().err
    assert "mnist_cnn/mnist_cnn.onnx does not match the sha256" in err
    assert not paths.exports_dir().exists()  # nothing was installed


def test_pull_keeps_what_was_there_before(pushed, capsys):
    mine = paths.exports_dir()
    mine.mkdir(parents=True)
    (mine / "my-notes.txt").write_text("mine")
    assert main(["pull", REPO]) == 0
    kept = [p for p in mine.parent.iterdir() if p.name.startswith("exports.before-pull-")]
    assert len(kept) == 1 and (kept[0] / "my-notes.txt").read_text() == "mine"
    assert "kept your previous exports" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["pull", "alice/nothing-here"], "does not exist"),
    (["push", REPO], "refused the token (401)"),
])
def test_hub_answers_become_one_line(hub, monkeypatch, capsys, argv, message):
    if "push" in argv:
        monkeypatch.setenv("HF_TOKEN", "hf_revoked")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_space_push_creates_a_gradio_space_in_one_commit(hub, capsys):
    assert main(["space", "push", "alice/digitzoo", "--hardware", "cpu-basic", "--model-repo", REPO]) == 0
    space = hub.repos[("space", "alice/digitzoo")]
    assert space.space_sdk == "gradio" and space.space_hardware == "cpu-basic"
    assert len(space.commits) == 2 and {"app.py", "requirements.txt", "README.md", "models/manifest.json"} <= set(space.files)
    meta = yaml.safe_load(space.files["README.md"].decode().split("---\n", 2)[1])
    assert meta["sdk"] == "gradio" and meta["models"] == [REPO]
    bundled = Manifest.from_json(json.loads(space.files["models/manifest.json"]))
    for entry in bundled.models.values():
        for a in entry.artifacts:
            assert hashlib.sha256(space.files["models/" + a.file]).hexdigest() == a.sha256
