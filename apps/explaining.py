"""Why this digit? One explanation of a drawing on the server, for every way of asking: the /explain
API (apps.draw), the MCP explain tool (apps.mcp_tools) and `digitzoo explain` all call
``explain_drawing`` and shape their answer from its ``Explanation``.

The arithmetic is hub/serving/explain.py's, on the model's exported classifier and explainer (the
same files and the same methods as the page's in-browser view). The drawing is read as
``read_digit`` reads it (``sketch_to_input``, the model, the not-a-digit detector). A drawing the
detector doubts still gets its map, said to be "not sure", and so does an empty pad (a map of
zeros: no ink, nothing pushed the score). A model that cannot be explained, a method or a target
that does not exist is one sentence (``refuse``), never a traceback.

The endpoints that call this take the queue's default concurrency limit (apps.gradio_app's
CONCURRENCY), as every other model endpoint: an explanation is a few batched calls of files the
server already holds open (integrated gradients: one batch of 16; occlusion: at most 169 images).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.inputs import EmptyCanvas, integer, open_image, refuse, shown
from digitzoo.apps.reading import SENTENCES, Reading, read_digit, softmax
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving import faithfulness
from digitzoo.hub.serving.explain import DEFAULT_METHOD, METHODS, UNFAITHFUL, attribution, map_png, row_contributions
from digitzoo.hub.serving.manifest import parts_with_role
from digitzoo.hub.serving.runtime import Part

# What a map of a doubtful drawing is labelled with ({model}: its label on screen).
NOT_SURE_MAP = "not sure: the map shows what {model} saw anyway"
EMPTY_MAP = "not sure: the pad is empty, so nothing pushed {model}'s score (a map of zeros)"
# The square the text summary names as "the region that supports the answer most".
REGION = 7
JSON_DIGITS = 6  # significant digits of the numbers in a JSON answer


@dataclass(frozen=True)
class FeatureBlock:
    """One feature-map output of the explainer: ``block1`` "conv block 1: 32 feature maps of 28x28 (features.0)"."""

    name: str
    label: str
    shape: tuple[int, ...]  # (channels, height, width)


@dataclass(frozen=True)
class Region:
    """A REGION x REGION square of the map, rows and columns 0-27, both ends included."""

    rows: tuple[int, int]
    columns: tuple[int, int]
    total: float  # the map summed over the square

    @property
    def where(self) -> str:
        """'upper left', 'middle', 'lower right', ... of the 28x28 picture."""
        def third(start: int, words: tuple[str, str, str]) -> str:
            centre = start + REGION / 2
            return words[0] if centre < 28 / 3 else words[2] if centre > 2 * 28 / 3 else words[1]

        vertical = third(self.rows[0], ("upper", "middle", "lower"))
        horizontal = third(self.columns[0], ("left", "centre", "right"))
        return "middle" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"

    def to_json(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "columns": list(self.columns), "where": self.where,
                "total": _significant(self.total)}


@dataclass(frozen=True)
class Explanation:
    """Why ``model`` reads a drawing as it does: the map of ``method`` for digit ``target``."""

    model: str
    label: str  # the model's name on screen ("CNN")
    method: str
    target: int
    digit: int  # the model's answer
    probs: np.ndarray  # (10,)
    map: np.ndarray  # (28, 28): > 0 pushed the target's score up, < 0 down
    seen: np.ndarray  # (28, 28): the input the model read, white ink on black
    not_digit: float | None  # the detector's probability that this is no digit; None without a detector or ink
    empty: bool  # nothing was drawn: the map is all zeros
    rows: np.ndarray | None  # (28,): how much reading each row moved the belief in the target (row readers)
    blocks: tuple[FeatureBlock, ...]  # the explainer's feature maps (conv models; none for MLP, LSTM)
    device: str
    ms: dict[str, float] = field(default_factory=dict)  # "classify", "explain": milliseconds in this call

    @property
    def not_sure(self) -> bool:
        return self.empty or (self.not_digit is not None and self.not_digit > 0.5)

    def verdict(self) -> str:
        """'digit', or 'not sure: looks most like 4' (the drawing is probably no digit, or empty)."""
        return SENTENCES["looks_like"].format(digit=self.digit) if self.not_sure else "digit"

    def caption(self) -> str:
        """The line under the map."""
        if self.empty:
            return EMPTY_MAP.format(model=self.label)
        if self.not_sure:
            return NOT_SURE_MAP.format(model=self.label)
        return f"{METHODS[self.method]}; red pushed {self.label}'s score for {self.target} up, blue pushed it down"

    def strongest(self) -> Region | None:
        """The REGION x REGION square whose map sums highest, if any square pushed the score up."""
        padded = np.zeros((29, 29), np.float64)
        padded[1:, 1:] = np.cumsum(np.cumsum(self.map.astype(np.float64), axis=0), axis=1)  # (29, 29): sums from the corner
        k = REGION
        sums = padded[k:, k:] - padded[:-k, k:] - padded[k:, :-k] + padded[:-k, :-k]  # (22, 22): each square's sum
        r, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
        if sums[r, c] <= 0:
            return None
        return Region((int(r), int(r) + k - 1), (int(c), int(c) + k - 1), float(sums[r, c]))

    def png(self) -> bytes:
        """The map as a 280x280 PNG on the page's colour scale (red for, blue against)."""
        return map_png(self.map)

    def to_json(self, digits: int = JSON_DIGITS, png: bool = True) -> dict[str, Any]:
        """The explanation as JSON-ready data; the maps as nested lists (row by row) of ``digits``
        significant digits, and with ``png`` the map's picture as a data: URL."""
        strongest = self.strongest()
        out = {"model": self.model, "name": self.label, "method": self.method, "target": self.target,
               "digit": self.digit, "probabilities": _significant(self.probs, digits), "verdict": self.verdict(),
               "not_a_digit": None if self.not_digit is None else _significant(self.not_digit, digits),
               "empty": self.empty, "caption": self.caption(),
               "strongest": None if strongest is None else strongest.to_json(),
               "map": _significant(self.map, digits),
               "rows": None if self.rows is None else _significant(self.rows, digits),
               "blocks": [{"name": b.name, "label": b.label, "shape": list(b.shape)} for b in self.blocks],
               "seen": _significant(self.seen, digits), "device": self.device,
               "ms": {k: round(v, 2) for k, v in self.ms.items()}}
        out["faithfulness"] = self.faithfulness()
        if png:
            out["png"] = "data:image/png;base64," + base64.b64encode(self.png()).decode()
        return out

    def faithfulness(self) -> dict | None:
        """`digitzoo bench explain`'s verdict on this method for this model (faithful, ratio, share), as
        the page shows it; None where the shipped verdicts do not cover it."""
        return _verdicts().get(self.model, {}).get(self.method)

    def unfaithful(self) -> str:
        """The page's sentence under a map whose method was found not faithful on the model; else ""."""
        v = self.faithfulness()
        if not v or v["faithful"]:
            return ""
        return UNFAITHFUL.format(share=f"{100 * v['share']:.0f}", goal=f"{100 * faithfulness.SHARE_GOAL:.0f}",
                                 ratio="–" if v["ratio"] is None else f"{v['ratio']:.1f}")

    def report(self, out: str | os.PathLike | None = None) -> str:
        """A few lines for a person: what the model reads, the method, where the support lies, the PNG."""
        probability = float(self.probs[self.target])
        lines = [f"{self.model} reads {self.digit} ({100 * float(self.probs[self.digit]):.1f}%)"
                 + (f"; {self.verdict()}" if self.not_sure else ""),
                 f"method: {self.method} ({METHODS[self.method]}), for digit {self.target} ({100 * probability:.1f}%)"]
        strongest = self.strongest()
        if self.empty:
            lines.append(self.caption())
        else:
            if self.not_sure:
                lines.append(self.caption())
            lines.append(f"strongest support for {self.target}: rows {strongest.rows[0]}-{strongest.rows[1]}, columns "
                         f"{strongest.columns[0]}-{strongest.columns[1]} ({strongest.where})" if strongest is not None
                         else f"no {REGION}x{REGION} region pushed the score for {self.target} up")
        if self.unfaithful():
            lines.append(self.unfaithful())
        if self.rows is not None and not self.empty:
            row = int(np.argmax(self.rows))
            lines.append(f"row by row: reading row {row} moved the belief in {self.target} most ({self.rows[row]:+.3f})")
        if self.blocks:
            lines.append("feature maps: " + "; ".join(b.label for b in self.blocks))
        if out is not None:
            lines.append(f"map: {out}")
        return "\n".join(lines)


@cache
def _verdicts() -> dict:
    """The shipped verdicts of `digitzoo bench explain` (the page's labels); empty where none shipped."""
    return faithfulness.method_verdicts() if faithfulness.SHIPPED_VERDICTS.is_file() else {}


def _significant(value, digits: int = JSON_DIGITS):
    """A number, or an array as nested lists, rounded to ``digits`` significant digits."""
    if np.ndim(value) == 0:
        return float(f"{float(value):.{digits}g}")
    return [_significant(v, digits) for v in value]


def explainable() -> list[str]:
    """The models this hub can explain (a classifier and an explainer exported), in the Draw tab's order."""
    explainers = {m for m, _ in parts_with_role(parts.manifest(), "explainer")}
    return [m for m in parts.classifiers() if m in explainers]


def default_model() -> str:
    """The model an explanation is of when none is named: the first of the Draw tab that has an explainer."""
    models = explainable()
    if not models:
        raise refuse("No model of this hub has an explainer exported (digitzoo export NAME --parts explain).")
    return models[0]


def check_model(model: Any) -> str:
    models = explainable()
    if isinstance(model, str) and model in models:
        return model
    if isinstance(model, str) and model in parts.classifiers():
        raise refuse(f"{model} has no explainer exported: explain one of {', '.join(models)}.")
    raise refuse(f"{shown(model)} is not a model this hub explains: choose one of {', '.join(models)}.")


def check_method(method: Any) -> str:
    if isinstance(method, str) and method in METHODS:
        return method
    raise refuse(f"{shown(method)} is not a method: choose one of {', '.join(METHODS)}.")


def _blank_reading(model: str) -> Reading:
    """An empty pad, read anyway: the model's answer to a black 28x28 (no detector: there is no drawing)."""
    x = np.zeros((1, 1, 28, 28), np.float32)  # (1, 1, 28, 28): no ink anywhere
    reader = parts.with_role(model, "classifier")
    (logits, *more), ms = reader.timed(x)
    beliefs = softmax(more[0][0]) if more and parts.demo(model).get("belief_by_row") else None  # (28, 10)
    return Reading(x=x, probs={model: softmax(logits[0])}, ms={model: ms}, device=reader.device,
                   not_digit=None, beliefs=beliefs)


def explainer(model: str) -> Part:
    """The opened explainer of ``model`` (ONNX whatever the backend: ``apps.parts.get``)."""
    return parts.with_role(model, "explainer")


def _timed(part, spent: dict[str, float], key: str):
    def run(*arrays):
        out, ms = part.timed(*arrays)
        spent[key] = spent.get(key, 0.0) + ms
        return out

    return run


def explain_drawing(image, model: str | None = None, method: str = DEFAULT_METHOD, target=None) -> Explanation:
    """Explain how ``model`` (default: ``default_model()``) reads ``image`` (anything ``read_digit``
    takes) with ``method``, for digit ``target`` (default: the model's answer).

    Raises ``gr.Error`` (a sentence) for an unknown model, method or target and for input that is
    not a usable picture; an empty pad is explained (a map of zeros), labelled not sure.
    """
    model = default_model() if model is None or model == "" else check_model(model)
    method = check_method(method)
    if target is not None and target != "":
        target = integer(target, "target", 0, 9)
    else:
        target = None
    try:
        reading, empty = read_digit(image, [model]), False
    except EmptyCanvas:
        reading, empty = _blank_reading(model), True
    digit = reading.digit(model)
    target = digit if target is None else target
    spent = {"classify": reading.ms[model]}
    classifier, explain_part = parts.with_role(model, "classifier"), explainer(model)
    try:
        attr = attribution(reading.x[0, 0], target, method, _timed(classifier, spent, "classify"),
                           _timed(explain_part, spent, "explain"))
    except DigitzooError as exc:  # explain.py's own checks; the ones above make them unreachable
        raise refuse(str(exc)) from None
    rows = None if reading.beliefs is None else row_contributions(reading.beliefs, target)
    blocks = tuple(FeatureBlock(t.name, (t.description or t.name).split(":")[0], tuple(int(d) for d in t.shape[1:]))
                   for t in explain_part.entry.outputs if t.name.startswith("block"))
    return Explanation(model=model, label=parts.label(model), method=method, target=target, digit=digit,
                       probs=reading.probs[model], map=np.asarray(attr, np.float32), seen=np.clip(reading.x[0, 0], 0, 1),
                       not_digit=reading.not_digit, empty=empty, rows=rows, blocks=blocks, device=reading.device, ms=spent)


def explain_file(path: str | os.PathLike, model: str | None = None, method: str = DEFAULT_METHOD, target=None) -> Explanation:
    """``explain_drawing`` of a picture on disk (`digitzoo explain`): a DigitzooError, one line, for
    a missing or unreadable file and for everything ``explain_drawing`` refuses."""
    path = Path(path)
    if not path.is_file():
        raise DigitzooError(f"{path}: no such file")
    try:
        return explain_drawing(open_image(str(path)), model, method, target)
    except gr.Error as exc:
        raise DigitzooError(exc.message) from None
