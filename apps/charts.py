"""Plotly figures as plain JSON, for gr.Plot, without importing plotly on the server.

gr.Plot ships figures to the browser as Plotly JSON, and the browser bundles plotly.js. Building
them with `plotly.graph_objects` validates every property in Python: 15-20 ms per belief chart,
most of a /classify request. The figures here are
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
