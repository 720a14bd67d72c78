"""Walk the autoencoder's 3-D latent space: where digits live, what any point decodes to."""

from __future__ import annotations

import json
from functools import lru_cache

import gradio as gr
import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.charts import latent_scatter, latent_traces
from digitzoo.apps.inputs import EmptyCanvas, number, sketch_to_input, upscale
from digitzoo.hub.manifest import exports_root, read_manifest, verified_path

LIMIT = 1000.0  # codes further out than this are not a place any digit lives


def _part(role: str):
    """The encoder or decoder of the autoencoder this tab shows."""
    return parts.with_role(parts.first_shown("latent"), role)


def points() -> dict:
    """Test digits' codes shipped beside the exported encoder (checksummed like every file)."""
    return _points_in(parts.SETTINGS["root"] or exports_root())


@lru_cache(maxsize=2)
def _points_in(root) -> dict:
    item = read_manifest(root)["models"][parts.first_shown("latent")]["demo_data"]
    data = json.loads(verified_path(root, item).read_text())
    data["traces"] = latent_traces(np.asarray(data["codes"]), np.asarray(data["labels"]))
    return data


def scatter_figure(highlight: list[float] | None = None, label: str = "your drawing"):
    data = points()
    return latent_scatter(data["traces"], len(data["labels"]), highlight, label)


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


def decode_with_timing(x, y, z):
    """The sliders' event: the image, which runtime answered and how fast, and the point marked in the plot."""
    image = decode(x, y, z)
    point = [round(float(v), 2) for v in (x, y, z)]
    return image, f"Decoded by {parts.describe(_part('decoder'))}", scatter_figure(point, "the sliders' point")


def interpolate(start, end, steps=8) -> np.ndarray:
    """A strip of decoded images from the mean code of one digit to another's."""
    means = np.asarray(points()["class_means"], np.float32)
    a, b = means[int(number(start, "start digit", 0, 9))], means[int(number(end, "end digit", 0, 9))]
    steps = int(number(steps, "steps", 2, 16))
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    (images,) = _part("decoder")((1 - t) * a + t * b)  # (steps, 1, 28, 28)
    return np.hstack([upscale(image, 112) for image in images[:, 0]])  # (112, 112 * steps): one tile per step


def place_drawing(sketch):
    code = encode(sketch)
    return scatter_figure(code), code, *(round(v, 2) for v in code), decode(*code)


def place_while_drawing(sketch):
    """Live event: an empty canvas leaves everything as it is instead of raising."""
    try:
        return place_drawing(sketch)
    except EmptyCanvas:
        return (gr.skip(),) * 6


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    data = points()
    lo, hi = np.asarray(data["p01"]), np.asarray(data["p99"])
    pad_range = (hi - lo) * 0.25
    gr.Markdown("Each dot is a test digit placed by the encoder. Drag to rotate, scroll to zoom, hover for the digit. "
                "Move the sliders to decode any point; draw a digit to see where it lands.")
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(value=scatter_figure(), label="latent space", elem_id="latent-plot")
        with gr.Column(scale=2):
            # Two decimals everywhere: a slider showing -33.59247398376465 helps nobody.
            sliders = [gr.Slider(round(float(lo[i] - pad_range[i]), 2), round(float(hi[i] + pad_range[i]), 2),
                                 value=round(float(np.mean(data["codes"], axis=0)[i]), 2), label=axis, step=0.01)
                       for i, axis in enumerate("xyz")]
            decoded = gr.Image(label="decoded point", height=200, interactive=False)
            timing = gr.Markdown(elem_id="latent-info")
            pad = gr.Sketchpad(label="Draw a digit to place it", type="numpy", image_mode="RGBA",
                               canvas_size=(400, 400), brush=gr.Brush(default_size=22, colors=["#000000"], color_mode="fixed"),
                               layers=False, elem_classes=["digit-pad"])
            code = gr.JSON(label="code of your drawing")
    with gr.Row():
        start = gr.Dropdown([str(d) for d in range(10)], value="1", label="from digit")
        end = gr.Dropdown([str(d) for d in range(10)], value="7", label="to digit")
        go_button = gr.Button("Interpolate")
    strip = gr.Image(label="interpolation", interactive=False)
    for s in sliders:
        s.release(decode_with_timing, sliders, [decoded, timing, plot], api_name="decode_slider", api_visibility="private")
    # The API takes any numbers (the sliders would clip them); decode() gives the clear errors.
    api_xyz = [gr.Number(visible=False, label=axis) for axis in "xyz"]
    gr.Button("Decode", visible=False).click(decode, api_xyz, decoded, api_name="decode")
    gr.Button("Encode", visible=False).click(encode, pad, code, api_name="encode")
    pad.change(place_while_drawing, pad, [plot, code, *sliders, decoded],
               api_name="place", api_visibility="private", trigger_mode="always_last", show_progress="hidden")
    go_button.click(interpolate, [start, end], strip, api_name="interpolate")
    app.load(decode_with_timing, sliders, [decoded, timing, plot], api_visibility="private")
