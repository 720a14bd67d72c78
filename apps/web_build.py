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
import dataclasses
import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from digitzoo.apps.inputs import FORMATS_HINT, MAX_IMAGE_BYTES
from digitzoo.apps.reading import DRAW_PROMPT, NOT_A_DIGIT_ABOVE, SENTENCES
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.registry import EXPLAINER
from digitzoo.hub.serving import digit_sets, explain, faithfulness, leaderboard, own_model
from digitzoo.hub.serving.files import folder_built_in_place, new_folder_path, read_inside
from digitzoo.hub.serving.manifest import (Artifact, DemoData, Manifest, Tensor, artifact, demo_models, part_with_role,
                                           parts_with_role, read_manifest, verified_path)
from digitzoo.hub.serving.sketch import PAD_SIZE, PEN_WIDTH

WEB_SOURCES = Path(__file__).resolve().parent / "web"
# The pages' modules (the hub serves the same ones, apps/pages.py) and the static site's frame.
PAGE_MODULES = ["page.js", "draw.js", "latent.js", "gan.js", "yours.js", "yours_page.js", "reader.js", "render.js", "pad.js",
                "runtime.js", "digest.js", "sketch.js", "explain.js", "why.js", "pool.js", "worker.js", "pages.css"]
PAGE_FILES = ["index.html", "main.js", "style.css", *PAGE_MODULES]
SITE_FORMAT = "digitzoo-web/2"  # apps/web/page.js reads this one
MODELS_DIR = "models"
DIGITS_DIR = "digits"  # the test digits a visitor's own model is scored on
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


def _io(specs: tuple[Tensor, ...]) -> list[dict]:
    return [{"name": s.name, "shape": s.shape, "dtype": s.dtype} for s in specs]


# Where a page's file lives: `place(root, item)` makes the verified file reachable (copied into a
# static site, or served by the hub) and returns its URL.
Place = Callable[[Path, Artifact | DemoData], str]


def latent_ranges(points: dict) -> list[tuple[float, float]]:
    """(min, max) of the latent page's x, y and z sliders, two decimals, outward: the test digits'
    1st to 99th percentiles widened by a quarter, and wide enough for every code and the origin."""
    codes = np.asarray(points["codes"])
    lo, hi = np.asarray(points["p01"]), np.asarray(points["p99"])
    pad = (hi - lo) * 0.25
    lo, hi = np.minimum(np.minimum(lo - pad, codes.min(axis=0)), 0), np.maximum(np.maximum(hi + pad, codes.max(axis=0)), 0)
    return [(math.floor(a * 100) / 100, math.ceil(b * 100) / 100) for a, b in zip(lo, hi)]


# Where a shipped digit set lives: `place_digits(folder, listed)` (listed: its digits.json entry) -> its URL.
PlaceDigits = Callable[[Path, dict], str]


def yours_settings(manifest: Manifest, place_digits: PlaceDigits) -> dict:
    """The "Your model" page's rules, sentences and test digits (hub/serving/own_model.py: one copy,
    the CLI's), and the zoo's leaderboard to rank a visitor's model in."""
    folder = digit_sets.SHIPPED_DIR
    listed = digit_sets.index(folder)["sets"]
    return {"max_bytes": own_model.MAX_BYTES, "detect_on": own_model.DETECT_ON, "detect_slack": own_model.DETECT_SLACK,
            "sentences": own_model.SENTENCES,
            "conventions": [{"name": k, "says": v} for k, v in own_model.CONVENTIONS.items()],
            "sets": [{"name": name, "label": item["label"], "count": item["count"], "sha256": item["sha256"],
                      "file": place_digits(folder, item)} for name, item in listed.items()],
            "leaderboard": {"columns": [{"key": k, "header": h, "kind": t} for k, h, t in leaderboard.COLUMNS],
                            "rows": leaderboard.rows(manifest), "yours": leaderboard.YOURS}}


def page_config(root: Path, manifest: Manifest, place: Place, runtime: dict, place_digits: PlaceDigits) -> dict:
    """models.json: what the pages (apps/web/page.js) run and how, the same for the static site and
    the hub. Each model file's URL (from ``place``), sha256, input/output names and label; the pad's
    numbers and the sentences the server's answers use (one copy); None for a tab no model is shown on;
    and the "Your model" page's settings, its test digits placed by ``place_digits``."""
    from digitzoo.apps import gan as gan_tab  # the GAN tab's limits (gan imports this module's caller, apps.pages)

    entries = manifest.models

    def model(name: str, role: str, label: str) -> dict:
        item = artifact(manifest, name, part_with_role(manifest, name, role), "onnx")
        return {"model": name, "label": label, "file": place(root, item), "sha256": item.sha256,
                "inputs": _io(item.inputs), "outputs": _io(item.outputs)}

    classifiers = {name for name, _ in parts_with_role(manifest, "classifier")}
    explainers = dict(parts_with_role(manifest, EXPLAINER))
    # Each method's verdict on each model from `digitzoo bench explain` (the page labels the unfaithful
    # ones), measured on the shipped checkpoints; None for a model they do not cover.
    verdicts = faithfulness.method_verdicts() if faithfulness.SHIPPED_VERDICTS.is_file() else {}

    def explainer(name: str, label: str) -> dict | None:
        """The "Why?" view's file for a draw model: its explainer, with each feature block's label."""
        if name not in explainers:
            return None  # exported before there were explainers: the page says it cannot explain this one
        item = artifact(manifest, name, explainers[name], "onnx")
        blocks = [{"output": t.name, "label": t.description.split(":")[0], "shape": t.shape[1:]}
                  for t in item.outputs if t.name.startswith("block")]
        return {**model(name, EXPLAINER, f"{label} explainer"), "blocks": blocks, "faithfulness": verdicts.get(name)}

    draw = [{**model(name, "classifier", entries[name].demo_settings["label"]), "classes": entries[name].labels,
             "belief_by_row": bool(entries[name].demo_settings.get("belief_by_row")),
             "explain": explainer(name, entries[name].demo_settings["label"])}
            for name in demo_models(manifest, "draw") if name in classifiers]
    if not draw:
        raise DigitzooError("no exported model is shown on the draw tab: run `digitzoo export all` first")
    # The not-a-digit detector runs beside the draw models when the exports have one.
    detectors = parts_with_role(manifest, "detector")
    detector = model(detectors[0][0], "detector", "not-a-digit detector") if detectors else None
    latent = gan = None
    if shown := demo_models(manifest, "latent"):
        name, label = shown[0], entries[shown[0]].demo_settings["label"]
        if entries[name].demo_data is None:
            raise DigitzooError(f"{name} has no latent points (demo_data) in the manifest: export it again")
        points = json.loads(verified_path(root, entries[name].demo_data).read_text())
        latent = {"label": label, "decoder": model(name, "decoder", f"{label} decoder"),
                  "encoder": model(name, "encoder", f"{label} encoder"), "ranges": latent_ranges(points),
                  "points": {"file": place(root, entries[name].demo_data), "sha256": entries[name].demo_data.sha256}}
    if shown := demo_models(manifest, "gan"):
        name, label = shown[0], entries[shown[0]].demo_settings["label"]
        generator = model(name, "generator", f"{label} generator")
        gan = {"label": label, "classes": entries[name].labels, "generator": generator,
               "z_dim": generator["inputs"][0]["shape"][1], "max_grid": gan_tab.MAX_GRID, "max_seed": gan_tab.MAX_SEED}
    return {"format": SITE_FORMAT, "runtime": runtime, "pad": pad_settings(), "sentences": SENTENCES,
            "explain": explain_settings(), "draw": draw, "detector": detector, "latent": latent, "gan": gan,
            "yours": yours_settings(manifest, place_digits)}


def explain_settings() -> dict:
    """The "Why?" view's methods and their numbers (hub/serving/explain.py: one copy, the CLI's)."""
    return {"methods": [{"name": k, "says": v} for k, v in explain.METHODS.items()], "default": explain.DEFAULT_METHOD,
            "occlusion": {"window": explain.OCCLUSION_WINDOW, "stride": explain.OCCLUSION_STRIDE},
            "ig_steps": explain.IG_STEPS, "palette": dataclasses.asdict(explain.PALETTE),
            "unfaithful": explain.UNFAITHFUL, "share_goal": faithfulness.SHARE_GOAL}


def pad_settings() -> dict:
    """The pad's size and pen, the detector's threshold and what an upload may be: the numbers the
    server's pages use (one copy)."""
    return {"size": PAD_SIZE, "pen_width": PEN_WIDTH, "not_a_digit_above": NOT_A_DIGIT_ABOVE, "prompt": DRAW_PROMPT,
            "max_image_bytes": MAX_IMAGE_BYTES, "formats_hint": FORMATS_HINT}


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
        for name, path in runtime_files.items():
            (work / VENDOR_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, work / VENDOR_DIR / name)
        if runtime_files and (ORT_NPM_DIST.parent / "LICENSE").is_file():
            shutil.copyfile(ORT_NPM_DIST.parent / "LICENSE", work / VENDOR_DIR / "LICENSE")

        def copy_into_site(root: Path, item: Artifact | DemoData) -> str:
            target = work / MODELS_DIR / item.file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(verified_path(root, item), target)  # inside the exports folder, matching the manifest's sha256
            return f"{MODELS_DIR}/{item.file}"

        def copy_digits(folder: Path, listed: dict) -> str:
            target = work / DIGITS_DIR / listed["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_inside(folder, listed["file"], listed["sha256"]))
            return f"{DIGITS_DIR}/{listed['file']}"

        site = page_config(Path(root), manifest, copy_into_site, runtime, copy_digits)
        (work / "models.json").write_text(json.dumps(site, indent=2) + "\n", encoding="utf-8")
    return out
