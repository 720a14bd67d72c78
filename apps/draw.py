"""Draw a digit: the CNN and the row-reading LSTM side by side, and what the LSTM believed row by row."""

from __future__ import annotations

import gradio as gr
import numpy as np

from apps import parts
from apps.inputs import sketch_to_input, upscale


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels(probs: np.ndarray) -> dict[str, float]:
    return {str(d): float(p) for d, p in enumerate(probs)}


def belief_figure(step_probs: np.ndarray):
    """Line chart: probability of each digit after reading rows 1..28."""
    import plotly.graph_objects as go

    final = int(step_probs[-1].argmax())
    fig = go.Figure()
    rows = list(range(1, 29))
    for d in range(10):
        fig.add_trace(go.Scatter(x=rows, y=step_probs[:, d], name=str(d), mode="lines",
                                 line=dict(width=4 if d == final else 1.5)))
    fig.update_layout(title="LSTM belief after each row it has read", xaxis_title="rows read (top to bottom)",
                      yaxis_title="probability", yaxis_range=[0, 1], height=320, margin=dict(l=40, r=10, t=40, b=40))
    return fig


def classify(sketch):
    """Sketch or image -> CNN top-3, LSTM top-3, the 28x28 input, the LSTM's belief chart, timing."""
    x = sketch_to_input(sketch)  # (1, 1, 28, 28)
    cnn, lstm = parts.get("mnist_cnn"), parts.get("mnist_lstm")
    (cnn_logits,) = cnn(x)
    lstm_logits, lstm_steps = lstm(x)
    info = f"Answered by {parts.describe(cnn, lstm)}"
    return (_labels(softmax(cnn_logits[0])), _labels(softmax(lstm_logits[0])), upscale(x[0, 0]),
            belief_figure(softmax(lstm_steps[0])), info)


def classify_while_drawing(sketch):
    """The live event: a cleared or still-empty canvas resets the outputs instead of raising."""
    try:
        return classify(sketch)
    except gr.Error as exc:
        if "empty" in str(exc.message):
            return None, None, None, None, "Draw a digit (0-9) on the pad."
        raise


def build() -> gr.Blocks:
    with gr.Blocks() as tab:
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
                seen = gr.Image(label="What the models saw (28x28)", height=180, interactive=False)
                info = gr.Markdown(elem_id="draw-info")
        belief = gr.Plot(label="LSTM belief row by row")
        clear = gr.Button("Clear")
        outputs = [cnn, lstm, seen, belief, info]
        pad.change(classify_while_drawing, pad, outputs, api_name="classify_live", api_visibility="private",
                   trigger_mode="always_last", show_progress="hidden")
        upload.upload(classify, upload, outputs, api_name="classify_upload", api_visibility="private")
        # The API endpoint: blank input is an error here, not a silent reset.
        gr.Button("Classify", visible=False).click(classify, pad, outputs, api_name="classify")
        clear.click(lambda: (None, None, None, None, None, "Draw a digit (0-9) on the pad."), None,
                    [pad, *outputs], api_name="clear", api_visibility="private")
    return tab
