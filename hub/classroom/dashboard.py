"""What the teacher's dashboard shows, computed from a session's drawings (plain Python, no I/O).

A drawing's *reading* by a model is the digit the model gave the highest probability in the page
that drew it (the page runs the models; the server does no inference for the classroom). A model's
class accuracy is the share of the drawings it read whose reading is the label the student gave
(the prompted digit, or the one picked in free drawing). The hardest digit is the one the class's
drawings of it are read right least often, averaged over the models (at least ``HARDEST_MIN``
drawings of it, so that one odd drawing does not make a digit "hardest").
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping

from digitzoo.hub.classroom.drawing import CLASSES
from digitzoo.hub.classroom.store import StoredDrawing

SHOWN = 30  # thumbnails per list (wrong readings, not-a-digit): the newest
HARDEST_MIN = 3


def thumbnail(d: StoredDrawing, model: str | None = None) -> dict:
    out = {"id": d.id, "label": d.label, "pixels": base64.b64encode(d.pixels).decode("ascii")}
    if model is not None:
        out["read"] = d.reading(model)
    return out


def in_cell(drawings: Iterable[StoredDrawing], model: str, label: int, read: int) -> list[dict]:
    """The drawings of digit ``label`` that ``model`` read as ``read``, newest first."""
    return [thumbnail(d, model) for d in reversed(list(drawings)) if d.label == label and d.reading(model) == read]


def dashboard(drawings: list[StoredDrawing], models: Mapping[str, dict], model: str | None,
              not_a_digit_above: float) -> dict:
    """The dashboard's figures. ``models``: the Draw page's classifiers in their order, name ->
    {"title", "mnist_accuracy"}; ``model``: the one the confusion matrix and the wrong readings are
    for (default: the first)."""
    names = list(models)
    if model not in models:
        model = names[0] if names else None
    rows = []
    for name, facts in models.items():
        read = [d for d in drawings if name in d.answers]
        right = sum(d.reading(name) == d.label for d in read)
        rows.append({"model": name, "title": facts.get("title", name), "read": len(read),
                     "class_accuracy": round(right / len(read), 4) if read else None,
                     "mnist_accuracy": facts.get("mnist_accuracy")})
    confusion = [[0] * CLASSES for _ in range(CLASSES)]
    wrong = []
    for d in reversed(drawings):  # newest first
        reading = d.reading(model) if model else None
        if reading is None:
            continue
        confusion[d.label][reading] += 1
        if reading != d.label and len(wrong) < SHOWN:
            wrong.append(thumbnail(d, model))
    not_digits = [dict(thumbnail(d), not_digit=round(d.not_digit, 4))
                  for d in reversed(drawings) if d.not_digit > not_a_digit_above][:SHOWN]
    per_digit = []
    for digit in range(CLASSES):
        of_digit = [d for d in drawings if d.label == digit]
        checks = [d.reading(name) == digit for d in of_digit for name in names if name in d.answers]
        per_digit.append({"digit": digit, "drawings": len(of_digit),
                          "accuracy": round(sum(checks) / len(checks), 4) if checks else None})
    candidates = [p for p in per_digit if p["drawings"] >= HARDEST_MIN and p["accuracy"] is not None]
    hardest = min(candidates, key=lambda p: (p["accuracy"], -p["drawings"])) if candidates else None
    return {"model": model, "models": rows, "confusion": confusion, "wrong": wrong, "not_digits": not_digits,
            "per_digit": per_digit, "hardest": hardest, "threshold": not_a_digit_above,
            "students_drawing": len({d.student for d in drawings}), "drawn": len(drawings)}
