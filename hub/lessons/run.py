"""Drive a lesson: the one loop behind `digitzoo lesson run`, the tests and the Playground tab.

``iterate`` runs a lesson's steps inside its step and time budgets and yields an ``Update``
every few steps (the tab turns each into a new picture); it stops at once when asked, and ends
with a sentence when the loss stops being a number. ``run_headless`` consumes it without
pictures and returns the figures the command line prints.

Same seed, knobs, data and steps: same run, wherever it trains. The lessons draw from torch's
global random stream, which every thread of a process shares, so a lesson built by ``start``
keeps a stream of its own: each step runs with it swapped in, under a lock (runs that train at
once on the server take turns step by step instead of mixing their random numbers).

>>> summary = run_headless("regression", seed=0)
>>> summary["reached"], summary["status"]
(True, 'reached')
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from digitzoo.hub.lessons.lesson import Lesson, get_lesson


_RANDOM_STREAM = threading.Lock()  # guards torch's global random stream while a lesson's is swapped in


def start(cls: type[Lesson], seed: int = 0, data=None, **knobs: Any) -> Lesson:
    """A lesson built with its own random stream (see the module's docstring)."""
    import torch

    with _RANDOM_STREAM:
        outside = torch.get_rng_state()
        try:
            lesson = cls(seed=seed, data=data, **knobs) if data is not None else cls(seed=seed, **knobs)
            lesson.random_state = torch.get_rng_state()
        finally:
            torch.set_rng_state(outside)
    return lesson


@contextlib.contextmanager
def own_random_stream(lesson: Lesson, look_only: bool = False) -> Iterator[None]:
    """Run the block with ``lesson``'s random stream in place of the process's (a lesson built without
    ``start`` simply uses the process's). ``look_only``: whatever the block draws is forgotten, so
    drawing a picture never changes the training (the page draws, a headless run does not)."""
    state = getattr(lesson, "random_state", None)
    if state is None:
        yield
        return
    import torch

    with _RANDOM_STREAM:
        outside = torch.get_rng_state()
        torch.set_rng_state(state)
        try:
            yield
        finally:
            if not look_only:
                lesson.random_state = torch.get_rng_state()
            torch.set_rng_state(outside)


@dataclass
class Update:
    """What the learner sees after some steps. ``status``: running, reached, done, stopped, diverged, out of time."""

    step: int
    elapsed_s: float
    metrics: dict[str, float]
    status: str = "running"
    message: str = ""
    figure: dict[str, Any] | None = None
    reached_at_step: int | None = None
    reached_at_s: float | None = None
    result: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status != "running"


def iterate(lesson: Lesson, stop: threading.Event | None = None, max_seconds: float | None = None,
            every_s: float = 0.15, draw: bool = True, stop_when_reached: bool = False,
            steps_per_update: int | None = None, pace_s: float = 0.0, steps: int | None = None) -> Iterator[Update]:
    """Train ``lesson`` step by step; yield an Update every ``steps_per_update`` steps (at most one
    per ``every_s`` seconds) and a last one.

    ``steps`` trains exactly that many steps (at most the lesson's budget), whether or not the
    target is reached on the way: what a shared link or a downloaded script reproduces. Such a run
    has no wall-time budget unless ``max_seconds`` is given (the server gives one: it bounds what it
    trains for visitors), so it ends at the same step on any machine.

    ``max_seconds`` can only shorten the lesson's own budget, which is wall time. With
    ``draw=False`` no figures are made (headless runs); with ``stop_when_reached`` the run ends as
    soon as the result is there. ``pace_s`` holds successive updates at least that far apart, so a
    lesson that trains in a blink still plays as an animation a person can follow.
    """
    budget = min(max_seconds or lesson.max_seconds, lesson.max_seconds)
    if steps is not None and max_seconds is None:
        budget = math.inf
    every_steps = steps_per_update or lesson.steps_per_update
    began = time.perf_counter()
    last_shown = -math.inf
    reached_at: tuple[int, float] | None = None
    metrics: dict[str, float] = {}

    def update(status: str, message: str = "") -> Update:
        elapsed = time.perf_counter() - began
        final = status != "running"
        with own_random_stream(lesson, look_only=True):
            figure = lesson.figure() if draw else None
            result = lesson.result() if final else {}
        return Update(lesson.steps_done, elapsed, metrics, status, message, figure,
                      reached_at[0] if reached_at else None, reached_at[1] if reached_at else None, result)

    if steps is not None:
        stop_when_reached = False
    for step in range(lesson.max_steps if steps is None else min(steps, lesson.max_steps)):
        if stop is not None and stop.is_set():
            yield update("stopped", f"stopped after {step} steps")
            return
        with own_random_stream(lesson):  # the step and the check of its result, as one run always draws them
            metrics = lesson.step()
            lesson.steps_done = step + 1
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            reached_now = not bad and reached_at is None and lesson.reached()
        if bad:
            yield update("diverged", f"diverged at step {step + 1}: {bad[0]} became {metrics[bad[0]]}. "
                                     "Try a smaller learning rate.")
            return
        elapsed = time.perf_counter() - began
        if reached_now:
            reached_at = (step + 1, elapsed)
            if stop_when_reached:
                break
        if elapsed > budget:
            yield update("out of time", f"stopped at its time budget ({budget:g} s) after {step + 1} steps")
            return
        if (step + 1) % every_steps == 0 and elapsed - last_shown >= every_s:
            if pace_s and elapsed - last_shown < pace_s:
                time.sleep(pace_s - (elapsed - last_shown))
            last_shown = time.perf_counter() - began
            yield update("running")
    yield update("reached" if reached_at else "done",
                 f"reached after {reached_at[0]} steps, {reached_at[1]:.1f} s" if reached_at
                 else f"finished {lesson.steps_done} steps without reaching: {lesson.target}")


def run_headless(name: str, seed: int = 0, knobs: dict[str, Any] | None = None, threads: int | None = None,
                 stop_when_reached: bool = True, steps: int | None = None, data=None) -> dict[str, Any]:
    """Train one lesson without a browser; the figures `digitzoo lesson run` prints.

    By default the run stops when the target is reached; ``stop_when_reached=False`` trains the
    whole step budget, ``steps`` exactly that many steps (as the page does).
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    cls = get_lesson(name)
    if steps is not None:
        steps = cls.parse_steps(steps)
    lesson = start(cls, seed, data, **(knobs or {}))
    updates = 0
    for last in iterate(lesson, draw=False, stop_when_reached=stop_when_reached, steps=steps):
        updates += 1
    return {"lesson": name, "seed": seed, "knobs": lesson.settings, "target": cls.target,
            "reached": last.reached_at_step is not None, "status": last.status, "message": last.message,
            "steps": last.step, "seconds": round(last.elapsed_s, 3), "reached_at_step": last.reached_at_step,
            "reached_at_s": None if last.reached_at_s is None else round(last.reached_at_s, 3),
            "result": last.result, "updates": updates}
