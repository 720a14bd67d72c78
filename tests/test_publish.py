"""Publishing without the network: the model repository's files and card, the Space folder,
dry runs, and the one-line errors for a bad name, no token and an unreachable Hub."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digitzoo.apps.bench import free_port
from digitzoo.cli import main
from digitzoo.hub.serving.manifest import exports_root, read_manifest
from digitzoo.hub.publish.model_repo import model_repo_files
from digitzoo.hub.publish.space import build_space, is_gpu_hardware, requirements, space_tabs

REPO = Path(__file__).resolve().parents[1]


def front_matter(text: str) -> dict:
    assert text.startswith("---\n"), text[:80]
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.fixture()
def no_hub(monkeypatch, tmp_path):
    """No token anywhere, and HF_ENDPOINT on a loopback port where nothing listens."""
    port = free_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    return f"http://127.0.0.1:{port}"


def test_model_card_has_the_hub_metadata_and_the_measured_metrics():
    files = {f.path: f for f in model_repo_files(exports_root(), "alice/digitzoo-mnist")}
    card = files["README.md"].data.decode()
    meta = front_matter(card)
    for key in ("library_name", "license", "tags", "datasets", "metrics", "pipeline_tag", "model-index"):
        assert meta.get(key), key
    assert meta["license"] == "mit" and "ylecun/mnist" in meta["datasets"]
    manifest = read_manifest()
    reported = {m["name"]: m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"]}
    assert reported["mnist_cnn: test accuracy"] == round(manifest.models["mnist_cnn"].metrics["test_accuracy"], 4)
    assert reported["mnist_ae3d: test reconstruction MSE"] == round(manifest.models["mnist_ae3d"].metrics["test_mse"], 4)
    # Every exported model is in the model-index, every classifier with its test accuracy.
    assert {name.split(":")[0] for name in reported} == set(manifest.models)
    for name, entry in manifest.models.items():
        if entry.task == "classifier":
            assert reported[f"{name}: test accuracy"] == round(entry.metrics["test_accuracy"], 4)
            assert f"| `{name}` |" in card
    for section in ("## What it is", "## How it was trained", "## Evaluation results", "## How to use the files",
                    "## Limitations"):
        assert section in card
    assert 'ort.InferenceSession("mnist_cnn.onnx"' in card  # the export snippets, inline


def test_model_repo_lists_every_file_with_its_sha256_in_the_manifest():
    files = model_repo_files(exports_root(), "alice/digitzoo-mnist")
    by_path = {f.path: f for f in files}
    for name in read_manifest().models:
        for suffix in ("model.safetensors", "config.json", "card.json", "README.md"):
            assert f"{name}/{suffix}" in by_path
        config = json.loads(by_path[f"{name}/config.json"].data)
        assert config["model"] == name and config["kwargs"] and config["architecture"].startswith("digitzoo.hub.models.")
    listed = json.loads(by_path["manifest.json"].data)["repository"]["files"]
    assert set(listed) == set(by_path) - {"manifest.json"}
    for f in files:
        content = f.data if f.data is not None else f.source.read_bytes()
        assert hashlib.sha256(content).hexdigest() == f.sha256
        if f.path != "manifest.json":
            assert listed[f.path]["sha256"] == f.sha256


def test_push_dry_run_prints_files_and_card_without_network(no_hub, capsys):
    assert main(["push", "alice/digitzoo-mnist", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "alice/digitzoo-mnist" in out and "dry run: nothing was sent" in out
    onnx = next(a for a in read_manifest().models["mnist_cnn"].artifacts if a.format == "onnx")
    assert f"sha256 {onnx.sha256}" in out  # each file with its checksum
    assert "model-index:" in out and "## Limitations" in out  # the rendered README


@pytest.mark.parametrize("argv, message", [
    (["push", "not a repo name"], "is not a valid repository name"),
    (["push", "alice/x/y", "--dry-run"], "is not a valid repository name"),
    (["pull", "bad name!"], "is not a valid repository name"),
    (["space", "push", "alice/-bad-", "--dry-run"], "is not a valid repository name"),
    (["push", "alice/digitzoo-mnist"], "no Hugging Face token"),
    (["space", "push", "alice/digitzoo"], "no Hugging Face token"),
])
def test_user_errors_are_one_line(no_hub, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_unreachable_hub_is_one_line(no_hub, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_anything")
    assert main(["push", "alice/digitzoo-mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Hugging Face Hub at " + no_hub in err and len(err.splitlines()) == 1, err
    assert main(["pull", "alice/digitzoo-mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach" in err and len(err.splitlines()) == 1, err


def test_space_folder_is_self_contained(tmp_path):
    space = build_space(tmp_path / "space", exports_root(), "cpu-basic", "alice/digitzoo-mnist")
    meta = front_matter((space / "README.md").read_text(encoding="utf-8"))
    for key in ("title", "emoji", "sdk", "sdk_version", "python_version", "app_file", "license",
                "short_description", "models", "datasets", "tags", "suggested_hardware"):
        assert meta.get(key) not in (None, "", []), key
    reqs = (space / "requirements.txt").read_text().split()
    assert meta["sdk"] == "gradio" and f"gradio=={meta['sdk_version']}" in reqs
    assert len(meta["short_description"]) <= 60 and meta["models"] == ["alice/digitzoo-mnist"]
    assert all("==" in r for r in reqs) and not any(r.startswith("torch") for r in reqs)
    # only ONNX files travel, each listed with its checksum; no pickles, no weights
    bundled = read_manifest(space / "models")
    assert {a.format for e in bundled.models.values() for a in e.artifacts} == {"onnx"}
    assert not list(space.rglob("*.pt")) and not list(space.rglob("*.pt2")) and not list(space.rglob("*.safetensors"))
    # the packages travel whole (a module added tomorrow travels too), without what is not their code
    for package in ("hub", "hub/serving", "apps"):
        here = {p.name for p in (REPO / package).glob("*.py")}
        assert here and here == {p.name for p in (space / "digitzoo" / package).glob("*.py")}, package
    assert (space / "digitzoo" / "apps" / "web" / "sketch.js").is_file()
    assert not any((space / "digitzoo" / "apps" / "web" / name).exists() for name in ("test", "eslint.config.js", ".npmrc"))
    assert not [p for p in space.rglob("*") if p.name in ("node_modules", "command-line", "__pycache__")]
    # of the pretrained store only the test digits travel (the Your-model tab scores a visitor's model on them)
    # and the explanation verdicts (the "Why?" view labels the methods that are not faithful on a model)
    assert sorted(p.name for p in (space / "digitzoo" / "hub" / "pretrained").iterdir()) == ["digits", "explain_verdicts.json"]
    assert (space / "digitzoo" / "hub" / "pretrained" / "digits" / "digits.json").is_file()
    assert not (space / "digitzoo" / "cli").exists()  # the command line stays home
    # its own code, not this checkout's, builds the whole app without torch
    check = ("import sys, digitzoo.apps as apps, digitzoo.apps.gradio_app as gradio_app, digitzoo.apps.parts as parts\n"
             "import digitzoo.apps.pages as pages\n"
             "assert apps.__file__.startswith(sys.argv[1]), apps.__file__\n"
             f"parts.configure('onnx', 'cpu', 'models'); gradio_app.build_app({space_tabs(False)!r}); pages.routes()\n"
             "assert 'torch' not in sys.modules and 'digitzoo.train' not in sys.modules\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", check, str(space)], cwd=space, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(space)})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_space_requirements_bring_cuda_only_for_gpu_hardware():
    assert is_gpu_hardware("t4-small") and not is_gpu_hardware("cpu-basic")
    assert "[cuda,cudnn]" in requirements("t4-small") and "[cuda,cudnn]" not in requirements("cpu-basic")


def test_space_build_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "mine.txt").write_text("keep me")
    assert main(["space", "build", str(tmp_path / "space")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "space" / "mine.txt").read_text() == "keep me"


def test_space_push_dry_run_lists_the_built_folder(no_hub, capsys):
    assert main(["space", "push", "alice/digitzoo", "--dry-run", "--hardware", "t4-small"]) == 0
    out = capsys.readouterr().out
    assert "Space" in out and "hardware t4-small" in out and "app.py" in out and "requirements.txt" in out
    assert "suggested_hardware: t4-small" in out and "models/mnist_cnn/mnist_cnn.onnx" in out


def test_space_with_the_playground_brings_its_lessons_and_cpu_torch(tmp_path):
    space = build_space(tmp_path / "space", exports_root(), "cpu-basic", None, playground=True)
    reqs = (space / "requirements.txt").read_text().splitlines()
    assert reqs[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"  # the CPU build: no CUDA download
    assert any(r.startswith("torch==") and "+" not in r for r in reqs)
    assert any(r.startswith("gymnasium==") for r in reqs) and any(r.startswith("scikit-learn==") for r in reqs)
    # The Space's own copy of the lessons builds the Playground tab.
    check = ("import sys, digitzoo.apps.gradio_app as gradio_app, digitzoo.hub.lessons.lesson as lesson\n"
             "assert lesson.__file__.startswith(sys.argv[1]), lesson.__file__\n"
             "gradio_app.build_app(['playground']); print(len(lesson.list_lessons()))")
    out = subprocess.run([sys.executable, "-c", check, str(space)], cwd=space, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(space)})
    assert out.returncode == 0, out.stderr[-2000:]
    from digitzoo.hub.lessons.lesson import list_lessons

    assert int(out.stdout.split()[-1]) == len(list_lessons())
    # Without --playground the Space serves no Playground tab and torch is not required.
    plain = build_space(tmp_path / "plain", exports_root(), "cpu-basic", None)
    assert "'playground'" not in (plain / "app.py").read_text() and "'playground'" in (space / "app.py").read_text()
    assert not any(r.startswith("torch") for r in (plain / "requirements.txt").read_text().split())


@pytest.mark.parametrize("repo_type, named", [("model", "public model repository {url}/alice/x"),
                                              ("space", "public Space {url}/spaces/alice/x"),
                                              ("dataset", "public dataset repository {url}/datasets/alice/x")])
def test_a_dry_run_names_the_kind_of_repository_and_its_address(repo_type, named, monkeypatch):
    from digitzoo.hub.publish import hfclient
    from digitzoo.hub.publish.model_repo import RepoFile

    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    lines = []
    card = RepoFile("README.md", hashlib.sha256(b"# x\n").hexdigest(), 4, data=b"# x\n")
    assert hfclient.push_files("alice/x", [card], repo_type=repo_type, private=False, revision=None, message="m",
                               dry_run=True, out=lines.append) is None
    assert named.format(url=hfclient.endpoint()) in "\n".join(lines)
