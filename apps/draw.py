"""Draw a digit: the draw-tab classifiers side by side (the CNN and the row-reading LSTM), and the
belief row by row of the one that charts it. Which models, in which order, is data in the manifest."""

from __future__ import annotations

import gradio as gr
import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.charts import belief_chart
from digitzoo.apps.inputs import EmptyCanvas, sketch_to_input

DRAW_PROMPT = "Draw a digit (0-9) on the pad."


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels(probs: np.ndarray) -> dict[str, float]:
    return {str(d): float(p) for d, p in enumerate(probs)}


def classify(sketch):
    """Sketch or image -> each draw-tab classifier's top-3 (CNN first, then LSTM), the 28x28 input,
    the belief row by row of the model that charts one, timing."""
    x = sketch_to_input(sketch)  # (1, 1, 28, 28)
    readers, answers, chart = [], [], None
    for model in parts.shown_on("draw"):
        reader = parts.with_role(model, "classifier")
        logits, *more = reader(x)  # (1, 10), and (1, 28, 10) beliefs after each row where the model gives them
        if parts.demo(model).get("belief_by_row") and more:
            chart = belief_chart(softmax(more[0][0]))
        readers.append(reader)
        answers.append(_labels(softmax(logits[0])))
    info = f"Answered by {parts.describe(*readers)}"
    # The 28x28 input itself: the page scales it up with crisp pixels (CSS), which saves
    # encoding a large PNG on every stroke.
    seen = (np.clip(x[0, 0], 0, 1) * 255).astype(np.uint8)
    return (*answers, seen, chart, info)


def _blank(message: str | None = DRAW_PROMPT) -> tuple:
    """Every output emptied: one label per draw model, the 28x28 view, the chart, the message."""
    return (None,) * (len(parts.shown_on("draw")) + 2) + (message,)


def classify_while_drawing(sketch):
    """The live event: a cleared or still-empty canvas resets the outputs instead of raising."""
    try:
        return classify(sketch)
    except EmptyCanvas:
        return _blank()


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    gr.Markdown("Draw a digit with the mouse or a finger. Both models read what you draw as you draw it.")
    with gr.Row():
        with gr.Column(scale=3):
            pad = gr.Sketchpad(
                label="Draw here", type="numpy", image_mode="RGBA", canvas_size=(560, 560), height=600,
                brush=gr.Brush(default_size=28, colors=["#000000"], color_mode="fixed"),
                layers=False, elem_id="draw-pad", elem_classes=["digit-pad"],
            )
            upload = gr.Image(label="…or upload a picture of a digit", type="filepath", sources=["upload"], height=160)
        with gr.Column(scale=2):
            with gr.Row():
                answers = [gr.Label(num_top_classes=3, label=f"{parts.demo(model)['label']} reads",
                                    elem_id=f"{parts.demo(model)['label'].lower()}-label")
                           for model in parts.shown_on("draw")]
            seen = gr.Image(label="What the models saw (28x28)", height=180, interactive=False, elem_id="draw-seen",
                        elem_classes=["pixelated"])
            info = gr.Markdown(elem_id="draw-info")
    charted = [parts.demo(m)["label"] for m in parts.shown_on("draw") if parts.demo(m).get("belief_by_row")]
    belief = gr.Plot(label=f"{' / '.join(charted) or 'Model'} belief row by row", elem_id="lstm-belief")
    clear = gr.Button("Clear")
    outputs = [*answers, seen, belief, info]
    pad.change(classify_while_drawing, pad, outputs, api_name="classify_live", api_visibility="private",
               trigger_mode="always_last", show_progress="hidden")
    upload.upload(classify, upload, outputs, api_name="classify_upload", api_visibility="private")
    # The API endpoint takes an image (an uploaded file, or inline as a data: URL, which saves
    # the upload round trip); blank input is an error here, not a silent reset.
    # preprocess=False: the image is decoded by apps.inputs, which refuses a bad or huge one
    # with a sentence (Gradio's own decoding would answer a bare "Error").
    api_image = gr.Image(type="filepath", visible=False, label="image of a digit")
    gr.Button("Classify", visible=False).click(classify, api_image, outputs, api_name="classify", preprocess=False)
    clear.click(lambda: (None, *_blank()), None,
                [pad, *outputs], api_name="clear", api_visibility="private")
