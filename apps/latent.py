"""Walk the autoencoder's 3-D latent space: where digits live, what any point decodes to."""

from __future__ import annotations

import json
import math
from functools import lru_cache

import gradio as gr
import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.charts import latent_scatter, latent_traces
from digitzoo.apps.inputs import EmptyCanvas, number, sketch_to_input, upscale
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
    data = json.loads(verified_path(root, item).read_text())
    codes = np.asarray(data["codes"])
    data["traces"] = latent_traces(codes, np.asarray(data["labels"]))
    # Each slider spans the middle 98 % of the test codes padded by a quarter, stretched to hold
    # every test digit (a click on any dot is a point the sliders can show) and 0 (a number typed
    # digit by digit, "-", "-2", "-25", never leaves the range on its way to a value inside it).
    lo, hi = np.asarray(data["p01"]), np.asarray(data["p99"])
    pad = (hi - lo) * 0.25
    lo, hi = np.minimum(np.minimum(lo - pad, codes.min(axis=0)), 0), np.maximum(np.maximum(hi + pad, codes.max(axis=0)), 0)
    data["ranges"] = [(math.floor(a * 100) / 100, math.ceil(b * 100) / 100) for a, b in zip(lo, hi)]
    return data


def slider_ranges() -> list[tuple[float, float]]:
    """(min, max) of the x, y and z sliders, two decimals, outward."""
    return points()["ranges"]


SLIDERS_POINT = "the sliders' point"


def scatter_figure(highlight: list[float] | None = None, label: str = "your drawing"):
    data = points()
    return latent_scatter(data["traces"], highlight, label, data["ranges"])


def encode(sketch) -> list[float]:
    """Sketch -> its 3-D code."""
    (code,) = _part("encoder")(sketch_to_input(sketch))
    return [round(float(v), 4) for v in code[0]]


def decode(x, y, z) -> np.ndarray:
    """(x, y, z) -> the decoded 28x28 digit, shown at 168x168."""
    return _decode_timed(x, y, z)[0]


def _decode_timed(x, y, z) -> tuple[np.ndarray, str]:
    """The decoded digit, and 'Decoded by onnxruntime-cpu: mnist_ae3d/decoder 0.4 ms' for this call."""
    code = np.array([[number(x, "x", -LIMIT, LIMIT), number(y, "y", -LIMIT, LIMIT), number(z, "z", -LIMIT, LIMIT)]],
                    np.float32)
    decoder = _part("decoder")
    (image,), ms = decoder.timed(code)
    return upscale(image[0, 0]), f"Decoded by {parts.describe(decoder.device, {parts.part_name(decoder): ms})}"


def decode_with_timing(x, y, z):
    """The page's first view: the image, and which runtime answered and how fast. (The plot, with the
    point marked, is the component's own value: sent again on load, it would land in a new <div>
    after the visitor may have turned the view, and reset it.)"""
    image, by = _decode_timed(x, y, z)
    point = [round(float(v), 2) for v in (x, y, z)]
    return image, _decoded_at(point, by)


def _decoded_at(point, by: str, notes=()) -> str:
    """'Point (0.09, -1.62, -2.06). Decoded by onnxruntime-cpu: ...', after a sentence per clamped value."""
    where = ", ".join(f"{v:.2f}" for v in point)
    return "  \n".join([*notes, f"Point ({where}). {by}"])


def decode_sliders(x, y, z):
    """The sliders' live event, on the raw values (the event skips the sliders' own range check).

    A number typed into a slider's box may be outside its range (999): the point decoded is the
    nearest one the slider can show, and a sentence over the runtime's says so while the box shows
    999. Leaving the box (Enter, or a click elsewhere) makes Gradio show the clamped value in it,
    which decodes the same point again, now without the sentence. A box half typed ("-") keeps the
    last image.
    """
    raw = []
    for v in (x, y, z):
        try:
            v = float(v)
        except (TypeError, ValueError, OverflowError):
            return gr.skip(), gr.skip()
        if not math.isfinite(v):
            return gr.skip(), gr.skip()
        raw.append(v)
    point, notes = [], []
    for axis, v, (lo, hi) in zip("xyz", raw, slider_ranges()):
        point.append(min(max(v, lo), hi))
        if point[-1] != v:
            notes.append(f"{axis} = {v:g} is outside the slider ({lo:.2f} to {hi:.2f}): decoded at {axis} = {point[-1]:.2f}.")
    image, by = _decode_timed(*point)
    return image, _decoded_at(point, by, notes)


def interpolate(start, end, steps=8) -> np.ndarray:
    """A strip of decoded images from the mean code of one digit to another's."""
    means = np.asarray(points()["class_means"], np.float32)
    a, b = means[int(number(start, "start digit", 0, 9))], means[int(number(end, "end digit", 0, 9))]
    steps = int(number(steps, "steps", 2, 16))
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    (images,) = _part("decoder")((1 - t) * a + t * b)  # (steps, 1, 28, 28)
    return np.hstack([upscale(image, 112) for image in images[:, 0]])  # (112, 112 * steps): one tile per step


def place_drawing(sketch):
    """A drawing's code, and the sliders moved to it (within their range).

    The sliders' change event decodes the point and moves the plot's marker (in the browser), as
    for any other way of moving them: the image always shows the point the sliders show.
    """
    code = encode(sketch)
    return code, *(min(max(round(v, 2), lo), hi) for v, (lo, hi) in zip(code, slider_ranges()))


def place_while_drawing(sketch):
    """Live event: an empty canvas leaves everything as it is instead of raising."""
    try:
        return place_drawing(sketch)
    except EmptyCanvas:
        return (gr.skip(),) * 4


# The plot's height (the figure has none: Plotly fills its <div>): the whole plot on the first
# screen of a 1280x720 projector (under the page's header, tabs and intro: ~190 px), 560 px at
# most; on a phone 420 px, where 560 px left the sliders a screen below a dot tapped.
PLOT_CSS = """
#latent-plot [data-testid=plotly] { height: clamp(380px, calc(100vh - 220px), 560px); }
@media (max-width: 480px) { #latent-plot [data-testid=plotly] { height: 420px; } }
"""

# Redrawing the 3-D scene to move the marker holds the page's main thread for a while (tens of ms
# with a GPU; 100-400 ms in software WebGL, what a headless or GPU-less browser has): the marker
# moves at most once per MARK_EVERY_MS, and rests twice as long as its last move took, so a
# dragged slider stays fluid. The last position is always drawn.
MARK_EVERY_MS = 100

# Gradio 6's gr.Plot sends no click events to Python, and draws each new figure it is given in a
# new <div>, where Plotly forgets the visitor's camera (uirevision cannot help). So the figure is
# sent once, and the browser does the rest:
# - a click on a test digit's dot writes its code into the x, y, z boxes, as if typed: the
#   sliders' change event decodes it;
# - the marker follows the sliders (their change event also calls mark(), which moves it with
#   Plotly.restyle, clamped to the sliders' range like the decoded point);
# - Enter in a slider's box leaves the box, which makes Gradio show the clamped value in it;
# - a new plot <div> (Gradio re-mounting the component) gets the listener, the camera the visitor
#   last chose and the marker where the sliders are;
# - PLOT_CSS is added to the page.
LATENT_JS = """
() => {
  const AXES = ['x', 'y', 'z'];
  const MARK = %(mark)s;
  const plot = () => document.querySelector('#latent-plot .js-plotly-plot');
  const box = (axis) => document.querySelector(`#latent-${axis} input[type=number]`);
  const EVERY_MS = %(every)d;
  let want = null, camera = null, wired = null;
  let timer = null, dirty = false, ready = 0;  // ready: when the next move may start
  const draw = () => {
    const gd = plot();
    const i = gd && gd.data && window.Plotly ? gd.data.findIndex((trace) => trace.name === MARK) : -1;
    if (i < 0 || !want) { timer = null; return; }
    dirty = false;
    const began = performance.now();
    Plotly.restyle(gd, {x: [[want[0]]], y: [[want[1]]], z: [[want[2]]]}, [i]);
    // Plotly draws the scene on a coming frame: after it, rest twice as long as it all took.
    requestAnimationFrame(() => setTimeout(() => {
      const now = performance.now();
      ready = now + Math.max(EVERY_MS, 2 * (now - began));
      timer = null;
      if (dirty) later();
    }, 0));
  };
  const later = () => {
    dirty = true;
    if (timer === null) timer = setTimeout(() => requestAnimationFrame(draw), Math.max(0, ready - performance.now()));
  };
  const mark = (x, y, z) => {
    want = [x, y, z].map((v, i) => {
      const b = box(AXES[i]);
      return b ? Math.min(Math.max(Number(v), Number(b.min)), Number(b.max)) : Number(v);
    });
    if (want.some((v) => !Number.isFinite(v))) { want = null; return; }
    later();
  };
  const pick = (point) => {
    // Boxes already showing the point are left alone: a click can be seen twice (above).
    AXES.forEach((axis, i) => {
      const b = box(axis);
      const value = String(Math.round(point[i] * 100) / 100);
      if (!b || Number(b.value) === Number(value)) return;
      b.value = value;
      b.dispatchEvent(new Event('input', {bubbles: true}));
    });
  };
  const wire = () => {
    const gd = plot();
    if (!gd || gd === wired || !gd.on || !gd._fullLayout) return;
    wired = gd;
    const dot = (event) => {
      const p = event && event.points && event.points[0];
      return p && p.data && p.data.name !== MARK ? [p.x, p.y, p.z] : null;
    };
    gd.on('plotly_click', (event) => { const p = dot(event); if (p) pick(p); });
    // Plotly's 3-D scene reports a click only if it draws a frame while the button is down; in
    // software WebGL a frame can take longer than a quick click, and the click is lost. So a
    // press and release on the spot, over a dot whose label shows, picks that dot too.
    let hovered = null, pressed = null;
    gd.on('plotly_hover', (event) => { hovered = dot(event); });
    gd.on('plotly_unhover', () => { hovered = null; });
    gd.addEventListener('pointerdown', (event) => { pressed = [event.clientX, event.clientY, hovered]; }, true);
    gd.addEventListener('pointerup', (event) => {
      const [x, y, dotThen] = pressed || [];
      pressed = null;
      if (dotThen && Math.hypot(event.clientX - x, event.clientY - y) < 5) pick(dotThen);
    }, true);
    gd.on('plotly_relayout', (change) => {
      if (change['scene.camera']) camera = change['scene.camera'];
    });
    if (camera) Plotly.relayout(gd, {'scene.camera': camera});
    Plotly.Plots.resize(gd);  // to the height PLOT_CSS gives it, if it was drawn before that applied
    if (want) later();
  };
  const style = document.createElement('style');
  style.textContent = %(css)s;
  document.head.appendChild(style);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target.matches('#latent-x input, #latent-y input, #latent-z input')) event.target.blur();
  });
  let pending = false;
  new MutationObserver(() => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; wire(); }); } })
    .observe(document.body, {childList: true, subtree: true});
  window.digitzooLatent = {mark, pick};
  wire();
}
""" % {"mark": json.dumps(SLIDERS_POINT), "every": MARK_EVERY_MS, "css": json.dumps(PLOT_CSS)}


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    data = points()
    start = [round(float(v), 2) for v in np.mean(data["codes"], axis=0)]
    gr.Markdown("Each dot is a test digit, placed by the encoder. Drag to rotate, scroll to zoom, click a dot to decode "
                "it. The black diamond is the point the sliders decode.")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Plot(value=scatter_figure(start, SLIDERS_POINT), elem_id="latent-plot",
                    label=f"latent space: {len(data['labels'])} test digits")
        with gr.Column(scale=2):
            # Two decimals everywhere: a slider showing -33.59247398376465 helps nobody.
            sliders = [gr.Slider(lo, hi, value=start[i], label=axis, step=0.01, elem_id=f"latent-{axis}")
                       for i, (axis, (lo, hi)) in enumerate(zip("xyz", data["ranges"]))]
            decoded = gr.Image(label="decoded point", height=200, interactive=False, elem_id="latent-decoded")
            timing = gr.Markdown(elem_id="latent-info")
    with gr.Row():
        with gr.Column():
            pad = gr.Sketchpad(label="Draw a digit to place it", type="numpy", image_mode="RGBA",
                               canvas_size=(400, 400), brush=gr.Brush(default_size=22, colors=["#000000"], color_mode="fixed"),
                               layers=False, elem_classes=["digit-pad"])
            code = gr.JSON(label="code of your drawing")
        with gr.Column():
            with gr.Row():
                start_digit = gr.Dropdown([str(d) for d in range(10)], value="1", label="from digit")
                end_digit = gr.Dropdown([str(d) for d in range(10)], value="7", label="to digit")
            go_button = gr.Button("Interpolate")
            strip = gr.Image(label="interpolation", interactive=False)
    # Whatever moves a slider (a drag, while dragging; a typed number; a click on a dot; a drawing;
    # the reset button; Gradio clamping a box on blur) changes it: decode then, not on release only.
    # always_last: one decode at a time, the newest values next; nothing queues up behind a drag.
    # preprocess=False: a typed 999 reaches decode_sliders, which decodes the nearest point and says
    # so, instead of the slider's range check answering with an error and no image.
    changed = [s.change for s in sliders]
    gr.on(changed, decode_sliders, sliders, [decoded, timing], preprocess=False, trigger_mode="always_last",
          show_progress="hidden", api_name="decode_slider", api_visibility="private")
    # And in the browser: the plot's marker follows (LATENT_JS; no figure is sent), and the page
    # decodes the point itself where it can (apps/web/gradio_latent.js), at every move.
    gr.on(changed, None, sliders, None,
          js="(x, y, z) => { window.digitzooLatent?.mark(x, y, z); window.digitzooLatentDecode?.(x, y, z); }")
    # The API takes any numbers (the sliders would clip them); decode() gives the clear errors.
    api_xyz = [gr.Number(visible=False, label=axis) for axis in "xyz"]
    gr.Button("Decode", visible=False).click(decode, api_xyz, decoded, api_name="decode")
    # preprocess=False: the API's pad value is read by apps.inputs (header checks, the composite alone),
    # never decoded whole by Gradio. The page's own event (private) gets it decoded, as apps.draw says.
    gr.Button("Encode", visible=False).click(encode, pad, code, api_name="encode", preprocess=False)
    pad.change(place_while_drawing, pad, [code, *sliders], api_visibility="private",
               trigger_mode="always_last", show_progress="hidden")
    go_button.click(interpolate, [start_digit, end_digit], strip, api_name="interpolate")
    app.load(decode_with_timing, sliders, [decoded, timing], api_visibility="private")
    app.load(None, None, None, js=LATENT_JS)
