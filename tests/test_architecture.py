"""The layers hold: the contracts in pyproject.toml pass, and break on a wrong-way import.

Also: no code outside the model files names a model (model knowledge is a field of the spec),
serving and the light commands run without torch, and a torch command without it says in one
line what to install.
"""

from __future__ import annotations

import ast
import logging
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from digitzoo.hub.registry import list_models

REPO = Path(__file__).resolve().parents[1]
STAGES = ("hub", "train", "export", "apps")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_layer_contracts_are_kept():
    out = lint_imports(REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout and "2 kept" in out.stdout


def package_folders() -> dict[str, Path]:
    """{"digitzoo.cli": REPO/"hub/command-line", "digitzoo.hub": REPO/"hub", ...}: pyproject's package-dir."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: REPO / folder for name, folder in setuptools["package-dir"].items()}


def _copy_of_the_package(tmp_path: Path) -> Path:
    """The repository's folders laid out as the installed digitzoo/ (without the shipped files)."""
    for name, folder in package_folders().items():
        shutil.copytree(folder, tmp_path / name.replace(".", "/"),
                        ignore=shutil.ignore_patterns("pretrained", "__pycache__", "node_modules", "command-line"))
    return tmp_path


LAYERS = "The house"
TORCH_FREE = "The serving core imports no torch"


@pytest.mark.parametrize("module, wrong_import, contract", [
    ("hub/registry.py", "import digitzoo.train.loop", LAYERS),  # the core reaches up to a stage
    ("hub/checkpoint.py", "from digitzoo.cli import main", LAYERS),  # the core reaches up to the command line
    ("train/loop.py", "from digitzoo.cli import common", LAYERS),  # a stage reaches up to the command line
    ("export/verify.py", "import digitzoo.train.loop", LAYERS),  # one stage imports another
    ("apps/draw.py", "from digitzoo.export import formats", LAYERS),
    ("hub/serving/sketch.py", "import torch", TORCH_FREE),
    ("hub/serving/files.py", "from digitzoo.hub import checkpoint", TORCH_FREE),  # torch through another module
])
def test_a_wrong_way_import_breaks_the_build(tmp_path, module, wrong_import, contract):
    tree = _copy_of_the_package(tmp_path)
    assert lint_imports(tmp_path, tree).returncode == 0  # the copy itself is clean
    target = tree / "digitzoo" / module
    target.write_text(target.read_text() + f"\n{wrong_import}  # the wrong way\n")
    out = lint_imports(tmp_path, tree)
    assert out.returncode != 0
    _, _, broken = out.stdout.partition("Broken contracts")  # each broken contract's name heads a section
    assert contract in broken, out.stdout
    assert len([name for name in (LAYERS, TORCH_FREE) if name in broken]) == 1, out.stdout  # and only that one


def test_the_command_line_is_not_part_of_the_core():
    """hub/command-line/ is only ever digitzoo.cli: its folder name is no Python name, so the core's package
    cannot contain it (and so the import graph of digitzoo.hub has no command line in it)."""
    import importlib

    folders = package_folders()
    assert not folders["digitzoo.cli"].name.isidentifier()
    assert importlib.import_module("digitzoo.cli").__file__ == str(folders["digitzoo.cli"] / "__init__.py")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("digitzoo.hub.cli")


def _string_constants(path: Path):
    """String literals of a module that are not docstrings (examples in docs name models, as data)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_code_outside_the_model_files_names_a_model():
    names = list_models()
    found = []
    for folder in (*STAGES, "scripts"):
        for path in (REPO / folder).rglob("*.py"):
            if path.is_relative_to(REPO / "hub" / "models"):
                continue
            found += [f"{path.relative_to(REPO)}:{line}: {text[:60]!r}" for line, text in _string_constants(path)
                      if any(name in text for name in names)]
    assert not found, "model names outside hub/models/ (make them a field of the spec):\n" + "\n".join(found)


# Runs in a child process where `import torch` fails, as in `pip install digitzoo` without [train].
NO_TORCH = """
import sys
for name in ("torch", "torchvision", "onnx", "onnxscript"):
    sys.modules[name] = None  # importing it raises ImportError
"""


def run_without_torch(code: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH + code], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO.parent, env={**os.environ, "DIGITZOO_HOME": os.devnull + "-absent"})


def test_serving_needs_no_torch():
    out = run_without_torch("""
from digitzoo.apps import draw, gan, gradio_app, latent, parts
from digitzoo.apps.bench import inline_image, sketch_png
parts.configure()
gradio_app.build_app()
answers = draw.classify(inline_image(sketch_png()))
assert max(answers[0], key=answers[0].get) == "7", answers[0]
image, info = gan.sample("3", 1, 4)
assert image.shape[0] > 28, image.shape
decoded = latent.decode(0.0, 0.0, 0.0)
assert decoded.ndim == 2 and decoded.max() > 0
assert not [m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None]
print("served without torch")
""")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "served without torch" in out.stdout


@pytest.mark.parametrize("argv", [["train", "mnist_cnn"], ["eval", "mnist_cnn"], ["export", "all"], ["bench", "fast-cnn"]])
def test_a_torch_command_without_torch_says_what_to_install(argv):
    out = run_without_torch(f"from digitzoo.cli import main\nsys.exit(main({argv!r}))")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'digitzoo[train]'" in lines[0], out.stderr


def test_list_works_without_torch():
    out = run_without_torch("from digitzoo.cli import main\nsys.exit(main(['list']))")
    assert out.returncode == 0, out.stderr
    assert "mnist_cnn.onnx" in out.stdout


def test_the_gradio_patch_runs_only_on_the_gradio_it_was_written_for(caplog):
    from digitzoo.apps import startup

    assert startup.patch_applies(startup.TESTED_GRADIO[0] + (0,))
    assert not startup.patch_applies((startup.TESTED_GRADIO[1][0] + 1, 0, 0))
    assert not startup.patch_applies(None)
    with caplog.at_level(logging.WARNING, logger="digitzoo.apps"):
        assert startup.skip_gradio_stub_writer((99, 0, 0)) is False
    assert "Gradio 99.0.0 is outside the range" in caplog.text
    # On the installed Gradio (the pinned one) the patch is active in this process.
    import gradio.component_meta

    assert startup.patch_applies(startup.gradio_version())
    assert gradio.component_meta.create_or_modify_pyi is startup._no_stubs
