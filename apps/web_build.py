"""`digitzoo web build DIR`: a static site that runs Draw, Latent space and GAN in the browser.

The folder holds the page (``apps/web/``: index.html, JavaScript, CSS), the verified ONNX files the
page calls, found through the manifest's demo settings and roles, and ``models.json``, which tells
the page each file's sha256, input/output names and shapes, and labels. Any static server serves
it (``python -m http.server``, a static Hugging Face Space, GitHub Pages): the models run in each
visitor's browser with onnxruntime-web, so one server serves any number of people.

onnxruntime-web comes from a pinned CDN URL by default (no Node.js needed to build), checked by
the browser against the sha384 pinned here (Subresource Integrity); ``vendor=True`` copies the same
files from ``apps/web/node_modules`` (``npm ci`` there) so the site also works offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

from digitzoo.apps.reading import NOT_A_DIGIT_ABOVE
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import folder_built_in_place, new_folder_path
from digitzoo.hub.serving.sketch import PAD_SIZE, PEN_WIDTH
from digitzoo.hub.serving.manifest import (Artifact, DemoData, Manifest, Tensor, artifact, demo_models, part_with_role,
                                           parts_with_role, read_manifest, verified_path)

WEB_SOURCES = Path(__file__).resolve().parent / "web"
PAGE_FILES = ["index.html", "main.js", "pad.js", "runtime.js", "sketch.js", "style.css"]
SITE_FORMAT = "digitzoo-web/1"
MODELS_DIR = "models"
VENDOR_DIR = "vendor/onnxruntime-web"

# onnxruntime-web's wasm build: one ES module (the API and its Emscripten glue, bundled) and the
# single-threaded-capable WebAssembly binary. The hashes are those of the npm package's files
# (apps/web/package-lock.json pins the version); tests/test_web.py checks the vendored copy against them.
ORT_VERSION = "1.30.0"
ORT_MODULE = "ort.wasm.bundle.min.mjs"
ORT_WASM = "ort-wasm-simd-threaded.wasm"
ORT_SHA384 = {
    ORT_MODULE: "sha384-PLWz+nHEVHpjwBsO0YVdvQj6n5814Iv8E3b8FG0Rp/uIAtjFMCKOpP66iPzedrIG",
    ORT_WASM: "sha384-vjBJ1z7qrhkTyYsNqKeF6c7N+nOJSU94czEo+tvZcu8G75JparGq9kB+kTnEUNVM",
}
ORT_CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_VERSION}/dist/"
ORT_NPM_DIST = WEB_SOURCES / "node_modules" / "onnxruntime-web" / "dist"
NPM_HINT = f"cd {WEB_SOURCES} && npm ci   (Node.js 18+; installs onnxruntime-web {ORT_VERSION} into node_modules/)"
IMPORT_MAP_PLACEHOLDER = "<!--ORT_IMPORT_MAP-->"


def sri(path: Path) -> str:
    """The Subresource Integrity value of a file: 'sha384-' + base64 of its digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def vendored_runtime_files() -> dict[str, Path]:
    """The npm package's files the site needs, after checking they are the pinned bytes."""
    files = {name: ORT_NPM_DIST / name for name in ORT_SHA384}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise DigitzooError(f"--vendor needs onnxruntime-web from npm ({', '.join(missing)} missing): {NPM_HINT}")
    for name, path in files.items():
        if sri(path) != ORT_SHA384[name]:
            raise DigitzooError(f"{path} is not onnxruntime-web {ORT_VERSION}'s {name} (sha384 differs): {NPM_HINT}")
    return files


def runtime_settings(vendor: bool) -> dict:
    """Where the page loads onnxruntime-web from, with the hashes the browser checks."""
    base = f"./{VENDOR_DIR}/" if vendor else ORT_CDN
    hint = (f"The site's {VENDOR_DIR}/ folder is incomplete: rebuild it with `digitzoo web build DIR --vendor`." if vendor
            else "The page loads it from the jsDelivr CDN: check the internet connection, or build the site "
                 "with `digitzoo web build DIR --vendor` to serve it from the site itself.")
    return {"source": "vendor" if vendor else "cdn", "version": ORT_VERSION, "module": base + ORT_MODULE,
            "module_integrity": ORT_SHA384[ORT_MODULE], "wasm": base + ORT_WASM, "wasm_integrity": ORT_SHA384[ORT_WASM],
            "missing_hint": hint}


def import_map(runtime: dict) -> str:
    """index.html's import map: `import("onnxruntime-web")` resolves to the pinned file, checked by its sha384."""
    mapping = {"imports": {"onnxruntime-web": runtime["module"]},
               "integrity": {runtime["module"]: runtime["module_integrity"]}}
    return f'<script type="importmap">{json.dumps(mapping)}</script>'


def _io(specs: tuple[Tensor, ...]) -> list[dict]:
    return [{"name": s.name, "shape": s.shape, "dtype": s.dtype} for s in specs]


def _copy_model(root: Path, manifest: Manifest, model: str, role: str, site: Path, label: str) -> dict:
    """Copy ``model``'s ONNX part with ``role`` into the site (after its sha256 check); its models.json entry."""
    item = artifact(manifest, model, part_with_role(manifest, model, role), "onnx")
    return {"label": label, **_copy_checked(root, item, site),
            "inputs": _io(item.inputs), "outputs": _io(item.outputs)}


def _copy_checked(root: Path, item: Artifact | DemoData, site: Path) -> dict:
    source = verified_path(root, item)  # inside the exports folder and matching the manifest's sha256
    target = site / MODELS_DIR / item.file
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return {"file": f"{MODELS_DIR}/{item.file}", "sha256": item.sha256, "bytes": target.stat().st_size}


def site_models(root: Path, manifest: Manifest, site: Path) -> dict:
    """Copy what each tab runs into ``site``; returns models.json's tabs (None for a tab no model is shown on)."""
    entries = manifest.models
    draw = []
    for model in demo_models(manifest, "draw"):
        demo = entries[model].demo_settings
        draw.append({**_copy_model(root, manifest, model, "classifier", site, demo["label"]),
                     "belief_by_row": bool(demo.get("belief_by_row")), "classes": entries[model].labels})
    if not draw:
        raise DigitzooError("no exported model is shown on the draw tab: run `digitzoo export all` first")
    # The not-a-digit detector runs beside the draw models when the exports have one.
    detectors = parts_with_role(manifest, "detector")
    detector = _copy_model(root, manifest, detectors[0][0], "detector", site, "not-a-digit detector") if detectors else None
    latent = gan = None
    if shown := demo_models(manifest, "latent"):
        model, label = shown[0], entries[shown[0]].demo_settings["label"]
        if entries[model].demo_data is None:
            raise DigitzooError(f"{model} has no latent points (demo_data) in the manifest: export it again")
        latent = {"label": label, "decoder": _copy_model(root, manifest, model, "decoder", site, f"{label} decoder"),
                  "points": _copy_checked(root, entries[model].demo_data, site)}
    if shown := demo_models(manifest, "gan"):
        model, label = shown[0], entries[shown[0]].demo_settings["label"]
        gan = {"label": label, "classes": entries[model].labels,
               "generator": _copy_model(root, manifest, model, "generator", site, f"{label} generator")}
    return {"draw": draw, "detector": detector, "latent": latent, "gan": gan}


def pad_settings() -> dict:
    """The pad's size and pen, and the detector's threshold: the numbers the server's pages use (one copy)."""
    return {"size": PAD_SIZE, "pen_width": PEN_WIDTH, "not_a_digit_above": NOT_A_DIGIT_ABOVE}


def build_site(out_dir: str | os.PathLike, root: str | os.PathLike, vendor: bool = False) -> Path:
    """Write the static site into ``out_dir`` (new or empty); returns its path.

    Built in a temporary folder beside ``out_dir`` and moved into place at the end, so a failed
    build leaves nothing half-written.
    """
    out = new_folder_path(out_dir)
    runtime_files = vendored_runtime_files() if vendor else {}  # fails before any work when npm ci is missing
    manifest = read_manifest(root)
    with folder_built_in_place(out) as work:
        runtime = runtime_settings(vendor)
        for name in PAGE_FILES:
            shutil.copyfile(WEB_SOURCES / name, work / name)
        page = (work / "index.html").read_text(encoding="utf-8")
        (work / "index.html").write_text(page.replace(IMPORT_MAP_PLACEHOLDER, import_map(runtime)), encoding="utf-8")
        for name, path in runtime_files.items():
            (work / VENDOR_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, work / VENDOR_DIR / name)
        if runtime_files and (ORT_NPM_DIST.parent / "LICENSE").is_file():
            shutil.copyfile(ORT_NPM_DIST.parent / "LICENSE", work / VENDOR_DIR / "LICENSE")
        site = {"format": SITE_FORMAT, "runtime": runtime, "pad": pad_settings(), **site_models(Path(root), manifest, work)}
        (work / "models.json").write_text(json.dumps(site, indent=2) + "\n", encoding="utf-8")
    return out
