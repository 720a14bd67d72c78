"""`digitzoo web build` and `space build --static`, without a browser: what the site holds and says.

The browser half (the page's preprocessing against hub/serving/sketch.py, drawing, sliders, seeds, a
tampered file) is tests/test_web_browser.py.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from digitzoo.apps import web_build
from digitzoo.cli import main
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import demo_models, exports_root, read_manifest


def test_the_site_holds_the_page_the_checked_models_and_their_description(tmp_path):
    site = web_build.build_site(tmp_path / "site", exports_root())
    described = json.loads((site / "models.json").read_text())
    manifest = read_manifest()
    # The models come from the manifest's demo settings: the draw tab's classifiers, in order.
    assert [m["label"] for m in described["draw"]] == [manifest.models[m].demo["label"]
                                                      for m in demo_models(manifest, "draw")]
    assert [m["belief_by_row"] for m in described["draw"]].count(True) == 1
    files = [*described["draw"], described["latent"]["decoder"], described["latent"]["points"], described["gan"]["generator"]]
    for item in files:
        assert sha256_file(site / item["file"]) == item["sha256"], item["file"]
    assert all(m["inputs"][0]["shape"][1:] == [1, 28, 28] for m in described["draw"])
    assert [i["dtype"] for i in described["gan"]["generator"]["inputs"]] == ["float32", "int64"]
    assert {p.suffix for p in (site / "models").rglob("*.*")} == {".onnx", ".json"}  # no .pt, no .pt2
    # Default: onnxruntime-web from the pinned CDN URL, checked by its sha384 (runtime.js importPinned).
    assert described["runtime"]["module"] == web_build.ORT_CDN + web_build.ORT_MODULE
    assert described["runtime"]["module_integrity"] == web_build.ORT_SHA384[web_build.ORT_MODULE]
    assert described["runtime"]["wasm_integrity"] == web_build.ORT_SHA384[web_build.ORT_WASM]
    assert not (site / "vendor").exists()
    # The pad, the detector's threshold and the sentences are the server's, not copies in the page's code.
    from digitzoo.apps.inputs import MAX_IMAGE_BYTES
    from digitzoo.apps.reading import NOT_A_DIGIT_ABOVE, SENTENCES
    from digitzoo.hub.serving.sketch import PAD_SIZE, PEN_WIDTH

    assert described["format"] == web_build.SITE_FORMAT and described["sentences"] == SENTENCES
    pad = described["pad"]
    assert (pad["size"], pad["pen_width"], pad["not_a_digit_above"], pad["max_image_bytes"]) == (
        PAD_SIZE, PEN_WIDTH, NOT_A_DIGIT_ABOVE, MAX_IMAGE_BYTES)
    for name in ["main.js", *web_build.PAGE_MODULES]:  # (sketch.js's 0.5s are its own: paper vs ink)
        code = (site / name).read_text()
        assert not re.search(r"\b560\b|[Ww]idth = 28\b|doubt > 0\.5|Not sure this is|looks most like", code), \
            f"{name} keeps its own copy of a pad number, the threshold or a sentence"


def test_the_hub_and_the_static_site_read_one_models_json_shape(tmp_path):
    """One config for both pages: the hub's models.json (apps/pages.py) is the static site's, but for
    where the files are (its own URLs) and where onnxruntime-web comes from."""
    from digitzoo.apps import pages

    built = json.loads((web_build.build_site(tmp_path / "site", exports_root()) / "models.json").read_text())
    served, files = pages.site()
    served = json.loads(json.dumps(served))  # tuples as lists, as the page reads it

    def shape(value, path=""):
        if isinstance(value, dict):
            return {k: shape(v, f"{path}.{k}") for k, v in value.items() if k != "runtime"}
        if isinstance(value, list):
            return [shape(v, path) for v in value]
        return "URL" if path.endswith(".file") else value

    assert shape(served) == shape(built)
    for entry in served["draw"]:
        assert entry["file"].startswith(pages.PREFIX + "/models/") and entry["file"].removeprefix(pages.PREFIX + "/") in files


def test_the_hub_serves_the_static_sites_own_page_modules():
    """The hub's pages are the static site's files, byte for byte (apps/web/: no copy, no other version)."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from digitzoo.apps import pages

    client = TestClient(Starlette(routes=pages.routes()))
    for name in web_build.PAGE_MODULES:
        response = client.get(f"{pages.PREFIX}/{name}")
        assert response.status_code == 200 and response.content == (web_build.WEB_SOURCES / name).read_bytes(), name
    assert client.get(f"{pages.PREFIX}/main.js").status_code == 404  # the static site's frame is not the hub's


def test_the_page_modules_never_name_gradio_internals():
    """Nothing in apps/web reads Gradio's DOM, clicks its buttons or styles its classes: a Gradio release
    could change any of them. The pages name only their own dz-* classes and data-* attributes."""
    names = re.compile(r"gradio|svelte-|data-testid|aria-label=\W*(Clear canvas|Brush|Undo|Redo)|\.(block|wrap|form|prose|"
                       r"tab-container|image-container|icon-button|pixi-target|js-plotly-plot|output-class|contain)\b", re.I)
    for path in sorted(web_build.WEB_SOURCES.glob("*.*")):
        if path.suffix in (".js", ".mjs", ".css", ".html"):
            found = names.search(path.read_text())
            assert found is None, f"{path.name} names {found.group(0)!r}"
    for path in (web_build.WEB_SOURCES / "test").glob("*.mjs"):
        assert "gradio" not in path.read_text().lower(), path.name


def test_vendor_without_npm_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(web_build, "ORT_NPM_DIST", tmp_path / "nowhere")
    assert main(["web", "build", str(tmp_path / "site"), "--vendor"]) == 2
    err = capsys.readouterr().err.strip()
    assert "npm ci" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "site").exists()


def test_web_build_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.txt").write_text("keep me")
    assert main(["web", "build", str(tmp_path / "site")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "site" / "mine.txt").read_text() == "keep me"


def test_static_space_is_the_site_with_a_static_readme(tmp_path):
    assert main(["space", "build", str(tmp_path / "space"), "--static", "--model-repo", "alice/digitzoo-mnist"]) == 0
    readme = (tmp_path / "space" / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(readme.split("---\n", 2)[1])
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html" and meta["models"] == ["alice/digitzoo-mnist"]
    assert (tmp_path / "space" / "index.html").is_file() and not (tmp_path / "space" / "app.py").exists()


def test_static_space_push_dry_run_lists_the_site(monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["space", "push", "alice/digitzoo-web", "--static", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(sdk static)" in out and "index.html" in out and "models.json" in out and "sdk: static" in out
    assert "models/" in out and "app.py" not in out


def test_pinned_runtime_hashes_are_those_of_the_npm_files():
    """The CDN pins (sha384) are the bytes of the npm package apps/web/package-lock.json installs."""
    if not web_build.ORT_NPM_DIST.is_dir():
        pytest.skip(f"onnxruntime-web is not installed: {web_build.NPM_HINT}")
    for name, pinned in web_build.ORT_SHA384.items():
        assert web_build.sri(web_build.ORT_NPM_DIST / name) == pinned, name
    lock = json.loads((web_build.WEB_SOURCES / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == web_build.ORT_VERSION
