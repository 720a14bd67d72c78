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
    # Default: onnxruntime-web from the pinned CDN URL, its sha384 in the import map.
    page = (site / "index.html").read_text()
    assert web_build.ORT_CDN + web_build.ORT_MODULE in page and web_build.ORT_SHA384[web_build.ORT_MODULE] in page
    assert described["runtime"]["wasm_integrity"] == web_build.ORT_SHA384[web_build.ORT_WASM]
    assert not (site / "vendor").exists()
    # The pad and the detector's threshold are the server's numbers, not copies in the page's code.
    from digitzoo.apps.reading import NOT_A_DIGIT_ABOVE
    from digitzoo.hub.serving.sketch import PAD_SIZE, PEN_WIDTH

    assert described["pad"] == {"size": PAD_SIZE, "pen_width": PEN_WIDTH, "not_a_digit_above": NOT_A_DIGIT_ABOVE}
    for name in ("main.js", "pad.js"):  # the page and its pad (sketch.js's 0.5s are its own: paper vs ink)
        code = (site / name).read_text()
        assert not re.search(r"\b560\b|[Ww]idth = 28\b|doubt > 0\.5", code), f"{name} keeps its own copy of a pad or threshold number"


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
