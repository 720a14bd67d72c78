"""One drawing a student's page sends, checked: what is kept of it and the sentence for what is refused.

The page sends JSON (``Drawing.from_payload``):

- ``id``: the page's own id for this drawing (8-64 letters, digits, ``-`` or ``_``; a UUID): a drawing
  sent twice (a retry after a lost answer) is saved once;
- ``label``: the digit the student drew (0-9); ``prompted``: true when the page asked for that digit;
- ``strokes``: the pen's path, a list of strokes, each a list of ``[x, y, t]`` points (pad pixels,
  milliseconds since the first point), Quick, Draw!'s raw format;
- ``pixels``: the 28x28 the page read, 784 numbers in [0, 1], row by row (MNIST layout);
- ``answers``: the page's reading, ``{model: [10 probabilities]}`` per classifier it ran;
- ``not_digit``: the detector's probability that this is not a digit, in [0, 1].

Nothing else is accepted and nothing about the student is in it: the device is known to the server only
by the random token it got when it joined.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from digitzoo.hub.serving.errors import DigitzooError

SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = 10
MAX_STROKES = 64
MAX_POINTS = 4000  # all strokes together: a slow, careful digit on a phone is a few hundred
MAX_COORDINATE = 4096  # pad pixels; the pad is 560 wide, a big tablet at device pixels is under 4096
MAX_MILLISECONDS = 10 * 60 * 1000  # ten minutes for one digit
MAX_MODELS = 16
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DRAWING_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class DrawingRefused(DigitzooError):
    """A drawing the server does not keep; the message is the sentence the page shows."""


@dataclass(frozen=True)
class Drawing:
    """A checked drawing (see the module's docstring for the fields)."""

    id: str
    label: int
    prompted: bool
    strokes: tuple[tuple[tuple[float, float, float], ...], ...]
    pixels: bytes  # 784 bytes, 0-255 (the page's [0, 1] times 255, rounded): MNIST's own encoding
    answers: dict[str, tuple[float, ...]]
    not_digit: float

    @classmethod
    def from_payload(cls, payload: Any) -> Drawing:
        if not isinstance(payload, dict):
            raise DrawingRefused("Send the drawing as a JSON object.")
        unknown = set(payload) - {"id", "label", "prompted", "strokes", "pixels", "answers", "not_digit"}
        if unknown:
            raise DrawingRefused(f"Unknown field {sorted(unknown)[0]!r}: a drawing has id, label, prompted, strokes, "
                                 "pixels, answers and not_digit.")
        drawing_id = payload.get("id")
        if not isinstance(drawing_id, str) or not DRAWING_ID.match(drawing_id):
            raise DrawingRefused("The drawing's id must be 8-64 letters, digits, '-' or '_'.")
        label = payload.get("label")
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < CLASSES:
            raise DrawingRefused("Say which digit this is: a label from 0 to 9.")
        prompted = payload.get("prompted", False)
        if not isinstance(prompted, bool):
            raise DrawingRefused("'prompted' is true or false.")
        return cls(drawing_id, label, prompted, _strokes(payload.get("strokes")), _pixels(payload.get("pixels")),
                   _answers(payload.get("answers")), _probability(payload.get("not_digit"), "not_digit"))

    @property
    def points(self) -> int:
        return sum(len(stroke) for stroke in self.strokes)

    def reading(self, model: str) -> int | None:
        """The digit ``model`` read (its most probable), or None when the page did not run it."""
        probs = self.answers.get(model)
        return None if probs is None else max(range(CLASSES), key=probs.__getitem__)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _strokes(value: Any) -> tuple:
    if not isinstance(value, list) or not value:
        raise DrawingRefused("The drawing has no strokes: draw the digit first.")
    if len(value) > MAX_STROKES:
        raise DrawingRefused(f"A digit has at most {MAX_STROKES} strokes.")
    strokes, total = [], 0
    for stroke in value:
        if not isinstance(stroke, list) or not stroke:
            raise DrawingRefused("Each stroke is a list of [x, y, t] points.")
        total += len(stroke)
        if total > MAX_POINTS:
            raise DrawingRefused(f"A digit has at most {MAX_POINTS} points.")
        points = []
        for point in stroke:
            xyz = [_number(v) for v in point] if isinstance(point, list) and len(point) == 3 else [None]
            if None in xyz:
                raise DrawingRefused("Each point is [x, y, t]: three finite numbers.")
            x, y, t = xyz
            if not (0 <= x <= MAX_COORDINATE and 0 <= y <= MAX_COORDINATE and 0 <= t <= MAX_MILLISECONDS):
                raise DrawingRefused(f"Points lie on the pad (0-{MAX_COORDINATE}) within ten minutes (t in milliseconds).")
            points.append((round(x, 1), round(y, 1), round(t)))
        strokes.append(tuple(points))
    return tuple(strokes)


def _pixels(value: Any) -> bytes:
    if not isinstance(value, list) or len(value) != PIXELS:
        raise DrawingRefused(f"'pixels' is the {SIDE}x{SIDE} the page read: {PIXELS} numbers from 0 to 1.")
    out = bytearray(PIXELS)
    for i, v in enumerate(value):
        v = _number(v)
        if v is None or not 0 <= v <= 1:
            raise DrawingRefused(f"'pixels' is the {SIDE}x{SIDE} the page read: {PIXELS} numbers from 0 to 1.")
        out[i] = round(v * 255)
    if not any(out):
        raise DrawingRefused("The drawing is empty: draw the digit first.")
    return bytes(out)


def _probability(value: Any, name: str) -> float:
    v = _number(value)
    if v is None or not 0 <= v <= 1:
        raise DrawingRefused(f"'{name}' is a probability from 0 to 1.")
    return v


def _answers(value: Any) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, dict) or not value:
        raise DrawingRefused("'answers' holds each model's 10 probabilities, as the page read the drawing.")
    if len(value) > MAX_MODELS:
        raise DrawingRefused(f"At most {MAX_MODELS} models' answers.")
    answers = {}
    for model, probs in value.items():
        if not MODEL_NAME.match(model):
            raise DrawingRefused("A model's name is lowercase letters, digits and '_'.")
        if not isinstance(probs, list) or len(probs) != CLASSES:
            raise DrawingRefused(f"{model}: 10 probabilities, one per digit.")
        answers[model] = tuple(round(_probability(p, model), 6) for p in probs)
    return answers
