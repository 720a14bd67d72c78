"""The golden vectors the page's JavaScript is checked against (apps/web/test/vectors/*.json).

Written once by the Python side and asserted twice: by the Node module tests (apps/web/test/, run by
tests/test_js.py) and by tests/test_js.py against the Python code that made them. So the page's
copies (runtime.js's mulberry32 and Box-Muller noise, sketch.js's preprocessing) and the hub's
(apps/gan.py, hub/serving/sketch.py) are held to one record, and a change on either side shows.

    python tests/js_vectors.py     # rewrite the vectors after a deliberate change on the Python side

- noise.json: for a few seeds, the first uniforms of mulberry32 and the first normals (float32).
- sketch.json: a few drawings (RGBA canvases, zlib + base64) and what sketch.preprocess makes of them
  (28x28 float32, base64), drawn to take the preprocessing's different paths: dark ink on white
  paper, strokes on a transparent layer, light ink on dark paper, thin and thick pens, grey levels.
- mnist_cnn.json: the shipped mnist_cnn.onnx (its manifest sha256) run by ONNX Runtime on one of
  those 28x28 inputs: logits, probabilities, top digit.
- yours.json: the "Your model" rules and sentences (hub/serving/own_model.py), and what
  `digitzoo eval --onnx` finds for a shipped classifier given as a visitor's file.
- explain.json: hub/serving/explain.py's arithmetic (occlusion patches, coverage and map, the IG
  path and map, the LSTM's row contributions, the palette) on fixed numbers, for apps/web/explain.js;
  and the three methods' maps of a shipped explainer (mnist_cnn) and the LSTM's row contributions,
  run by ONNX Runtime in Python, for the same files run by onnxruntime-node.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "apps" / "web" / "test" / "vectors"
NOISE_SEEDS = [0, 1, 42, 123456789, 2**31 - 1]  # 2**31 - 1: apps/gan.py's MAX_SEED
UNIFORMS = 8
NORMALS = 16
ODD_NORMALS = 7  # Box-Muller makes pairs: an odd count keeps the first of the last pair
READER_MODEL = "mnist_cnn"
READER_DRAWING = "two-thin-transparent"


def floats_b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, "<f4").tobytes()).decode()


def floats_from_b64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4").copy()


def rgba_from_entry(entry: dict) -> np.ndarray:
    """A drawing's stored canvas: (height, width, 4) uint8, what a canvas's getImageData gives."""
    raw = zlib.decompress(base64.b64decode(entry["rgba_zlib_b64"]))
    return np.frombuffer(raw, np.uint8).reshape(entry["height"], entry["width"], 4)


# ---- noise.json ----------------------------------------------------------------------------------

def noise_vectors() -> dict:
    from digitzoo.apps.gan import _mulberry32, _noise

    seeds = []
    for seed in NOISE_SEEDS:
        uniform = _mulberry32(seed)
        seeds.append({"seed": seed, "uniforms": [uniform() for _ in range(UNIFORMS)],
                      "normals": [float(v) for v in _noise(seed, 1, NORMALS).ravel()],
                      "odd_normals": [float(v) for v in _noise(seed, 1, ODD_NORMALS).ravel()]})
    return {"about": "apps/gan.py's _mulberry32(seed) (float64 uniforms, exact) and _noise(seed, 1, n) "
                     "(float32 normals); written by tests/js_vectors.py", "seeds": seeds}


# ---- sketch.json ---------------------------------------------------------------------------------

def _stroke(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int, fill) -> None:
    """A pen stroke through ``points``: straight segments with round ends and joins."""
    draw.line(points, fill=fill, width=width, joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _curve(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 40):
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a))
            for a in (start + (end - start) * i / steps for i in range(steps + 1))]


def drawings() -> dict[str, np.ndarray]:
    """Named RGBA canvases (uint8, height x width x 4)."""
    out = {}
    # The static site's pad: 560x560, white paper, a black 28 px pen.
    pad = Image.new("RGB", (560, 560), "white")
    _stroke(ImageDraw.Draw(pad), [(150, 130), (400, 130), (250, 450)], 28, "black")
    out["seven-pad-white"] = np.asarray(pad.convert("RGBA"))
    # Strokes on a transparent layer with a thin pen: the stroke is widened (MaxFilter).
    layer = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    points = _curve(400, 300, 150, 130, math.pi * 1.05, math.pi * 2.2) + [(260, 640), (560, 640)]
    _stroke(ImageDraw.Draw(layer), points, 5, (30, 60, 200, 255))
    out["two-thin-transparent"] = np.asarray(layer)
    # Light, anti-aliased ink on dark paper, not square, a thick pen: the stroke is thinned (MinFilter).
    big = Image.new("RGB", (1600, 1200), (20, 24, 48))
    _stroke(ImageDraw.Draw(big), _curve(800, 600, 260, 420, 0, 2 * math.pi, 80), 260, (200, 230, 255))
    out["zero-thick-dark"] = np.asarray(big.resize((400, 300), Image.LANCZOS).convert("RGBA"))
    # Grey pencil on off-white paper, a narrow "1" near a corner: grey levels against the border's paper.
    paper = Image.new("RGB", (2560, 1920), (238, 236, 228))
    _stroke(ImageDraw.Draw(paper), [(420, 520), (520, 400), (540, 1300)], 36, (90, 90, 96))
    out["one-pencil-corner"] = np.asarray(paper.resize((640, 480), Image.BOX).convert("RGBA"))
    return out


def sketch_vectors() -> dict:
    from digitzoo.hub.serving import sketch

    entries = []
    for name, rgba in drawings().items():
        height, width = rgba.shape[:2]
        entries.append({"name": name, "width": width, "height": height,
                        "rgba_zlib_b64": base64.b64encode(zlib.compress(rgba.tobytes(), 9)).decode(),
                        "python_28x28_f32_b64": floats_b64(sketch.preprocess(rgba))})
    return {"about": "RGBA canvases (row-major, zlib, base64) and digitzoo.hub.serving.sketch.preprocess of "
                     "each (28x28 float32 little-endian, base64); written by tests/js_vectors.py",
            "tolerance": 1e-5, "tolerance_from": "tests/test_web_browser.py PARITY_TOLERANCE",
            "drawings": entries}


# ---- mnist_cnn.json ------------------------------------------------------------------------------

def reader_vectors(sketches: dict) -> dict:
    import onnxruntime as ort

    from digitzoo.hub.serving.manifest import artifact, part_with_role, read_manifest

    manifest = read_manifest()
    item = artifact(manifest, READER_MODEL, part_with_role(manifest, READER_MODEL, "classifier"), "onnx")
    entry = next(d for d in sketches["drawings"] if d["name"] == READER_DRAWING)
    x = floats_from_b64(entry["python_28x28_f32_b64"]).reshape(1, 1, 28, 28)
    path = REPO / "hub" / "pretrained" / "exports" / item.file
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {item.inputs[0].name: x})[0][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    return {"about": f"ONNX Runtime (Python, CPU) on the shipped {item.file}, input: sketch.json's "
                     f"{READER_DRAWING!r} after preprocessing; written by tests/js_vectors.py",
            "file": f"hub/pretrained/exports/{item.file}", "sha256": item.sha256,
            "input": item.inputs[0].name, "output": item.outputs[0].name, "drawing": READER_DRAWING,
            "input_28x28_f32_b64": entry["python_28x28_f32_b64"],
            "logits": [float(v) for v in logits], "probabilities": [float(v) for v in probs],
            "top_digit": int(probs.argmax()), "tolerance": 1e-4}


# ---- yours.json ----------------------------------------------------------------------------------

YOURS_MODEL = "mnist_tutorial_cnn"  # small: node scores it on all 20,000 shipped digits in a few seconds


def yours_vectors() -> dict:
    """models.json's "Your model" rules and sentences, and what `digitzoo eval --onnx` (hub/serving/own_model.py)
    makes of a shipped classifier scored as a visitor's file: yours.js must find the same."""
    from digitzoo.apps.web_build import yours_settings
    from digitzoo.hub.serving import own_model
    from digitzoo.hub.serving.manifest import read_manifest

    file = f"hub/pretrained/exports/{YOURS_MODEL}/{YOURS_MODEL}.onnx"
    evaluation = own_model.evaluate_onnx(REPO / file)
    return {"about": "own_model's settings as models.json gives them, and evaluate_onnx of a shipped classifier; "
                     "written by tests/js_vectors.py",
            "yours": yours_settings(read_manifest(), lambda folder, item: f"hub/pretrained/digits/{item['file']}"),
            "file": file, "convention": evaluation["convention"], "output": evaluation["output"],
            "layout": evaluation["layout"],
            "correct": evaluation["tried"], "tried_says": evaluation["tried_says"],
            "accuracy": {name: figures["accuracy"] for name, figures in evaluation["sets"].items()},
            "confusion": {name: figures["confusion"] for name, figures in evaluation["sets"].items()}}


# ---- explain.json --------------------------------------------------------------------------------

EXPLAIN_DRAWING = "seven-pad-white"
EXPLAIN_MODEL, EXPLAIN_ROWS_MODEL = "mnist_cnn", "mnist_lstm"
WHY_NOT = 1  # a second target: "why not 1?"


def _sha256(values: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values, "<f4").tobytes()).hexdigest()


def _exported(model: str, role: str) -> tuple[str, str]:
    """(repository path, sha256) of a shipped ONNX file."""
    from digitzoo.hub.serving.manifest import artifact, part_with_role, read_manifest

    manifest = read_manifest()
    item = artifact(manifest, model, part_with_role(manifest, model, role), "onnx")
    return f"hub/pretrained/exports/{item.file}", item.sha256


def explain_vectors(sketches: dict) -> dict:
    """hub/serving/explain.py on fixed numbers (seeded), and on the shipped files."""
    from digitzoo.apps.reading import softmax
    from digitzoo.apps.web_build import explain_settings
    from digitzoo.hub.registry import EXPLAINER
    from digitzoo.hub.serving import explain
    from digitzoo.hub.serving.runtime import load_part

    entry = next(d for d in sketches["drawings"] if d["name"] == EXPLAIN_DRAWING)
    x = floats_from_b64(entry["python_28x28_f32_b64"]).reshape(28, 28)
    rng = np.random.default_rng(20240607)
    batch, windows = explain.occlusion_inputs(x)
    score = np.float32(6.25)
    occluded = (score - rng.normal(0.5, 1.0, len(windows))).astype(np.float32)
    products = rng.normal(0, 0.3, (explain.IG_STEPS, 1, 28, 28)).astype(np.float32)
    logits = rng.normal(0, 2, (28, 10)).astype(np.float32)
    step_probs = softmax(logits).astype(np.float32)
    # A map with palette ties (|t| = 0.5 lands on .5 for several channels: NumPy rounds them to even).
    ties = np.linspace(-1.5, 1.5, 784, dtype=np.float32)
    ties[:8] = [1, -1, 0.5, -0.5, 0, 0.25, -0.25, 0.75]
    occlusion_map = explain.occlusion_map(float(score), occluded, windows)
    colours = [{"map_b64": floats_b64(occlusion_map), "scale": None},
               {"map_b64": floats_b64(ties), "scale": 1.0},
               {"map_b64": floats_b64(np.zeros(784, np.float32)), "scale": None}]
    for item in colours:
        attr = floats_from_b64(item["map_b64"]).reshape(28, 28)
        item["rgb_b64"] = base64.b64encode(explain.colour_map(attr, item["scale"]).tobytes()).decode()

    # The shipped files: each method's map of the drawing for its answer and for WHY_NOT, and the LSTM's rows.
    classify, explainer = load_part(EXPLAIN_MODEL), load_part(EXPLAIN_MODEL, "explain")
    answer = int(classify(x[None, None])[0][0].argmax())
    maps = {f"{method}|{target}": floats_b64(explain.attribution(x, target, method, classify, explainer))
            for method in explain.METHODS for target in (answer, WHY_NOT)}
    blocks = explainer(x[None, None], np.array([answer], np.int64))[2:]
    lstm = load_part(EXPLAIN_ROWS_MODEL)
    lstm_logits, lstm_steps = lstm(x[None, None])[:2]
    lstm_answer = int(lstm_logits[0].argmax())
    rows = explain.row_contributions(softmax(lstm_steps[0]), lstm_answer)
    file, sha256 = _exported(EXPLAIN_MODEL, "classifier")
    explain_file, explain_sha256 = _exported(EXPLAIN_MODEL, EXPLAINER)
    lstm_file, lstm_sha256 = _exported(EXPLAIN_ROWS_MODEL, "classifier")
    return {"about": "digitzoo.hub.serving.explain on seeded numbers and on the shipped files (ONNX Runtime, "
                     "Python, CPU); written by tests/js_vectors.py",
            "settings": explain_settings(), "drawing": EXPLAIN_DRAWING, "x_f32_b64": entry["python_28x28_f32_b64"],
            "windows": [list(w) for w in windows], "occlusion_batch_sha256": _sha256(batch),
            "coverage": explain._coverage().ravel().astype(int).tolist(),
            "occlusion": {"score": float(score), "occluded_f32_b64": floats_b64(occluded),
                          "map_f32_b64": floats_b64(occlusion_map)},
            "ig": {"alphas": explain.ig_alphas().tolist(), "inputs_sha256": _sha256(explain.ig_inputs(x)),
                   "products_f32_b64": floats_b64(products), "map_f32_b64": floats_b64(explain.ig_map(products))},
            "rows": {"step_probs_f32_b64": floats_b64(step_probs), "digit": 7,
                     "contributions_f32_b64": floats_b64(explain.row_contributions(step_probs, 7))},
            "colours": colours,
            "model": {"model": EXPLAIN_MODEL, "file": file, "sha256": sha256, "explain_file": explain_file,
                      "explain_sha256": explain_sha256, "answer": answer, "why_not": WHY_NOT, "maps_f32_b64": maps,
                      "block_sums": [float(b.sum(dtype=np.float64)) for b in blocks],
                      "block_shapes": [list(b.shape[1:]) for b in blocks],
                      "tolerance": 1e-4},
            "rows_model": {"model": EXPLAIN_ROWS_MODEL, "file": lstm_file, "sha256": lstm_sha256, "answer": lstm_answer,
                           "contributions_f32_b64": floats_b64(rows), "tolerance": 1e-5}}


def write_yours() -> None:
    (VECTORS / "yours.json").write_text(json.dumps(yours_vectors(), indent=1) + "\n", encoding="utf-8")


def write_explain() -> None:
    sketches = json.loads((VECTORS / "sketch.json").read_text(encoding="utf-8"))
    (VECTORS / "explain.json").write_text(json.dumps(explain_vectors(sketches), indent=1) + "\n", encoding="utf-8")


def write_all() -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    sketches = sketch_vectors()
    for name, data in (("noise.json", noise_vectors()), ("sketch.json", sketches),
                       ("mnist_cnn.json", reader_vectors(sketches)), ("yours.json", yours_vectors()),
                       ("explain.json", explain_vectors(sketches))):
        (VECTORS / name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"{VECTORS / name}: {(VECTORS / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    sys.exit(write_all())
