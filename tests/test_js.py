"""The page's JavaScript (apps/web/*.js) is linted and tested like the Python.

- `eslint .` in apps/web finds nothing (apps/web/eslint.config.js: @eslint/js's recommended rules).
- `node --test` in apps/web passes (apps/web/test/*.test.mjs: runtime.js, sketch.js, and the shipped
  mnist_cnn.onnx read with onnxruntime-node), against golden vectors the Python side wrote once
  (tests/js_vectors.py -> apps/web/test/vectors/*.json).
- The same vectors still hold for the Python code that wrote them (apps/gan.py's noise,
  hub/serving/sketch.py, ONNX Runtime in Python): so neither copy can drift from the record alone.

ESLint and onnxruntime-node are apps/web's devDependencies (`npm ci` there; scripts/test.sh runs it).
Without Node.js or apps/web/node_modules the JavaScript half skips, except in CI
(DIGITZOO_REQUIRE_BROWSER), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from js_vectors import NORMALS, ODD_NORMALS, UNIFORMS, VECTORS, floats_from_b64, rgba_from_entry

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "apps" / "web"
ESLINT = WEB / "node_modules" / "eslint" / "bin" / "eslint.js"
FLOAT32_STEP = 1e-6  # as apps/web/test/noise.test.mjs: one float32 step of a libm difference


def vectors(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


# ---- The JavaScript: lint and module tests ---------------------------------------------------------

def node_or_skip() -> str:
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "Node.js is missing (apt-get install nodejs npm)"
    elif not ESLINT.is_file():
        reason = f"apps/web has no node_modules with its devDependencies (cd {WEB} && npm ci)"
    if reason:
        if os.environ.get("DIGITZOO_REQUIRE_BROWSER"):
            pytest.fail(f"JavaScript tests required (DIGITZOO_REQUIRE_BROWSER): {reason}", pytrace=False)
        pytest.skip(reason)
    return node


def run_in_web(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=WEB, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1"})


def test_eslint_finds_nothing():
    out = run_in_web(node_or_skip(), str(ESLINT), "--max-warnings", "0", ".")
    assert out.returncode == 0, f"eslint . in apps/web found:\n{out.stdout}{out.stderr}"


def test_node_module_tests_pass():
    out = run_in_web(node_or_skip(), "--test")
    assert out.returncode == 0, f"node --test in apps/web failed:\n{(out.stdout + out.stderr)[-20000:]}"
    assert re.search(r"^# pass [1-9]", out.stdout, re.M), f"node --test ran no tests:\n{out.stdout}{out.stderr}"


# ---- The golden vectors hold for the Python that wrote them ---------------------------------------

def test_noise_vectors_are_apps_gans():
    from digitzoo.apps.gan import _mulberry32, _noise

    seeds = vectors("noise.json")["seeds"]
    assert len(seeds) >= 3
    for entry in seeds:
        uniform = _mulberry32(entry["seed"])
        assert [uniform() for _ in range(UNIFORMS)] == entry["uniforms"], entry["seed"]
        for key, count in (("normals", NORMALS), ("odd_normals", ODD_NORMALS)):
            z = _noise(entry["seed"], 1, count).ravel()
            assert z.dtype == np.float32
            np.testing.assert_allclose(z, entry[key], rtol=0, atol=FLOAT32_STEP, err_msg=f"seed {entry['seed']} {key}")


def test_sketch_vectors_are_hub_sketchs():
    from digitzoo.hub.serving import sketch

    data = vectors("sketch.json")
    browser_test = (REPO / "tests" / "test_web_browser.py").read_text(encoding="utf-8")
    # The Node test holds sketch.js to the browser test's tolerance: the two must not drift apart.
    assert data["tolerance"] == float(re.search(r"^PARITY_TOLERANCE = (\S+)", browser_test, re.M).group(1))
    for entry in data["drawings"]:
        expected = floats_from_b64(entry["python_28x28_f32_b64"]).reshape(28, 28)
        out = sketch.preprocess(rgba_from_entry(entry))
        worst = float(np.abs(out - expected).max())
        assert worst <= data["tolerance"], f"{entry['name']}: max |now - stored| = {worst}: python tests/js_vectors.py"


def test_reader_vectors_are_onnxruntimes():
    import onnxruntime as ort

    data = vectors("mnist_cnn.json")
    path = REPO / data["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data["sha256"], \
        f"{data['file']} changed: python tests/js_vectors.py"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = floats_from_b64(data["input_28x28_f32_b64"]).reshape(1, 1, 28, 28)
    logits = session.run([data["output"]], {data["input"]: x})[0][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    assert int(probs.argmax()) == data["top_digit"]
    np.testing.assert_allclose(logits, data["logits"], rtol=0, atol=data["tolerance"])
    np.testing.assert_allclose(probs, data["probabilities"], rtol=0, atol=data["tolerance"])


def test_yours_vectors_are_own_models():
    """yours.json (what yours.js is held to) is still what hub/serving/own_model.py says and finds."""
    from digitzoo.apps.web_build import yours_settings
    from digitzoo.hub.serving import own_model
    from digitzoo.hub.serving.manifest import read_manifest

    record = vectors("yours.json")
    site = yours_settings(read_manifest(), lambda folder, listed: f"hub/pretrained/digits/{listed['file']}")
    assert record["yours"] == {key: site[key] for key in record["yours"]}  # the page gets the same settings
    evaluation = own_model.evaluate_onnx(REPO / record["file"])
    assert (evaluation["convention"], evaluation["output"], evaluation["layout"]) == \
        (record["convention"], record["output"], record["layout"])
    assert {name: f["accuracy"] for name, f in evaluation["sets"].items()} == record["accuracy"]
    assert {name: f["confusion"] for name, f in evaluation["sets"].items()} == record["confusion"]


def test_explain_vectors_are_explain_pys():
    """explain.json (what apps/web/explain.js is held to) is still hub/serving/explain.py's arithmetic,
    models.json's explain settings, and ONNX Runtime's maps of the shipped explainer."""
    import base64

    from digitzoo.apps.reading import softmax
    from digitzoo.apps.web_build import explain_settings
    from digitzoo.hub.serving import explain
    from digitzoo.hub.serving.runtime import load_part

    record = vectors("explain.json")
    assert record["settings"] == json.loads(json.dumps(explain_settings()))  # the page reads these from models.json
    x = floats_from_b64(record["x_f32_b64"]).reshape(28, 28)
    batch, windows = explain.occlusion_inputs(x)
    assert [list(w) for w in windows] == record["windows"]
    assert hashlib.sha256(np.ascontiguousarray(batch, "<f4").tobytes()).hexdigest() == record["occlusion_batch_sha256"]
    assert explain._coverage().ravel().astype(int).tolist() == record["coverage"]
    occlusion = record["occlusion"]
    occluded = floats_from_b64(occlusion["occluded_f32_b64"])
    np.testing.assert_array_equal(explain.occlusion_map(occlusion["score"], occluded, windows).ravel(),
                                  floats_from_b64(occlusion["map_f32_b64"]))
    assert explain.ig_alphas().tolist() == record["ig"]["alphas"]
    products = floats_from_b64(record["ig"]["products_f32_b64"]).reshape(-1, 1, 28, 28)
    np.testing.assert_array_equal(explain.ig_map(products).ravel(), floats_from_b64(record["ig"]["map_f32_b64"]))
    rows = record["rows"]
    np.testing.assert_array_equal(explain.row_contributions(floats_from_b64(rows["step_probs_f32_b64"]).reshape(28, 10), rows["digit"]),
                                  floats_from_b64(rows["contributions_f32_b64"]))
    for item in record["colours"]:
        rgb = explain.colour_map(floats_from_b64(item["map_b64"]).reshape(28, 28), item["scale"])
        assert rgb.tobytes() == base64.b64decode(item["rgb_b64"])
    # The shipped files: the same maps and row contributions, from the files the page runs.
    model = record["model"]
    for key, sha in (("file", "sha256"), ("explain_file", "explain_sha256")):
        assert hashlib.sha256((REPO / model[key]).read_bytes()).hexdigest() == model[sha], \
            f"{model[key]} changed: python tests/js_vectors.py"
    classify, explainer = load_part(model["model"]), load_part(model["model"], "explain")
    for key, expected in model["maps_f32_b64"].items():
        method, target = key.split("|")
        np.testing.assert_allclose(explain.attribution(x, int(target), method, classify, explainer).ravel(),
                                   floats_from_b64(expected), rtol=0, atol=model["tolerance"], err_msg=key)
    lstm = record["rows_model"]
    assert hashlib.sha256((REPO / lstm["file"]).read_bytes()).hexdigest() == lstm["sha256"]
    logits, steps = load_part(lstm["model"])(x[None, None])[:2]
    assert int(logits[0].argmax()) == lstm["answer"]
    np.testing.assert_allclose(explain.row_contributions(softmax(steps[0]), lstm["answer"]),
                               floats_from_b64(lstm["contributions_f32_b64"]), rtol=0, atol=lstm["tolerance"])
