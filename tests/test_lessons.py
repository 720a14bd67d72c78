"""The Playground's lessons, generated from the lesson registry: each trains headless to its
stated result, refuses silly knobs with a sentence, shows its real code, and the server bounds
the runs it trains for visitors."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
import torch

from digitzoo.apps.playground import RunSlots
from digitzoo.cli import main
from digitzoo.hub.lessons.download import export_onnx
from digitzoo.hub.lessons.lesson import LessonError, get_lesson, list_lessons
from digitzoo.hub.lessons.run import iterate, run_headless
from digitzoo.hub.serving.runtime import open_file

LESSONS = list_lessons()
REPO = Path(__file__).resolve().parents[1]


def test_lessons_come_in_the_documented_order():
    """The tab's order is ``ORDER`` (hub/lessons/__init__.py), the README's Playground table's order,
    whatever order the lesson files are imported or registered in; each group's lessons sit together."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("\n## Playground\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    documented = [cell.strip().strip("`") for cell, _ in rows]
    assert documented and LESSONS == documented
    assert [get_lesson(name).group for name in LESSONS] == [group.strip() for _, group in rows]
    groups = [get_lesson(name).group for name in LESSONS]
    first_seen = ["basics", "training", "sequences and games"]
    assert list(dict.fromkeys(groups)) == first_seen and groups == sorted(groups, key=first_seen.index)  # contiguous


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # as the Playground runs them


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_reaches_its_target_headless(name):
    summary = run_headless(name, seed=0)
    assert summary["reached"], summary
    assert summary["status"] == "reached" and summary["reached_at_step"] <= get_lesson(name).max_steps
    assert all(isinstance(v, float) and math.isfinite(v) for v in summary["result"].values()), summary["result"]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shows_its_real_code_and_draws_json(name):
    cls = get_lesson(name)
    source = cls.source()
    assert "def step" in source or "class " in source
    lesson = cls(seed=1)
    for _ in range(min(3, cls.max_steps)):
        lesson.step()
        lesson.steps_done += 1
    figure = json.loads(json.dumps(lesson.figure()))  # plain JSON, nothing plotly-specific
    assert figure["data"] and "layout" in figure
    described = json.loads(json.dumps(cls.describe()))
    assert described["name"] == name and described["max_seconds"] > 0


@pytest.mark.parametrize("name", [n for n in LESSONS if any(not k.choices for k in get_lesson(n).knobs)])
def test_silly_knobs_are_refused_with_a_sentence(name):
    cls = get_lesson(name)
    knob = next(k for k in cls.knobs if not k.choices)
    for value in (knob.hi * 1e6 + 1, -knob.hi - 1e6, float("nan"), float("inf"), "lots"):
        with pytest.raises(LessonError, match=knob.label):
            cls(seed=0, **{knob.name: value})
    with pytest.raises(LessonError, match="no knob"):
        cls(seed=0, width_of_the_universe=10**7)


def test_a_diverging_run_ends_with_a_sentence():
    last = list(iterate(get_lesson("regression")(seed=0, lr=9.0), draw=False))[-1]
    assert last.status == "diverged" and "smaller learning rate" in last.message


def test_stop_ends_a_run_at_once():
    stop = threading.Event()
    updates = []
    for update in iterate(get_lesson("regression")(seed=0), stop=stop, every_s=0.0, steps_per_update=10):
        updates.append(update)
        stop.set()
    assert [u.status for u in updates] == ["running", "stopped"] and updates[-1].step == 10


def test_same_seed_same_run():
    a, b = run_headless("regression", seed=3), run_headless("regression", seed=3)
    assert a["result"] == b["result"] and a["reached_at_step"] == b["reached_at_step"]


@pytest.mark.parametrize("name", [n for n in LESSONS if get_lesson(n).exportable])
def test_exportable_lessons_download_a_verified_onnx(name, tmp_path):
    lesson = get_lesson(name)(seed=0)
    for _ in iterate(lesson, draw=False, stop_when_reached=True):
        pass
    path = export_onnx(lesson, tmp_path)
    module, example = lesson.onnx_module()
    run, label = open_file(path, "onnx", device="cpu")
    with torch.no_grad():
        want = module.eval()(example).numpy()
    assert label == "onnxruntime-cpu" and abs(run(example.numpy())[0] - want).max() < 1e-4
    assert not list(tmp_path.glob(".*tmp*"))


def test_run_slots_admit_queue_and_refuse():
    slots = RunSlots(running=1, waiting=2)
    a = slots.join("a")
    assert slots.ahead_of(a) is None  # a trains
    b, c = slots.join("b"), slots.join("c")
    assert slots.ahead_of(b) == 1 and slots.ahead_of(c) == 2
    assert slots.join("d") is None  # the line is full: busy at once
    slots.stop("a")  # Stop (or a closed tab)
    assert a.stop.is_set()
    slots.leave(a)  # the run ends and frees its slot
    assert slots.ahead_of(b) is None and slots.ahead_of(c) == 1
    b2 = slots.join("b")  # a new Start in the same session stops the old run
    assert b.stop.is_set() and slots.ahead_of(b2) == 2
    for ticket in (b, c, b2):
        slots.leave(ticket)
    assert slots.counts() == (0, 0)


def test_cli_lists_and_runs_lessons(capsys):
    assert main(["lesson", "list", "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)] == LESSONS
    assert main(["lesson", "run", "regression", "--seed", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reached"] and summary["seed"] == 1
    assert main(["lesson", "run", "regression", "--knob", "lr=9"]) == 1  # diverged: missed its target
    assert "diverged" in capsys.readouterr().out
    assert main(["lesson", "run", "regression", "--knob", "lr=1e9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "learning rate must lie between" in err
