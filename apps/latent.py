"""Walk the autoencoder's 3-D latent space: where digits live, what any point decodes to. The page
is apps/web/latent.js (a gr.HTML component from apps.pages); this module answers its server path
and the /decode, /encode and /interpolate API."""

from __future__ import annotations

import json
from functools import lru_cache

import gradio as gr
import numpy as np

from digitzoo.apps import pages, parts
from digitzoo.apps.inputs import ImageOrSketch, number, refuse, sketch_to_input, upscale
from digitzoo.hub.serving.manifest import exports_root, read_manifest, verified_path

LIMIT = 1000.0  # codes further out than this are not a place any digit lives


def _part(role: str):
    """The encoder or decoder of the autoencoder this tab shows."""
    return parts.with_role(parts.first_shown("latent"), role)


def points() -> dict:
    """Test digits' codes shipped beside the exported encoder (checksummed like every file)."""
    return _points_in(parts.SETTINGS["root"] or exports_root())


@lru_cache(maxsize=2)
def _points_in(root) -> dict:
    item = read_manifest(root).models[parts.first_shown("latent")].demo_data
    return json.loads(verified_path(root, item).read_text())


def encode(sketch) -> list[float]:
    """Sketch -> its 3-D code."""
    (code,) = _part("encoder")(sketch_to_input(sketch))
    return [round(float(v), 4) for v in code[0]]


def decode(x, y, z) -> np.ndarray:
    """(x, y, z) -> the decoded 28x28 digit, shown at 168x168."""
    code = np.array([[number(x, "x", -LIMIT, LIMIT), number(y, "y", -LIMIT, LIMIT), number(z, "z", -LIMIT, LIMIT)]],
                    np.float32)
    (image,) = _part("decoder")(code)
    return upscale(image[0, 0])


def interpolate(start, end, steps=8) -> np.ndarray:
    """A strip of decoded images from the mean code of one digit to another's."""
    means = np.asarray(points()["class_means"], np.float32)
    a, b = means[int(number(start, "start digit", 0, 9))], means[int(number(end, "end digit", 0, 9))]
    steps = int(number(steps, "steps", 2, 16))
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    (images,) = _part("decoder")((1 - t) * a + t * b)  # (steps, 1, 28, 28)
    return np.hstack([upscale(image, 112) for image in images[:, 0]])  # (112, 112 * steps): one tile per step


def decode_for_page(request: dict) -> dict:
    """The page's server path for the decoder (apps/web/latent.js when it cannot run in the browser):
    ``{"codes": [[x, y, z], ...]}`` (at most 16) -> the 28x28 images, row by row."""
    codes = request.get("codes")
    if not isinstance(codes, list) or not 1 <= len(codes) <= 16 or not all(isinstance(c, list) and len(c) == 3 for c in codes):
        raise refuse('Send {"codes": [[x, y, z], ...]}: one to 16 points of three numbers.')
    points = np.array([[number(v, axis, -LIMIT, LIMIT) for v, axis in zip(code, "xyz")] for code in codes], np.float32)
    (images,) = _part("decoder")(points)
    return {"images": np.round(np.clip(images[:, 0], 0, 1), 3).ravel().tolist()}


def encode_for_page(request: dict) -> dict:
    """The encoder's server path: ``{"image": a data: URL}`` -> ``{"code": [x, y, z]}``."""
    if not isinstance(request.get("image"), str):
        raise refuse('Send {"image": "data:image/png;base64,..."}.')
    return {"code": encode({"url": request["image"]})}


def build(app: gr.Blocks) -> None:
    """Add the tab's page and its API endpoints to ``app`` (inside its context)."""
    gr.Markdown("The autoencoder squeezes every digit into three numbers. Turn the cloud of test digits, move the "
                "sliders, click a dot or draw a digit, and see what the decoder makes of that point.")
    pages.component("latent")
    api_xyz = [gr.Number(visible=False, label=axis) for axis in "xyz"]
    gr.Button("Decode", visible=False).click(decode, api_xyz, gr.Image(visible=False, label="decoded point"), api_name="decode")
    gr.Button("Encode", visible=False).click(encode, ImageOrSketch(type="filepath", visible=False, label="a digit"),
                                             gr.JSON(visible=False, label="code"), api_name="encode", preprocess=False)
    ends = [gr.Dropdown([str(d) for d in range(10)], value=v, label=f"{n} digit", visible=False) for v, n in (("1", "from"), ("7", "to"))]
    gr.Button("Interpolate", visible=False).click(interpolate, ends, gr.Image(visible=False, label="interpolation"),
                                                  api_name="interpolate")
