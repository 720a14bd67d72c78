"""`digitzoo space build DIR`: a self-contained Gradio Space folder. No network here.

The folder holds the demo hub's code (the packages ``digitzoo/hub/`` and ``digitzoo/apps/`` whole), the
exported ONNX files with a manifest listing only them, ``app.py``, a ``requirements.txt`` pinned
to the versions installed here (no torch: the Space serves ONNX), and a README whose front matter
the Hub reads. It runs wherever those requirements install: on CPU Spaces, and on GPU hardware
it uses ONNX Runtime's CUDA provider (``digitzoo.hub.serving.runtime`` checks that a GPU is really usable).

``space build --static`` instead makes a static Space from the site of ``digitzoo web build``
(built by ``digitzoo.apps.web_build``): ``make_static_space`` adds the README with ``sdk: static``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from importlib import metadata
from dataclasses import replace
from pathlib import Path

from digitzoo.hub.serving import digit_sets, faithfulness
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import folder_built_in_place, new_folder_path
from digitzoo.hub.serving.manifest import MANIFEST_FILE, Manifest, manifest_text, read_manifest, verified_path

# The code a Space runs: the core and the apps packages whole, as installed (or as in the repository),
# so a new module travels without a list to keep. Left out: what is not their code (the pretrained
# store: the Space bundles its verified ONNX files in models/, and the shipped test digits that the
# Your-model tab scores a visitor's model on and the explanation verdicts travel on their own, below; npm's node_modules: the page loads
# onnxruntime-web from its pinned CDN; caches and Gradio's stubs) and folders Python cannot import
# as part of them (hub/command-line/ is digitzoo.cli, which a Space does not run).
SHIPPED_PACKAGES = ("digitzoo.hub", "digitzoo.apps")
NOT_SHIPPED = ("pretrained", "node_modules", "__pycache__", "*.pyi", "*.pyc")
# The page's own lint and tests (apps/web: eslint.config.js, .npmrc, test/ and its vectors) are not the page.
NOT_SHIPPED_FROM_WEB = ("test", "eslint.config.js", ".npmrc")
# Distributions the code imports directly; each is pinned to the version installed here.
REQUIREMENTS = ["gradio", "numpy", "pillow", "sqlalchemy", "segno"]  # the last two: the classroom (SQLite, the join QR)
# --playground: the lessons train with torch (the CPU build: a Space's CPU is what it trains on),
# CartPole and a data set that ships in scikit-learn.
PLAYGROUND_REQUIREMENTS = ["torch", "gymnasium", "scikit-learn", "safetensors"]
TORCH_CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
GPU_HARDWARE_PREFIXES = ("t4", "a10g", "a100", "l4", "l40s", "h100", "zero")
MODELS_DIR = "models"

APP_PY = '''"""digitzoo on Hugging Face Spaces: the demo hub on the bundled ONNX models.

ONNX Runtime runs them on the GPU when the Space has one (CUDA provider), otherwise on the CPU.
"""

import os
from pathlib import Path

from digitzoo.apps.gradio_app import serve

serve(host="0.0.0.0", port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
      root=str(Path(__file__).resolve().parent / "{models}"), tabs={tabs!r})
'''
SERVING_TABS = ["draw", "latent", "gan", "models"]


def space_tabs(playground: bool) -> list[str]:
    """The tabs a Space serves: the Playground only when its lessons and torch travel with it."""
    return SERVING_TABS + (["playground"] if playground else [])


def is_gpu_hardware(hardware: str) -> bool:
    return hardware.startswith(GPU_HARDWARE_PREFIXES)


def requirements(hardware: str, playground: bool = False) -> str:
    """Pinned requirements; onnxruntime-gpu runs on CPU too, its CUDA libraries come only on GPU hardware."""
    names = REQUIREMENTS + (PLAYGROUND_REQUIREMENTS if playground else [])
    # A local label (2.14.1+cu130) is dropped: "torch==2.14.1" matches the CPU index's 2.14.1+cpu.
    lines = [f"{name}=={metadata.version(name).split('+')[0]}" for name in names]
    ort = "onnxruntime-gpu" if _installed("onnxruntime-gpu") else "onnxruntime"
    extras = "[cuda,cudnn]" if is_gpu_hardware(hardware) and ort == "onnxruntime-gpu" else ""
    lines.append(f"{ort}{extras}=={metadata.version(ort)}")
    return (TORCH_CPU_INDEX + "\n" if playground else "") + "\n".join(sorted(lines)) + "\n"


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def space_readme(hardware: str, model_repo: str | None, manifest: Manifest) -> str:
    from huggingface_hub import SpaceCardData

    data = SpaceCardData(
        title="digitzoo: MNIST model zoo", sdk="gradio", sdk_version=metadata.version("gradio"),
        python_version="3.11", app_file="app.py", license="mit", models=[model_repo] if model_repo else [],
        datasets=["ylecun/mnist"], tags=["mnist", "onnx", "gradio", "digitzoo", "sketch", "gan", "autoencoder"],
        emoji="✏️", colorFrom="indigo", colorTo="gray", pinned=False,
        short_description="Draw a digit, walk a 3-D latent space, sample a GAN",
        suggested_hardware=hardware,
    )
    models = "\n".join(f"- `{name}`: {entry.title}" for name, entry in manifest.models.items())
    return f"""---
{data.to_yaml().rstrip()}
---

# digitzoo: MNIST model zoo

Draw a digit and see what a CNN and a row-reading LSTM make of it, walk an autoencoder's 3-D
latent space, sample a class-conditional GAN, and download the models. Built by
`digitzoo space build`; the models are the exported ONNX files in `{MODELS_DIR}/`, each checked
against its sha256 in `{MODELS_DIR}/{MANIFEST_FILE}` before it is opened.

{models}

Runs on CPU hardware; on GPU hardware ONNX Runtime's CUDA provider answers (the page says which).
Run it locally: `pip install -r requirements.txt && python app.py`.
"""


def build_space(out_dir: str | os.PathLike, root: str | os.PathLike, hardware: str = "cpu-basic",
                model_repo: str | None = None, playground: bool = False) -> Path:
    """Write the Space into ``out_dir`` (which must not exist or be empty); returns its path.

    Built in a temporary folder beside ``out_dir`` and moved into place at the end, so a failed
    build leaves nothing half-written.
    """
    out = new_folder_path(out_dir)
    manifest = read_manifest(root)
    with folder_built_in_place(out) as work:
        for package in SHIPPED_PACKAGES:
            # digitzoo/ without an __init__.py: the same namespace layout as the installed package.
            shutil.copytree(package_folder(package), work / package.replace(".", "/"), ignore=_not_shipped)
        shutil.copytree(digit_sets.SHIPPED_DIR, work / "digitzoo" / "hub" / "pretrained" / digit_sets.SHIPPED_DIR.name)
        if faithfulness.SHIPPED_VERDICTS.is_file():  # the "Why?" view labels the methods not faithful on a model
            shutil.copyfile(faithfulness.SHIPPED_VERDICTS, work / "digitzoo" / "hub" / "pretrained" / faithfulness.SHIPPED_VERDICTS.name)
        bundled = _bundle_onnx_models(Path(root), manifest, work / MODELS_DIR)
        (work / "app.py").write_text(APP_PY.format(models=MODELS_DIR, tabs=space_tabs(playground)))
        (work / "requirements.txt").write_text(requirements(hardware, playground))
        (work / "README.md").write_text(space_readme(hardware, model_repo, bundled), encoding="utf-8")
    return out


def package_folder(package: str) -> Path:
    """Where an installed (or editable) subpackage of digitzoo lives, found by the import system."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DigitzooError(f"cannot find the package {package} to put into the Space")
    return Path(next(iter(spec.submodule_search_locations)))


def _not_shipped(folder: str, names: list[str]) -> set[str]:
    ignored = set(shutil.ignore_patterns(*NOT_SHIPPED)(folder, names))
    if Path(folder).name == "web":
        ignored |= set(names) & set(NOT_SHIPPED_FROM_WEB)
    return ignored | {n for n in names if (Path(folder) / n).is_dir() and not n.isidentifier()}


def _bundle_onnx_models(root: Path, manifest: Manifest, dest: Path) -> Manifest:
    """Copy the verified ONNX files (+ latent points, snippets) and write a manifest of only them."""
    models = {}
    for name, entry in manifest.models.items():
        onnx = [a for a in entry.artifacts if a.format == "onnx"]
        if not onnx:
            continue
        keep = onnx + ([entry.demo_data] if entry.demo_data is not None else [])
        for item in keep:
            target = dest / item.file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(verified_path(root, item), target)
        readme = root / name / "README.md"
        if readme.is_file():
            shutil.copy2(readme, dest / name / "README.md")
        models[name] = replace(entry, artifacts=tuple(onnx))
    bundled = replace(manifest, models=models)
    if not bundled.models:
        raise DigitzooError(f"no ONNX files in {root}: run `digitzoo export all` first")
    (dest / MANIFEST_FILE).write_text(manifest_text(bundled))
    return bundled


STATIC_SITE_FILES = ("index.html", "models.json")  # what `digitzoo web build` always writes


def static_space_readme(site: dict, model_repo: str | None) -> str:
    """The README of a static Space: front matter the Hub reads (``sdk: static``), then what the page does.

    ``site`` is the site's models.json (written by ``digitzoo web build``).
    """
    from huggingface_hub import SpaceCardData

    data = SpaceCardData(
        title="digitzoo in your browser", sdk="static", app_file="index.html", license="mit",
        models=[model_repo] if model_repo else [], datasets=["ylecun/mnist"],
        tags=["mnist", "onnx", "onnxruntime-web", "digitzoo", "sketch", "gan", "autoencoder"],
        emoji="✏️", colorFrom="indigo", colorTo="gray", pinned=False,
        short_description="MNIST models running in your browser (wasm)",
    )
    runtime = site["runtime"]
    where = ("from the site itself (vendor/)" if runtime["source"] == "vendor"
             else f"from {runtime['module'].rsplit('/', 1)[0]}/, pinned by sha384")
    models = "\n".join(f"- `{m['file']}` ({m['label']}), sha256 `{m['sha256'][:12]}…`" for m in _site_model_entries(site))
    return f"""---
{data.to_yaml().rstrip()}
---

# digitzoo in your browser

Draw a digit, walk an autoencoder's latent space, sample a class-conditional GAN: every model runs
in the visitor's browser with onnxruntime-web {runtime['version']} (WebAssembly, single-threaded),
loaded {where}.
The page checks each model file against its sha256 in `models.json` before it opens it.
Built by `digitzoo web build`; serve it anywhere with `python -m http.server`.

{models}
"""


def _site_model_entries(site: dict) -> list[dict]:
    entries = list(site["draw"])
    if site.get("detector"):
        entries.append(site["detector"])
    if site.get("latent"):
        entries.append(site["latent"]["decoder"])
    if site.get("gan"):
        entries.append(site["gan"]["generator"])
    return entries


def make_static_space(site_dir: str | os.PathLike, model_repo: str | None = None) -> Path:
    """Turn a folder from ``digitzoo web build`` into a static Space folder: add its README."""
    folder = Path(site_dir)
    if not all((folder / name).is_file() for name in STATIC_SITE_FILES):
        raise DigitzooError(f"{folder} is not a site from `digitzoo web build` (no {' / '.join(STATIC_SITE_FILES)})")
    site = json.loads((folder / "models.json").read_text(encoding="utf-8"))
    (folder / "README.md").write_text(static_space_readme(site, model_repo), encoding="utf-8")
    return folder
