"""Plotly figures as plain JSON, for gr.Plot, without importing plotly on the server.

gr.Plot ships figures to the browser as Plotly JSON, and the browser bundles plotly.js. Building
them with `plotly.graph_objects` validates every property in Python: 15-20 ms per belief chart,
most of a /classify request, and 0.4 s of start-up for the latent scatter. The figures here are
the same JSON, written directly.
"""

from __future__ import annotations

import json

import numpy as np
from gradio.components.plot import PlotData

DIGITS = range(10)
WINNER_COLOR = "#d62728"
OTHER_COLOR = "#b0b0b0"


def _plot(data: list[dict], layout: dict, config: dict | None = None) -> PlotData:
    figure = {"data": data, "layout": layout} if config is None else {"data": data, "layout": layout, "config": config}
    return PlotData(type="plotly", plot=json.dumps(figure, separators=(",", ":")))


def figure_data(figure: dict | None) -> PlotData | None:
    """A {"data", "layout"} figure (the lessons draw these) as what gr.Plot takes."""
    return None if figure is None else _plot(figure["data"], figure["layout"])


def belief_chart(step_probs: np.ndarray) -> PlotData:
    """(28, 10) probabilities after reading rows 1..28 -> a line per digit, the final answer bold."""
    final = int(step_probs[-1].argmax())
    rows = list(range(1, len(step_probs) + 1))
    # The answer in colour and bold, the other nine in grey: the eye finds the winner at once.
    # x is a row of the 28x28 picture the page shows ("What the models saw"): the axis and the
    # hover say so, so a bend in a line can be found in the picture.
    data = [{"type": "scatter", "mode": "lines", "name": str(d), "x": rows,
             "y": np.round(step_probs[:, d], 4).tolist(),
             "line": {"width": 4, "color": WINNER_COLOR} if d == final else {"width": 1.5, "color": OTHER_COLOR},
             "hovertemplate": f"after row %{{x}} of {len(rows)}: %{{y:.0%}} a {d}<extra></extra>"}
            for d in DIGITS]
    # A horizontal legend under the chart has room for all ten digits (a vertical one was cut at 8).
    layout = {"title": {"text": "LSTM belief after each row it has read"}, "height": 370,
              "xaxis": {"title": {"text": "row of the 28x28 picture (1 = top)"},
                        "range": [0.5, len(rows) + 0.5], "tickvals": [1, 7, 14, 21, 28]},
              "yaxis": {"title": {"text": "probability"}, "range": [0, 1]},
              "legend": {"orientation": "h", "y": -0.32, "yanchor": "top"},
              "margin": {"l": 40, "r": 10, "t": 40, "b": 100}}
    return _plot(data, layout)


def latent_traces(codes: np.ndarray, labels: np.ndarray) -> list[dict]:
    """One 3-D marker trace per digit (computed once: the scatter is the same for every request)."""
    traces = []
    for d in DIGITS:
        sel = np.round(codes[labels == d], 3)
        traces.append({"type": "scatter3d", "mode": "markers", "name": str(d),
                       "x": sel[:, 0].tolist(), "y": sel[:, 1].tolist(), "z": sel[:, 2].tolist(),
                       "marker": {"size": 2.5, "opacity": 0.7},
                       "hovertemplate": f"a test {d} at (%{{x:.2f}}, %{{y:.2f}}, %{{z:.2f}})<br>click to decode it<extra></extra>"})
    return traces


def latent_scatter(traces: list[dict], highlight: list[float] | None = None, label: str = "your drawing",
                   ranges: list[tuple[float, float]] | None = None) -> PlotData:
    """The digits' codes, plus one point (a drawn digit's code, or the sliders') as a large black diamond.

    ``ranges``: fixed (min, max) of the x, y, z axes, e.g. the sliders': then moving the point does
    not rescale the axes under the visitor's eyes (autorange would, whenever it leaves the cloud).
    """
    data = list(traces)
    if highlight is not None:
        data.append({"type": "scatter3d", "mode": "markers", "name": label,
                     "x": [highlight[0]], "y": [highlight[1]], "z": [highlight[2]],
                     "marker": {"size": 10, "color": "black", "symbol": "diamond"}, "showlegend": False,
                     "hovertemplate": f"{label} at (%{{x:.2f}}, %{{y:.2f}}, %{{z:.2f}})<extra></extra>"})
    # A constant uirevision keeps the visitor's camera (rotation, zoom) when Plotly is handed a new
    # figure for the same plot. (Gradio 6's gr.Plot draws every new value in a new <div>, which
    # forgets the camera anyway: the latent tab moves its marker in the browser instead, see latent.py.)
    # No title: the count is in the component's label. Gradio gives a titled figure a 100 px top
    # margin, and a legend beside the scene took a third of a phone's width; under the scene, the
    # ten digits only (the point is named by its hover and the page's text), it is one row on a
    # laptop, two on a phone, and the scene has the whole width.
    # No height either: the page's CSS gives one per screen size (latent.py), Plotly fills it.
    layout = {"margin": {"l": 0, "r": 0, "t": 10, "b": 0},
              "legend": {"itemsizing": "constant", "orientation": "h", "x": 0, "y": 0, "yanchor": "top"},
              "scene": {"camera": {"eye": {"x": 1.4, "y": 1.4, "z": 1.4}}},  # further than Plotly's 1.25: fewer axis ends cut off
              "uirevision": "latent-space"}
    for axis, span in zip(("xaxis", "yaxis", "zaxis"), ranges or ()):
        layout["scene"][axis] = {"range": list(span)}
    # Plotly's 3-D toolbar has nine buttons, several covered by the component's label on a phone;
    # dragging already rotates and the wheel zooms, so only "reset camera" stays.
    config = {"displaylogo": False, "modeBarButtonsToRemove": [
        "toImage", "zoom3d", "pan3d", "orbitRotation", "tableRotation", "resetCameraLastSave3d", "hoverClosest3d"]}
    return _plot(data, layout, config)
