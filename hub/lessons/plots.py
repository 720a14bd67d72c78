"""Plotly figures as plain JSON for the lessons (the apps send them to gr.Plot without plotly).

Every lesson draws with these few helpers so the pictures look alike and stay small: numbers are
rounded, and each figure keeps its zoom between updates (``uirevision``).
"""

from __future__ import annotations

from typing import Any, Iterable

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _numbers(values: Iterable[float], digits: int = 4) -> list[float | None]:
    out = []
    for v in values:
        v = float(v)
        out.append(round(v, digits) if v == v and abs(v) != float("inf") else None)
    return out


def line(x: Iterable[float], y: Iterable[float], name: str, color: int = 0, dash: str | None = None,
         width: float = 2.5, axis: str = "") -> dict[str, Any]:
    trace = {"type": "scatter", "mode": "lines", "name": name, "x": _numbers(x), "y": _numbers(y),
             "line": {"color": COLORS[color % len(COLORS)], "width": width, **({"dash": dash} if dash else {})}}
    if axis:
        trace.update(xaxis=f"x{axis}", yaxis=f"y{axis}")
    return trace


def points(x: Iterable[float], y: Iterable[float], name: str, color: int | list = 0, size: float = 6,
           axis: str = "", opacity: float = 0.8) -> dict[str, Any]:
    marker_color = [COLORS[c % len(COLORS)] for c in color] if isinstance(color, list) else COLORS[color % len(COLORS)]
    trace = {"type": "scatter", "mode": "markers", "name": name, "x": _numbers(x), "y": _numbers(y),
             "marker": {"color": marker_color, "size": size, "opacity": opacity}}
    if axis:
        trace.update(xaxis=f"x{axis}", yaxis=f"y{axis}")
    return trace


def bars(x: Iterable[Any], y: Iterable[float], name: str, color: int = 0, axis: str = "") -> dict[str, Any]:
    trace = {"type": "bar", "name": name, "x": list(x), "y": _numbers(y), "marker": {"color": COLORS[color % len(COLORS)]}}
    if axis:
        trace.update(xaxis=f"x{axis}", yaxis=f"y{axis}")
    return trace


def heatmap(z, x: Iterable[float], y: Iterable[float], name: str = "", colorscale: str = "RdBu",
            zmin: float = 0.0, zmax: float = 1.0) -> dict[str, Any]:
    return {"type": "heatmap", "z": [_numbers(row, 3) for row in z], "x": _numbers(x, 3), "y": _numbers(y, 3),
            "colorscale": colorscale, "zmin": zmin, "zmax": zmax, "showscale": False, "opacity": 0.45, "name": name,
            "hoverinfo": "skip"}


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters at spaces (Plotly's ``<br>``): a title
    written for a desktop plot still fits half a phone's width (Plotly never wraps titles itself)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


TITLE_WIDTH, PANEL_TITLE_WIDTH = 44, 24  # characters per line: a 390-pixel phone's plot is ~350 pixels wide


def figure(data: list[dict], title: str, x_title: str = "", y_title: str = "", *, two_panels: tuple[str, str] | None = None,
           second_titles: tuple[str, str] = ("", ""), y_range: tuple[float, float] | None = None,
           log_y2: bool = False, revision: str = "lesson") -> dict[str, Any]:
    """A figure; ``two_panels`` = (left title, right title) puts traces with axis "2" on a right panel."""
    title = wrap(title, TITLE_WIDTH)
    panel_titles = tuple(wrap(t, PANEL_TITLE_WIDTH) for t in two_panels) if two_panels else ("", "")
    panel_lines = max(t.count("<br>") + 1 for t in panel_titles) if two_panels else 0
    panel_height = 18 * panel_lines + 16  # a 12-pixel line of Plotly text takes ~17 pixels
    top = 36 + 18 * (title.count("<br>") + 1) + panel_height  # the tool bar, then every line of the titles
    plot_height = 275  # pixels between the margins, whatever the titles take
    layout: dict[str, Any] = {
        # The title stands on the panel titles (a height in the plot's units: Plotly's title padding does
        # not move a title anchored to the plot), so its lines never run into them.
        "title": {"text": title, "font": {"size": 14}, "y": 1.0 + panel_height / plot_height, "yref": "paper",
                  "yanchor": "bottom"},
        "margin": {"l": 50, "r": 20, "t": top, "b": 45},
        "height": plot_height + top + 45, "legend": {"orientation": "h", "y": -0.25}, "uirevision": revision,
        "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
    }
    if y_range:
        layout["yaxis"]["range"] = list(y_range)
    if two_panels:
        # A wide gap between the panels: the right panel's axis title sits in it, clear of the left panel.
        layout["xaxis"]["domain"] = [0.0, 0.42]
        layout["xaxis2"] = {"domain": [0.58, 1.0], "anchor": "y2", "title": {"text": second_titles[0]}}
        layout["yaxis2"] = {"anchor": "x2", "title": {"text": second_titles[1]}, **({"type": "log"} if log_y2 else {})}
        layout["annotations"] = [
            {"text": panel_titles[0], "x": 0.21, "y": 1.02, "yanchor": "bottom", "xref": "paper", "yref": "paper",
             "showarrow": False, "font": {"size": 12}},
            {"text": panel_titles[1], "x": 0.79, "y": 1.02, "yanchor": "bottom", "xref": "paper", "yref": "paper",
             "showarrow": False, "font": {"size": 12}},
        ]
    return {"data": data, "layout": layout}
