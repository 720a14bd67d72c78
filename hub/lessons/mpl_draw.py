"""A lesson's Plotly-JSON figure drawn with matplotlib: the picture of a downloaded lesson script.

The lessons draw their state as Plotly JSON (``plots.py``; the page shows it without plotly). A
script a learner takes home has no browser, so it redraws the same dict with matplotlib. Only
what the lessons use is mapped: scatter traces (lines, markers), bars and heatmaps, with their
colours, dashes, widths, sizes and opacities; one panel or two side by side (``xaxis2``/``yaxis2``
and their domains); titles, ranges, log and tick settings of the axes; panel titles and notes
(annotations); the legend. Other keys are skipped: this draws a lesson, it is no Plotly clone.

Standard library and matplotlib only: ``export.py`` copies this file's source into every script,
so nothing here may reach for digitzoo.
"""

from __future__ import annotations

import html
import re
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import MultipleLocator

PX = 0.75  # Plotly sizes are pixels, matplotlib's are points (1/72 inch): at 96 pixels an inch a pixel is 0.75 points
DASHES = {"solid": "-", "dot": ":", "dash": "--", "dashdot": "-.", "longdash": (0, (8, 3)), "longdashdot": (0, (8, 3, 1, 3))}


def draw_figure(figure: dict[str, Any]):
    """A matplotlib figure of ``figure`` ({"data": [...], "layout": {...}}), ready to show or save."""
    layout = figure.get("layout", {})
    two_panels = "xaxis2" in layout
    domains = [layout.get(f"xaxis{s}", {}).get("domain", [0.0, 1.0]) for s in (("", "2") if two_panels else ("",))]
    fig, axes = plt.subplots(1, len(domains), squeeze=False, layout="constrained",
                             figsize=(11 if two_panels else 7.5, layout.get("height", 450) / 80),
                             width_ratios=[hi - lo for lo, hi in domains])
    panels = {"": axes[0][0], "2": axes[0][-1]}
    for trace in figure.get("data", []):
        _draw_trace(panels["2" if trace.get("xaxis") == "x2" else ""], trace)
    for suffix, ax in panels.items():
        _style_axes(ax, layout.get(f"xaxis{suffix}", {}), layout.get(f"yaxis{suffix}", {}))
    for note in layout.get("annotations", []):
        _annotate(panels, domains, note)
    title = layout.get("title", "")
    fig.suptitle(_plain(title.get("text", "") if isinstance(title, dict) else title), fontsize=13)
    handles, labels = [], []
    for ax in dict.fromkeys(panels.values()):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.append(handle)
            labels.append(label)
    if layout.get("showlegend", len(handles) > 1) and handles:
        vertical = layout.get("legend", {}).get("orientation") == "v"
        fig.legend(handles, labels, loc="outside right upper" if vertical else "outside lower center",
                   ncols=1 if vertical else min(len(handles), 5), fontsize=9, frameon=False)
    return fig


def _draw_trace(ax, trace: dict[str, Any]) -> None:
    x, y = _values(trace.get("x", [])), _values(trace.get("y", []))
    shown = trace.get("showlegend", True) and trace.get("name")
    label = _plain(trace["name"]) if shown else "_nolegend_"  # matplotlib leaves "_..." labels out of the legend
    opacity = trace.get("opacity", 1.0)
    kind = trace.get("type", "scatter")
    if kind == "heatmap":
        z = [_values(row) for row in trace["z"]]
        cmap = trace.get("colorscale", "viridis")
        cmap = cmap if cmap in plt.colormaps() else cmap.lower() if cmap.lower() in plt.colormaps() else "viridis"
        ax.pcolormesh(x, y, z, shading="nearest", cmap=cmap, vmin=trace.get("zmin"), vmax=trace.get("zmax"),
                      alpha=opacity, linewidth=0)
    elif kind == "bar":
        ax.bar(x, y, color=trace.get("marker", {}).get("color"), alpha=opacity, label=label)
    elif kind == "scatter":
        mode = trace.get("mode", "lines")
        if "lines" in mode:
            line = trace.get("line", {})
            ax.plot(x, y, color=line.get("color"), linewidth=line.get("width", 2) * PX,
                    linestyle=DASHES.get(line.get("dash", "solid"), "-"), alpha=opacity, label=label)
            label = "_nolegend_"  # lines+markers: one legend entry
        if "markers" in mode:
            marker = trace.get("marker", {})
            ax.scatter(x, y, c=marker.get("color"), s=(marker.get("size", 6) * PX) ** 2, linewidths=0,
                       alpha=marker.get("opacity", 1.0) * opacity, label=label)


def _style_axes(ax, xaxis: dict[str, Any], yaxis: dict[str, Any]) -> None:
    for axis, which in ((xaxis, "x"), (yaxis, "y")):
        title = axis.get("title", {})
        getattr(ax, f"set_{which}label")(_plain(title.get("text", "") if isinstance(title, dict) else title))
        log = axis.get("type") == "log"
        if log:
            getattr(ax, f"set_{which}scale")("log")
        if "range" in axis:  # a log axis's range is in powers of ten, as in Plotly
            low, high = axis["range"]
            getattr(ax, f"set_{which}lim")((10 ** low, 10 ** high) if log else (low, high))
        if "dtick" in axis and not log:
            getattr(ax, f"{which}axis").set_major_locator(MultipleLocator(axis["dtick"]))
        if axis.get("showticklabels") is False:
            ax.tick_params(axis=which, **{"labelbottom" if which == "x" else "labelleft": False})
    if yaxis.get("scaleanchor") == "x":  # one unit of y as long as one of x: true proportions
        ax.set_aspect("equal", adjustable="box")


def _annotate(panels: dict[str, Any], domains: list[list[float]], note: dict[str, Any]) -> None:
    """A paper-anchored note: above a panel it is that panel's title; anywhere else, text at that spot of its panel."""
    x, y = note.get("x", 0.5), note.get("y", 1.0)
    # The panel under x, or the nearest one for a note in the gap between them.
    index = min(range(len(domains)), key=lambda i: max(domains[i][0] - x, x - domains[i][1], 0.0))
    ax = panels["2" if index else ""]
    text = _plain(note.get("text", ""))
    if y > 1:
        ax.set_title(text, fontsize=10)
        return
    lo, hi = domains[index]
    font = note.get("font", {})
    ax.text((x - lo) / (hi - lo), y, text, transform=ax.transAxes, ha=note.get("xanchor", "center"),
            va=note.get("yanchor", "middle").replace("middle", "center"), multialignment=note.get("align", "center"),
            fontsize=font.get("size", 12) * 0.9, family=font.get("family", "sans-serif"))


def _values(values: list[Any]) -> list[Any]:
    """Plotly's gaps (None) as matplotlib's (NaN)."""
    return [float("nan") if v is None else v for v in values]


def _plain(text: str) -> str:
    """Plotly's bits of HTML as plain text; ``$`` escaped so matplotlib does not read it as maths."""
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\xa0", " ")
    return text.replace("$", r"\$")
