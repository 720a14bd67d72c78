"""A Playground run as a link: the lesson, its knobs, the seed, the steps and the data choice in a URL's query.

``link_query`` writes the query of a set-up the lesson has already checked; ``read_link`` reads
any query a browser brings (a link typed by hand, cut short or made for an older version) and
never refuses it outright: each value the lesson cannot take is clamped into its range or set
back to its default, with a sentence saying so. A link does not carry a learner's own data (it
may be large, and it is theirs): ``data=yours`` only says that the run used some, so the page
can ask for the file.

>>> from digitzoo.hub.lessons.lesson import get_lesson
>>> query = link_query(get_lesson("regression"), seed=3, steps=200, knobs={"hidden": 20, "activation": "tanh", "lr": 0.05, "noise": 0.2})
>>> query
'lesson=regression&seed=3&steps=200&hidden=20&activation=tanh&lr=0.05&noise=0.2'
>>> link = read_link(dict(p.split("=") for p in query.split("&")))
>>> link.seed, link.steps, link.knobs["lr"], link.notes
(3, 200, 0.05, ())
>>> print(*read_link({"lesson": "regression", "lr": "1e9"}).notes)
the link's learning rate 1e+09 is above the most this lesson takes, 10: set to 10
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlencode

from digitzoo.hub.lessons.lesson import Knob, Lesson, LessonError, get_lesson, list_lessons, quoted

RESERVED = ("lesson", "seed", "steps", "data")  # the query's own names; no knob may take one
YOURS = "yours"  # data=yours: the run used the learner's own data
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Link:
    """A lesson set up from a link: every value one the lesson takes, and a sentence per value changed."""

    lesson: str
    seed: int
    steps: int
    knobs: dict[str, Any]
    own_data: bool
    notes: tuple[str, ...] = ()


def link_query(cls: type[Lesson], seed: int, steps: int, knobs: Mapping[str, Any], own_data: bool = False) -> str:
    """The query of a checked set-up (``cls.parse_knobs``' values): lesson, seed, steps, each knob, the data choice."""
    fields: dict[str, str] = {"lesson": cls.name, "seed": str(int(seed)), "steps": str(int(steps))}
    for knob in cls.knobs:
        value = knobs.get(knob.name, knob.default)
        fields[knob.name] = _value_text(value)
    if own_data:
        fields["data"] = YOURS
    return urlencode(fields)


def read_link(params: Mapping[str, str]) -> Link | None:
    """The set-up a link's query asks for, clamped to what the lesson takes; None without ``lesson``.

    A LessonError (with the lesson names) only for a lesson that does not exist.
    """
    name = params.get("lesson")
    if name is None:
        return None
    if name not in list_lessons():
        raise LessonError(f"this link asks for a lesson {quoted(name)}, which does not exist; the lessons: "
                          f"{', '.join(list_lessons())}")
    cls = get_lesson(name)
    notes: list[str] = []
    seed = _clamped(Knob("seed", "seed", 0, 0, MAX_SEED, integer=True), params.get("seed"), notes)
    steps = _clamped(Knob("steps", "steps", cls.steps_by_default(), 1, cls.max_steps, integer=True), params.get("steps"), notes)
    knobs = {knob.name: _clamped(knob, params.get(knob.name), notes) for knob in cls.knobs}
    known = {*RESERVED, *(knob.name for knob in cls.knobs)}
    notes += [f"the link's setting {quoted(key)} is not one of this lesson's: left out" for key in params if key not in known]
    data = params.get("data")
    if data not in (None, YOURS):
        notes.append(f"the link's data {quoted(data)} is not a choice (data=yours means your own): the lesson's own data")
    return Link(name, seed, steps, knobs, data == YOURS, tuple(notes))


def _clamped(knob: Knob, raw: str | None, notes: list[str]) -> Any:
    """``raw`` as the knob takes it; else the nearest value it takes (or its default), with a note."""
    if raw is None:
        return knob.default
    try:
        return knob.parse(raw)
    except LessonError:
        pass
    if knob.choices:
        notes.append(f"the link's {knob.label} {quoted(raw)} is not one of {', '.join(knob.choices)}: "
                     f"set to {knob.default}")
        return knob.default
    try:
        number = float(raw)  # "9" * 400 reads as inf: above any range, so clamped like 1e9
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if math.isnan(number):
        notes.append(f"the link's {knob.label} {quoted(raw)} is not a number: set to {_shown(knob.default)}")
        return knob.default
    value = min(max(number, knob.lo), knob.hi)
    if knob.integer:
        value = int(min(max(round(value), knob.lo), knob.hi))
    if number > knob.hi:
        notes.append(f"the link's {knob.label} {_shown_raw(raw, number)} is above the most this lesson takes, "
                     f"{knob.hi:g}: set to {_shown(value)}")
    elif number < knob.lo:
        notes.append(f"the link's {knob.label} {_shown_raw(raw, number)} is below the least this lesson takes, "
                     f"{knob.lo:g}: set to {_shown(value)}")
    else:
        notes.append(f"the link's {knob.label} {number:g} is not a whole number: set to {_shown(value)}")
    return value


def _shown_raw(raw: str, number: float) -> str:
    return quoted(raw) if math.isinf(number) else f"{number:g}"


def _value_text(value: Any) -> str:
    """A knob value as the query writes it: floats as ``repr``, so they read back to the same number."""
    return repr(value) if isinstance(value, float) else str(value)


def _shown(value: Any) -> str:
    """A value for a sentence: numbers short (1e+09, 10)."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
