"""What a Playground lesson is: one small PyTorch system that trains in seconds and draws itself.

A lesson file (one per system, in this folder) subclasses ``Lesson`` and registers it with
``@register_lesson``. The class declares its knobs, its step budget and what "reached" means;
its methods build the data and model from the knobs and a seed, run one training step, draw
the current state as a Plotly figure (JSON, no plotly import), and say whether the visible
result is there. ``digitzoo.hub.lessons.run`` drives any lesson the same way for the command
line, the tests and the Playground tab, so a lesson never knows who watches it.

>>> lesson = get_lesson("regression")(seed=0)
>>> metrics = lesson.step()
>>> sorted(metrics)
['loss']
"""

from __future__ import annotations

import importlib
import inspect
import math
import textwrap
from dataclasses import dataclass
from typing import Any, ClassVar

from digitzoo.hub.serving.errors import DigitzooError


class LessonError(DigitzooError):
    """A knob value a lesson cannot take, or an unknown lesson: the sentence says what to do."""


@dataclass(frozen=True)
class Knob:
    """One control of a lesson: a number in [lo, hi] (``integer``, ``log`` scale) or one of ``choices``."""

    name: str
    label: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    integer: bool = False
    log: bool = False  # the slider moves in powers of ten (learning rates)

    def parse(self, value: Any) -> Any:
        """``value`` checked and converted; a LessonError with a sentence for anything else."""
        if self.choices:
            if _text(value) not in self.choices:
                raise LessonError(f"{self.label} must be one of {', '.join(self.choices)}, not {quoted(value)}")
            return str(value)
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float (a 400-digit number): out of any range
            raise LessonError(f"{self.label} must lie between {_short(self.lo)} and {_short(self.hi)}, not {quoted(value)}") from None
        except (TypeError, ValueError):
            raise LessonError(f"{self.label} must be a number, not {quoted(value)}") from None
        if not math.isfinite(number):
            raise LessonError(f"{self.label} must be a finite number, not {quoted(value)}")
        if not self.lo <= number <= self.hi:
            raise LessonError(f"{self.label} must lie between {_short(self.lo)} and {_short(self.hi)}, not {_short(number)}")
        if self.integer:
            if number != int(number):
                raise LessonError(f"{self.label} must be a whole number, not {_short(number)}")
            return int(number)
        return number


def _short(x: float) -> str:
    return f"{x:g}"


def quoted(value: Any) -> str:
    """``value`` for a sentence: quoted, at most 40 characters, whatever it is.

    >>> quoted(10**400)
    "'1000000000000000000000000000000000000000…'"
    """
    text = _text(value)
    if text is None:
        return "a number too long to show"
    return repr(text[:40] + "…" if len(text) > 40 else text)


def _text(value: Any) -> str | None:
    try:
        return str(value)
    except ValueError:  # an int past Python's limit on the digits it turns into text (4300)
        return None


class Lesson:
    """Base class of a lesson. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    group: ClassVar[str]  # "basics", "training", "sequences and games": how the tab groups lessons
    summary: ClassVar[str]  # what the learner sees, one or two sentences
    target: ClassVar[str]  # what "reached" means, in words ("test MSE below 0.01")
    knobs: ClassVar[tuple[Knob, ...]] = ()
    max_steps: ClassVar[int]  # the step budget of one run
    default_steps: ClassVar[int | None] = None  # the steps a run takes unless told (None: max_steps)
    max_seconds: ClassVar[float]  # the time budget of one run (the server enforces it too)
    steps_per_update: ClassVar[int] = 5  # steps between two pictures while streaming
    # The methods (and module-level functions) whose source the page shows beside the plot.
    code: ClassVar[tuple[str, ...]] = ("step",)
    # Lessons whose trained net is useful on its own can be downloaded as ONNX after a run.
    exportable: ClassVar[bool] = False
    # Lessons that also learn from the learner's own data say what they read (a user_data.DataSpec).
    data_spec: ClassVar[Any] = None

    def __init__(self, seed: int = 0, data: Any = None, **knobs: Any):
        if data is not None and self.data_spec is None:
            raise LessonError(f"{self.name} learns from its own data only; regression, classification and "
                              "multi_feature also take yours")
        self.seed = seed
        self.data = data  # a user_data.Table, or None for the lesson's own data
        self.settings = self.parse_knobs(knobs)
        self.steps_done = 0

    @classmethod
    def parse_knobs(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults updated by ``given``; unknown names and bad values are refused with a sentence."""
        known = {k.name: k for k in cls.knobs}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise LessonError(f"{cls.name} has no knob {unknown[0]!r}; its knobs: {', '.join(known) or 'none'}")
        return {name: knob.parse(given.get(name, knob.default)) for name, knob in known.items()}

    @classmethod
    def steps_by_default(cls) -> int:
        """The steps a run in the page (or from a link) takes unless the learner sets them."""
        return cls.default_steps or cls.max_steps

    @classmethod
    def parse_steps(cls, value: Any) -> int:
        """A run's step count: a whole number from 1 to the lesson's budget; a sentence otherwise."""
        return Knob("steps", "steps", cls.max_steps, 1, cls.max_steps, integer=True).parse(value)

    # -- what a lesson implements ------------------------------------------------------------
    def step(self) -> dict[str, float]:
        """One training step (or one episode); returns the metrics to show, e.g. {"loss": 0.1}."""
        raise NotImplementedError

    def figure(self) -> dict[str, Any]:
        """The current state as a Plotly figure: {"data": [...], "layout": {...}}."""
        raise NotImplementedError

    def reached(self) -> bool:
        """Whether the visible result (``target``) is there now."""
        raise NotImplementedError

    def result(self) -> dict[str, float]:
        """The figures that show the result (printed by `digitzoo lesson run`)."""
        raise NotImplementedError

    def onnx_module(self):
        """(torch module, example input) to export, for ``exportable`` lessons."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    @classmethod
    def source(cls) -> str:
        """The lines that matter, taken from this lesson's real source (so the page never drifts)."""
        module = inspect.getmodule(cls)
        pieces = []
        for name in cls.code:
            obj = getattr(cls, name, None) or getattr(module, name)
            pieces.append(textwrap.dedent(inspect.getsource(obj)).rstrip())
        return "\n\n".join(pieces) + "\n"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"name": cls.name, "title": cls.title, "group": cls.group, "summary": cls.summary, "target": cls.target,
                "max_steps": cls.max_steps, "max_seconds": cls.max_seconds, "exportable": cls.exportable,
                "data": cls.data_spec.describe() if cls.data_spec else None,
                "knobs": [{"name": k.name, "label": k.label, "default": k.default, "lo": k.lo, "hi": k.hi,
                           "choices": list(k.choices), "integer": k.integer, "log": k.log} for k in cls.knobs]}


_LESSONS: dict[str, type[Lesson]] = {}


def register_lesson(cls: type[Lesson]) -> type[Lesson]:
    """Class decorator: make a lesson known by its ``name`` (the models' ``@register_model`` for lessons)."""
    if cls.name in _LESSONS and _LESSONS[cls.name] is not cls:
        raise ValueError(f"lesson {cls.name} registered twice")
    for attr in ("title", "group", "summary", "target", "max_steps", "max_seconds"):
        if not hasattr(cls, attr):
            raise ValueError(f"lesson {cls.__name__} does not set {attr}")
    _LESSONS[cls.name] = cls
    return cls


def _load_lesson_files() -> tuple[str, ...]:
    """Register every lesson (importing the package runs each ``@register_lesson``); their order."""
    order = tuple(importlib.import_module("digitzoo.hub.lessons").ORDER)
    if sorted(order) != sorted(_LESSONS):
        missing, unknown = sorted(set(_LESSONS) - set(order)), sorted(set(order) - set(_LESSONS))
        raise ValueError(f"digitzoo.hub.lessons.ORDER must name every registered lesson once "
                         f"(missing: {missing}, not registered: {unknown}, listed {len(order)} for {len(_LESSONS)})")
    return order


def list_lessons() -> list[str]:
    """Names of all lessons, in the order the Playground shows them: ``ORDER`` in ``hub/lessons/__init__.py``."""
    return list(_load_lesson_files())


def get_lesson(name: str) -> type[Lesson]:
    """The class of a lesson; a LessonError naming the lessons for an unknown name."""
    _load_lesson_files()
    if name not in _LESSONS:
        raise LessonError(f"unknown lesson {name!r}; lessons: {', '.join(list_lessons())}")
    return _LESSONS[name]
