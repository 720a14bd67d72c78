"""Draw a digit: the CNN and the row-reading LSTM side by side, and what the LSTM believed row by row."""

from __future__ import annotations

import gradio as gr
import numpy as np

from apps import parts
from apps.charts import belief_chart
from apps.inputs import sketch_to_input


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels(probs: np.ndarray) -> dict[str, float]:
    return {str(d): float(p) for d, p in enumerate(probs)}


def classify(sketch):
    """Sketch or image -> CNN top-3, LSTM top-3, the 28x28 input, the LSTM's belief chart, timing."""
    x = sketch_to_input(sketch)  # (1, 1, 28, 28)
    cnn, lstm = parts.get("mnist_cnn"), parts.get("mnist_lstm")
    (cnn_logits,) = cnn(x)
    lstm_logits, lstm_steps = lstm(x)
    info = f"Answered by {parts.describe(cnn, lstm)}"
    # The 28x28 input itself: the page scales it up with crisp pixels (CSS), which saves
    # encoding a large PNG on every stroke.
    seen = (np.clip(x[0, 0], 0, 1) * 255).astype(np.uint8)
    return (_labels(softmax(cnn_logits[0])), _labels(softmax(lstm_logits[0])), seen,
            belief_chart(softmax(lstm_steps[0])), info)


def classify_while_drawing(sketch):
    """The live event: a cleared or still-empty canvas resets the outputs instead of raising."""
    try:
        return classify(sketch)
    except gr.Error as exc:
        if "empty" in str(exc.message):
            return None, None, None, None, "Draw a digit (0-9) on the pad."
        raise


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
                cnn = gr.Label(num_top_classes=3, label="CNN reads", elem_id="cnn-label")
                lstm = gr.Label(num_top_classes=3, label="LSTM reads", elem_id="lstm-label")
            seen = gr.Image(label="What the models saw (28x28)", height=180, interactive=False, elem_id="draw-seen",
                        elem_classes=["pixelated"])
            info = gr.Markdown(elem_id="draw-info")
    belief = gr.Plot(label="LSTM belief row by row", elem_id="lstm-belief")
    clear = gr.Button("Clear")
    outputs = [cnn, lstm, seen, belief, info]
    pad.change(classify_while_drawing, pad, outputs, api_name="classify_live", api_visibility="private",
               trigger_mode="always_last", show_progress="hidden")
    upload.upload(classify, upload, outputs, api_name="classify_upload", api_visibility="private")
    # The API endpoint takes an image (an uploaded file, or inline as a data: URL, which saves
    # the upload round trip); blank input is an error here, not a silent reset.
    # preprocess=False: the image is decoded by apps.inputs, which refuses a bad or huge one
    # with a sentence (Gradio's own decoding would answer a bare "Error").
    api_image = gr.Image(type="filepath", visible=False, label="image of a digit")
    gr.Button("Classify", visible=False).click(classify, api_image, outputs, api_name="classify", preprocess=False)
    clear.click(lambda: (None, None, None, None, None, "Draw a digit (0-9) on the pad."), None,
                [pad, *outputs], api_name="clear", api_visibility="private")
