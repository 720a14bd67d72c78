"""The distribution: one import name, `digitzoo`; extras that match what people do.

The wheel is built here for real (pip, the project's own build backend) and read as a zip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# {"hub/command-line": "digitzoo.cli", "hub": "digitzoo.hub", ...}: pyproject's package-dir, read, not repeated.
FOLDERS = {folder: package for package, folder in
           tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].items()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert build.returncode == 0, build.stderr[-3000:]
    # The build says nothing a user must wade through: before, ~1,300 lines of setuptools' "Package would be
    # ignored" for the data folders (hub/pretrained/..., apps/web), on every `pip install -e .` too.
    assert "would be ignored" not in build.stdout + build.stderr, (build.stdout + build.stderr)[-3000:]
    (path,) = out.glob("digitzoo-*.whl")
    return path


def test_the_wheel_adds_one_import_name(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top = {name.split("/")[0] for name in names}
        dist_info = next(t for t in top if t.endswith(".dist-info"))
        assert top == {"digitzoo", dist_info}
        # digitzoo/ is a namespace: the folders of the repository are its subpackages.
        assert "digitzoo/__init__.py" not in names
        for folder, package in FOLDERS.items():
            assert f"{package.replace('.', '/')}/__init__.py" in names
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
        assert "digitzoo = digitzoo.cli:main" in entry_points
        # The shipped models travel with the package: the demo needs no training.
        assert "digitzoo/hub/pretrained/exports/manifest.json" in names
        assert "digitzoo/hub/pretrained/exports/mnist_cnn/mnist_cnn.onnx" in names
        # The static site's page travels too (`digitzoo web build`); npm's node_modules/ does not.
        for page_file in ("index.html", "main.js", "runtime.js", "sketch.js", "style.css", "package-lock.json"):
            assert f"digitzoo/apps/web/{page_file}" in names, page_file
        assert not any("node_modules" in name for name in names)
        # ...nor its lint config and module tests (apps/web/eslint.config.js, apps/web/test/).
        assert not any(name.startswith(("digitzoo/apps/web/test/", "digitzoo/apps/web/eslint.config.js")) for name in names)


def package_of(folder: Path) -> str:
    """The import name of a repository folder: its nearest mapped folder's package, plus the rest of the path."""
    mapped = max((REPO / f for f in FOLDERS if folder.is_relative_to(REPO / f)), key=lambda f: len(f.parts))
    return ".".join([FOLDERS[str(mapped.relative_to(REPO))], *folder.relative_to(mapped).parts])


def test_every_package_folder_is_in_the_wheel(wheel):
    """pyproject lists the packages by hand: a new folder with an __init__.py must be added there."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for folder in FOLDERS:
        for init in (REPO / folder).rglob("__init__.py"):
            if "pretrained" in init.parts or "node_modules" in init.parts:
                continue
            expected = package_of(init.parent).replace(".", "/") + "/__init__.py"
            assert expected in names, f"{init.parent} is not packaged: add it to [tool.setuptools] packages"
    # The command line's folder sits inside hub/ but is packaged once, as digitzoo.cli.
    assert "digitzoo/cli/__init__.py" in names
    assert not any(name.startswith("digitzoo/hub/command-line") for name in names)


def test_extras_match_what_people_do(wheel):
    with zipfile.ZipFile(wheel) as archive:
        dist_info = next(n.split("/")[0] for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    requires = metadata.get_all("Requires-Dist")
    base = [r.split(";")[0].strip() for r in requires if "extra ==" not in r]
    train = [r.split(";")[0].strip() for r in requires if "extra == \"train\"" in r]

    def names(reqs):
        return {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0].split("!")[0].strip().lower() for r in reqs}

    # pip install digitzoo: serve, download and pull; no torch.
    assert {"gradio", "numpy", "pillow", "huggingface_hub", "safetensors"} <= names(base)
    assert names(base) & {"onnxruntime", "onnxruntime-gpu"}
    assert not names(base) & {"torch", "torchvision", "onnx", "onnxscript"}
    # digitzoo[train]: training, evaluation, export.
    assert {"torch", "torchvision", "onnx", "onnxscript"} <= names(train)
    assert "test" in metadata.get_all("Provides-Extra")
    # digitzoo[mcp]: `serve --mcp`, Gradio's MCP server on the pinned Gradio; the tests use its client.
    mcp = [r.split(";")[0].strip() for r in requires if "extra == \"mcp\"" in r]
    assert [r.split("<")[0].split(">")[0] for r in mcp] == ["gradio[mcp]"]
    assert any(r.startswith("digitzoo[mcp]") and "extra == \"test\"" in r for r in requires)


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel installed into a folder of its own (``pip install --target``); PYTHONPATH=site uses it."""
    site = tmp_path_factory.mktemp("site")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    return site


def test_the_installed_package_runs_from_anywhere(site, tmp_path):
    """`python -m digitzoo.train --help` and friends from the installed wheel, not from the repository."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import digitzoo.hub, importlib.util; print(digitzoo.hub.__file__); "
                            "print(importlib.util.find_spec('hub'), importlib.util.find_spec('export'))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert where.stdout.splitlines() == [str(site / "digitzoo" / "hub" / "__init__.py"), "None None"]
    for module, word in (("digitzoo.train", "Train a model"), ("digitzoo.export", "Export checkpoints"),
                         ("digitzoo.apps", "Start the Gradio demo hub"), ("digitzoo.cli", "digitzoo"),
                         ("digitzoo.hub", "digitzoo")):
        out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, (module, out.stderr[-2000:])
        assert word in out.stdout, (module, out.stdout[:500])
    # The console script pip wrote for the wheel.
    script = subprocess.run([str(site / "bin" / "digitzoo"), "--help"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert script.returncode == 0 and "serve" in script.stdout, script.stderr[-2000:]


REBUILD = """
import json, sys
from pathlib import Path
from safetensors.torch import load_file
import digitzoo.hub
assert digitzoo.hub.__file__.startswith(sys.argv[1]), digitzoo.hub.__file__  # the wheel's, not the checkout's
for folder in sorted(p for p in Path('.').iterdir() if p.is_dir()):
    config = json.loads((folder / 'config.json').read_text())
    scope = {'config': config}
    exec(config['rebuild'], scope)  # what config.json tells a user to run
    model = scope['model']
    assert f'{type(model).__module__}.{type(model).__qualname__}' == config['architecture'], folder
    model.load_state_dict(load_file(folder / 'model.safetensors'), strict=True)
    print(folder.name)
"""


def test_the_pushed_config_rebuilds_each_model_from_a_wheel_install(site, tmp_path):
    """config.json's ``rebuild`` line, run as a user would, with the wheel installed (torch from this
    environment), outside the repository: then the pushed weights load into the model it built."""
    from digitzoo.hub.publish.model_repo import model_repo_files
    from digitzoo.hub.serving.manifest import exports_root, read_manifest

    names = set(read_manifest().models)
    pushed = tmp_path / "pushed"
    for f in model_repo_files(exports_root(), "alice/digitzoo-mnist"):
        name, _, leaf = f.path.partition("/")
        if name in names and leaf in ("config.json", "model.safetensors"):
            (pushed / name).mkdir(parents=True, exist_ok=True)
            (pushed / f.path).write_bytes(f.data if f.data is not None else f.source.read_bytes())
    out = subprocess.run([sys.executable, "-c", REBUILD, str(site)], cwd=pushed, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(out.stdout.split()) == names
