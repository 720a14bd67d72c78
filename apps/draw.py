"""Draw a digit: the page (apps/web/draw.js, a gr.HTML component from apps.pages) reads the drawing
in the browser, or asks ``classify_for_page``; the /classify API and the MCP tool answer with the
default pair (the CNN and the row-reading LSTM). Every way of asking reads through ``read_digit``.
The /explain API answers "why this digit?" through apps.explaining, as the MCP tool and the CLI do."""

from __future__ import annotations

import gradio as gr
import numpy as np
from gradio.components.label import LabelConfidence, LabelData

from digitzoo.apps import explaining, pages, parts
from digitzoo.apps.charts import belief_chart
from digitzoo.apps.inputs import ImageOrSketch, refuse
from digitzoo.apps.reading import Reading, read_digit
from digitzoo.hub.serving.explain import DEFAULT_METHOD, METHODS


def default_pair() -> tuple[str, str]:
    """The two classifiers shown side by side until a user picks: the lowest demo orders (CNN, LSTM)."""
    models = parts.classifiers()
    return models[0], models[min(1, len(models) - 1)]


class Answer(gr.Label):
    """A gr.Label whose heading may be a sentence ("not sure: looks most like 4") over the digits'
    bars: Gradio's Label always heads with its top class; this one also takes a ready LabelData.
    (``is_template``: drawn by the Label of the page.)"""

    is_template = True

    def postprocess(self, value):
        return value if isinstance(value, LabelData) else super().postprocess(value)


def _answer(reading: Reading, model: str):
    """What the API returns per model: its ten digits' probabilities, or, when the detector says the
    drawing is probably no digit, the top three under "not sure: looks most like 4"."""
    probs = reading.probs[model]
    if not reading.not_sure:
        return {str(d): float(p) for d, p in enumerate(probs)}
    return LabelData(label=reading.headline(model), confidences=[LabelConfidence(label=str(d), confidence=float(probs[d]))
                                                                 for d in np.argsort(probs)[::-1][:3]])


def classify(sketch):
    """The /classify API: sketch or image -> the default pair's top-3 (CNN first, then LSTM), each
    headed "not sure: looks most like 4" when the drawing is probably not a digit; the 28x28 input,
    the belief row by row of the model that charts one, the verdict and timing."""
    pair = default_pair()
    reading = read_digit(sketch, list(pair))
    info = "\n\n".join(filter(None, [reading.verdict(), f"Answered by {reading.answered_by()}"]))
    chart = None if reading.beliefs is None else belief_chart(reading.beliefs)
    return (*(_answer(reading, m) for m in pair), (np.clip(reading.x[0, 0], 0, 1) * 255).astype(np.uint8), chart, info)


def explain(sketch, model, method, target) -> dict:
    """The /explain API: why ``model`` reads the sketch or image as it does (or as ``target``, 0-9,
    when given): the 28x28 map of ``method`` row by row, the PNG of it as a data: URL, the
    probabilities, the verdict ("not sure: ..." for a drawing that is probably no digit, or empty,
    still with its map), the row readers' row contributions and the feature maps' shapes."""
    return explaining.explain_drawing(sketch, model, method, target).to_json()


def classify_for_page(request) -> dict:
    """The page's server path (apps/web/draw.js when the models cannot run in the browser; POST
    .../ask/classify, apps.pages): ``{"image": a data: URL, "left": model, "right": model, "models":
    [every model for "all classifiers"] or null}`` -> the probabilities per model, the detector's
    doubt, the belief row by row, who answered and the 28x28 read, as data the page draws."""
    every = request.get("models") if isinstance(request, dict) else None
    asked = [request.get("left"), request.get("right"), *every] if isinstance(every, list) else \
        [request.get("left"), request.get("right")] if isinstance(request, dict) and every is None else None
    if not isinstance(request.get("image") if asked else None, str) or not all(isinstance(m, (str, type(None))) for m in asked):
        raise refuse('Send {"image": "data:image/png;base64,...", "left": a model name, "right": a model name, '
                     '"models": a list of model names or null}.')
    known = parts.classifiers()
    if not all(m is None or m in known for m in asked):
        raise refuse(f"Ask for models of this hub: {', '.join(known)}.")
    models = [m for m in asked if m is not None] or list(default_pair())
    reading = read_digit({"url": request["image"]}, models)
    return {"probs": {m: [round(float(p), 6) for p in reading.probs[m]] for m in reading.probs},
            "doubt": reading.not_digit, "answered_by": reading.answered_by(),
            "beliefs": None if reading.beliefs is None else np.round(reading.beliefs, 5).tolist(),
            "seen": np.round(np.clip(reading.x[0, 0], 0, 1), 3).ravel().tolist()}  # the 28x28 read, row by row


def build(app: gr.Blocks) -> None:
    """Add the tab's page and its API endpoint to ``app`` (inside its context)."""
    gr.Markdown("Draw a digit with the mouse or a finger, or upload a picture of one. The models read it as you draw: "
                "pick the two to compare, or show every classifier's answer.")
    pages.component("draw")  # its value is the drawing ({"strokes", "png"}): read_digit reads it as any picture
    # The API endpoint takes an image (an uploaded file, or inline as a data: URL, which saves
    # the upload round trip) or the pad's value, and answers with the default pair; blank input is
    # an error here. preprocess=False: the image is decoded by apps.inputs, which refuses a bad or
    # huge one with a sentence (Gradio's own decoding would answer a bare "Error").
    api_image = ImageOrSketch(type="filepath", visible=False, label="image of a digit, or a Sketchpad value")
    outputs = [Answer(num_top_classes=3, visible=False, label=f"{parts.label(m)} reads") for m in default_pair()]
    outputs += [gr.Image(visible=False, label="what the models saw (28x28)"), gr.Plot(visible=False, label="belief row by row"),
                gr.Markdown(visible=False)]
    gr.Button("Classify", visible=False).click(classify, api_image, outputs, api_name="classify", preprocess=False)
    # /explain: the same image, a model (default: the first with an explainer), a method and a digit.
    # preprocess=False as above: the model, method and digit are checked by apps.explaining, in its sentences.
    explainable = explaining.explainable()
    explain_inputs = [ImageOrSketch(type="filepath", visible=False, label="image of a digit, or a Sketchpad value"),
                      gr.Dropdown(explainable, value=explainable[0] if explainable else None, visible=False, label="model"),
                      gr.Dropdown(list(METHODS), value=DEFAULT_METHOD, visible=False, label="method"),
                      gr.Number(value=None, precision=0, visible=False, label="target digit, 0-9 (empty: the model's answer)")]
    gr.Button("Explain", visible=False).click(explain, explain_inputs, gr.JSON(visible=False, label="explanation"),
                                              api_name="explain", preprocess=False)
