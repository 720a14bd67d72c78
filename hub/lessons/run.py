"""Drive a lesson: the one loop behind `digitzoo lesson run`, the tests and the Playground tab.

``iterate`` runs a lesson's steps inside its step and time budgets and yields an ``Update``
every few steps (the tab turns each into a new picture); it stops at once when asked, and ends
with a sentence when the loss stops being a number. ``run_headless`` consumes it without
pictures and returns the figures the command line prints.

>>> summary = run_headless("regression", seed=0)
>>> summary["reached"], summary["status"]
(True, 'reached')
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from digitzoo.hub.lessons.lesson import Lesson, get_lesson


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
            steps_per_update: int | None = None, pace_s: float = 0.0) -> Iterator[Update]:
    """Train ``lesson`` step by step; yield an Update every ``steps_per_update`` steps (at most one
    per ``every_s`` seconds) and a last one.

    ``max_seconds`` can only shorten the lesson's own budget, which is wall time. With
    ``draw=False`` no figures are made (headless runs); with ``stop_when_reached`` the run ends as
    soon as the result is there. ``pace_s`` holds successive updates at least that far apart, so a
    lesson that trains in a blink still plays as an animation a person can follow.
    """
    budget = min(max_seconds or lesson.max_seconds, lesson.max_seconds)
    every_steps = steps_per_update or lesson.steps_per_update
    began = time.perf_counter()
    last_shown = -math.inf
    reached_at: tuple[int, float] | None = None
    metrics: dict[str, float] = {}

    def update(status: str, message: str = "") -> Update:
        elapsed = time.perf_counter() - began
        final = status != "running"
        return Update(lesson.steps_done, elapsed, metrics, status, message,
                      lesson.figure() if draw else None,
                      reached_at[0] if reached_at else None, reached_at[1] if reached_at else None,
                      lesson.result() if final else {})

    for step in range(lesson.max_steps):
        if stop is not None and stop.is_set():
            yield update("stopped", f"stopped after {step} steps")
            return
        metrics = lesson.step()
        lesson.steps_done = step + 1
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:
            yield update("diverged", f"diverged at step {step + 1}: {bad[0]} became {metrics[bad[0]]}. "
                                     "Try a smaller learning rate.")
            return
        elapsed = time.perf_counter() - began
        if reached_at is None and lesson.reached():
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
                 stop_when_reached: bool = True) -> dict[str, Any]:
    """Train one lesson without a browser; the figures `digitzoo lesson run` prints."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    cls = get_lesson(name)
    lesson = cls(seed=seed, **(knobs or {}))
    updates = 0
    for last in iterate(lesson, draw=False, stop_when_reached=stop_when_reached):
        updates += 1
    return {"lesson": name, "seed": seed, "knobs": lesson.settings, "target": cls.target,
            "reached": last.reached_at_step is not None, "status": last.status, "message": last.message,
            "steps": last.step, "seconds": round(last.elapsed_s, 3), "reached_at_step": last.reached_at_step,
            "reached_at_s": None if last.reached_at_s is None else round(last.reached_at_s, 3),
            "result": last.result, "updates": updates}
