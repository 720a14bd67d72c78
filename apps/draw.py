"""Draw a digit: two classifiers side by side (by default the two first of the draw tab, the CNN
and the row-reading LSTM), or every classifier's answer in one table; and the belief row by row
of a model that charts it. Which models, in which order, is data in the manifest."""

from __future__ import annotations

import gradio as gr
import numpy as np
from gradio.components.label import LabelConfidence, LabelData

from digitzoo.apps import parts
from digitzoo.apps.charts import belief_chart
from digitzoo.apps.inputs import EmptyCanvas, ImageOrSketch, refuse
from digitzoo.apps.reading import Reading, read_digit
from digitzoo.hub.serving.sketch import PAD_SIZE, PEN_WIDTH

DRAW_PROMPT = "Draw a digit (0-9) on the pad."
TWO, ALL = "two", "all"
VIEWS = [("two side by side", TWO), ("all classifiers", ALL)]
TABLE_HEADERS = ["model", "reads", "confidence %", "runner-up", "ms"]


def _labels(probs: np.ndarray) -> dict[str, float]:
    return {str(d): float(p) for d, p in enumerate(probs)}


class Answer(gr.Label):
    """A gr.Label whose heading may be a sentence ("not sure: looks most like 4") over the digits' bars.

    Gradio's Label always heads with its top class; this one also takes a ready LabelData. It is
    drawn by the Label of the page (``is_template``: the frontend uses the parent's component).
    """

    is_template = True

    def postprocess(self, value):
        return value if isinstance(value, LabelData) else super().postprocess(value)


def _answer(reading: Reading, model: str):
    """What a model's Label shows: its top three digits, headed "not sure: looks most like 4" when the
    detector says the drawing is probably not a digit (the API returns the same heading)."""
    probs = reading.probs[model]
    if not reading.not_sure:
        return _labels(probs)
    top = np.argsort(probs)[::-1][:3]
    return LabelData(label=f"not sure: looks most like {top[0]}",
                     confidences=[LabelConfidence(label=str(d), confidence=float(probs[d])) for d in top])


def _verdict(reading: Reading) -> str:
    """The line above the timing in the page: empty for a digit."""
    if not reading.not_sure:
        return ""
    return (f"**Not sure this is a digit** ({100 * reading.not_digit:.0f}% it is a letter, a shape or a scribble): "
            "draw one digit, 0-9.\n\n")


def default_pair() -> tuple[str, str]:
    """The two classifiers shown side by side until a user picks: the lowest demo orders (CNN, LSTM)."""
    models = parts.classifiers()
    return models[0], models[min(1, len(models) - 1)]


def _pair(left: str | None, right: str | None) -> tuple[str, str]:
    """The picked pair; an unknown or missing choice falls back to the default (names come from a list)."""
    known = set(parts.classifiers())
    first, second = default_pair()
    pick = lambda choice, default: choice if isinstance(choice, str) and choice in known else default  # noqa: E731
    return pick(left, first), pick(right, second)


def _chart(reading: Reading):
    return None if reading.beliefs is None else belief_chart(reading.beliefs)


def _seen(x: np.ndarray) -> np.ndarray:
    # The 28x28 input itself: the page scales it up with crisp pixels (CSS), which saves
    # encoding a large PNG on every stroke.
    return (np.clip(x[0, 0], 0, 1) * 255).astype(np.uint8)


def _table(models: list[str], reading: Reading) -> list[list]:
    """One row per model: its name on screen, its answer, confidence, second guess and time."""
    rows = []
    for model in models:
        p = reading.probs[model]
        first, second = np.argsort(p)[::-1][:2]
        reads = f"not sure: {first}?" if reading.not_sure else str(first)
        rows.append([parts.label(model), reads, round(100 * float(p[first]), 1), str(second),
                     round(reading.ms[model], 2)])
    return rows


def classify(sketch):
    """The /classify API: sketch or image -> the default pair's top-3 (CNN first, then LSTM), each
    headed "not sure: looks most like 4" when the drawing is probably not a digit; the 28x28 input,
    the belief row by row of the model that charts one, the verdict and timing."""
    pair = default_pair()
    reading = read_digit(sketch, list(pair))
    info = f"{_verdict(reading)}Answered by {reading.answered_by()}"
    return (*(_answer(reading, m) for m in pair), _seen(reading.x), _chart(reading), info)


def classify_for_page(request):
    """The hub page's own server path (apps/web/gradio_draw.js, when the models do not run in the page;
    served by apps.draw_inpage at POST /digitzoo/inpage/classify): ``{"image": data: URL of the
    page's copy of the pad, "left": model, "right": model}`` -> the picked pair's probabilities, the
    detector's doubt, who answered and the 28x28 it read, as data the page draws.

    The page sends its own copy of the drawing the moment a stroke ends; the pad's change event
    (which stays, for the belief chart and as the last resort) first waits for the browser to export the
    Sketchpad's WebGL canvas, about a second in software rendering.
    """
    if (not isinstance(request, dict) or not isinstance(request.get("image"), str)
            or not all(isinstance(request.get(side), (str, type(None))) for side in ("left", "right"))):
        raise refuse('Send {"image": "data:image/png;base64,...", "left": a model name, "right": a model name}.')
    pair = _pair(request.get("left"), request.get("right"))
    reading = read_digit({"url": request["image"]}, list(pair))
    labels = parts.manifest().models
    return {"answers": [{"model": m, "label": parts.label(m), "classes": labels[m].labels,
                         "probs": [round(float(p), 6) for p in reading.probs[m]]} for m in pair],
            "doubt": reading.not_digit, "answered_by": reading.answered_by(),
            "seen": np.round(np.clip(reading.x[0, 0], 0, 1), 3).ravel().tolist()}  # the 28x28 read, row by row


def _slots(pair: tuple[str, str], answers=(None, None)) -> tuple:
    return tuple(gr.update(value=a, label=f"{parts.label(m)} reads") for m, a in zip(pair, answers))


def classify_picked(sketch, left=None, right=None, view=TWO):
    """The page's events: the picked pair side by side, or (view "all") every classifier in a table."""
    pair = _pair(left, right)
    models = parts.classifiers() if view == ALL else list(pair)
    reading = read_digit(sketch, [*pair, *models])
    info = f"{_verdict(reading)}Answered by {reading.answered_by(models)}"
    table = _table(models, reading) if view == ALL else None
    return (*_slots(pair, [_answer(reading, m) for m in pair]), _seen(reading.x), _chart(reading), info, table)


def _blank(pair: tuple[str, str] | None = None, message: str | None = DRAW_PROMPT) -> tuple:
    """Every output emptied: the two answers (keeping their names), the 28x28 view, the chart, the message, the table."""
    return (*_slots(pair or default_pair()), None, None, message, None)


def classify_while_drawing(sketch, left=None, right=None, view=TWO):
    """The live event: a cleared or still-empty canvas resets the outputs instead of raising."""
    try:
        return classify_picked(sketch, left, right, view)
    except EmptyCanvas:
        return _blank(_pair(left, right))


def classify_upload(payload, left=None, right=None, view=TWO):
    """An uploaded file: the answers, or, for a file that is not a usable image, the sentence in the
    page (and a toast) while the last answers stay on screen."""
    try:
        return classify_picked(payload, left, right, view)
    except gr.Error as exc:
        gr.Warning(exc.message)
        return (gr.skip(),) * 4 + (f"Not read: {exc.message}", gr.skip())  # answers, 28x28, chart stay


def _show(view: str) -> tuple:
    return gr.update(visible=view != ALL), gr.update(visible=view == ALL)


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    gr.Markdown("Draw a digit with the mouse or a finger. The models read what you draw as you draw it: "
                "pick the two to compare, or show every classifier's answer.")
    choices = [(f"{parts.label(m)} ({m})", m) for m in parts.classifiers()]
    first, second = default_pair()
    # Pad and Clear on the left, the answers first on the right: on a projector (1280x720) pad,
    # answers, the 28x28 view and Clear fit without scrolling; on a phone the columns stack, so the
    # answers come right under the pad. Pickers and the upload box come after what they change.
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            pad = gr.Sketchpad(
                label="Draw here", type="numpy", image_mode="RGBA", canvas_size=(PAD_SIZE, PAD_SIZE), height=440,
                brush=gr.Brush(default_size=PEN_WIDTH, colors=["#000000"], color_mode="fixed"),
                layers=False, elem_id="draw-pad", elem_classes=["digit-pad"],
            )
            # Cleared in the page (ClearButton): a server event that returns None to a Sketchpad
            # leaves it on "processing" for good in Gradio 6.31, and strokes after it are ignored.
            clear = gr.ClearButton([pad], value="Clear", elem_id="draw-clear")
        with gr.Column(scale=2, min_width=300):
            with gr.Row() as pair_row:
                answers = [Answer(num_top_classes=3, label=f"{parts.label(m)} reads", elem_id=f"draw-{side}")
                           for m, side in ((first, "left"), (second, "right"))]
            table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["str", "str", "number", "str", "number"],
                                 interactive=False, visible=False, elem_id="draw-all", label="Every classifier reads")
            with gr.Row():
                seen = gr.Image(label="What the models saw (28x28)", height=130, interactive=False, elem_id="draw-seen",
                                elem_classes=["pixelated"], min_width=140)
                info = gr.Markdown(elem_id="draw-info", min_height=60)
            with gr.Row():
                view = gr.Radio(VIEWS, value=TWO, label="Show", elem_id="draw-view")
            with gr.Row():
                left = gr.Dropdown(choices, value=first, label="Left", elem_id="pick-left")
                right = gr.Dropdown(choices, value=second, label="Right", elem_id="pick-right")
            upload = gr.Image(label="…or upload a picture of a digit", type="filepath", sources=["upload"], height=120,
                              elem_id="draw-upload")
    charted = [parts.label(m) for m in parts.classifiers() if parts.demo(m).get("belief_by_row")]
    belief = gr.Plot(label=f"{' / '.join(charted) or 'Model'} belief row by row", elem_id="lstm-belief")
    outputs = [*answers, seen, belief, info, table]
    picks = [left, right, view]
    # The page's own events: private (apps.limits.PublicApiOnly keeps /gradio_api/call/ to the public
    # API). Gradio decodes the pad's value for them (the page sends its pictures to the pad's own
    # storage, which only the component reads); Pillow refuses any picture over our size limit from
    # its header, process-wide (apps.inputs.bound_pillow_decoding).
    pad.change(classify_while_drawing, [pad, *picks], outputs, api_visibility="private",
               trigger_mode="always_last", show_progress="hidden")
    for pick in picks:  # a new choice re-reads the drawing on the pad
        pick.change(classify_while_drawing, [pad, *picks], outputs, api_visibility="private",
                    trigger_mode="always_last", show_progress="hidden")
    view.change(_show, view, [pair_row, table], api_visibility="private", show_progress="hidden")
    # preprocess=False: our decoder answers a file that is not an image with a sentence.
    upload.upload(classify_upload, [upload, *picks], outputs, api_name="classify_upload", api_visibility="private",
                  preprocess=False)
    # The API endpoint takes an image (an uploaded file, or inline as a data: URL, which saves
    # the upload round trip) or the Sketchpad's own value, and answers with the default pair; blank input is an error here,
    # not a silent reset.
    # preprocess=False: the image is decoded by apps.inputs, which refuses a bad or huge one
    # with a sentence (Gradio's own decoding would answer a bare "Error").
    api_image = ImageOrSketch(type="filepath", visible=False, label="image of a digit, or a Sketchpad value")
    gr.Button("Classify", visible=False).click(classify, api_image, outputs[:5], api_name="classify", preprocess=False)
    clear.click(lambda a, b: _blank(_pair(a, b)), [left, right], outputs, api_name="clear", api_visibility="private")
