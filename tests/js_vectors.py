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


def write_yours() -> None:
    (VECTORS / "yours.json").write_text(json.dumps(yours_vectors(), indent=1) + "\n", encoding="utf-8")


def write_all() -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    sketches = sketch_vectors()
    for name, data in (("noise.json", noise_vectors()), ("sketch.json", sketches),
                       ("mnist_cnn.json", reader_vectors(sketches)), ("yours.json", yours_vectors())):
        (VECTORS / name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"{VECTORS / name}: {(VECTORS / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    sys.exit(write_all())
