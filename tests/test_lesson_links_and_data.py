"""A Playground run travels as a link and learns from the learner's own data.

Links: every lesson's set-up survives the round trip through a query, and a link typed by hand
(out of range, not a number, unknown names) is clamped with a sentence, never refused with a
traceback. Data: the three lessons that take a CSV train on it (headless and from the command
line), and every way a file can be unfit is refused with one sentence.
"""

from __future__ import annotations

import json
import math
import random
import threading
from urllib.parse import parse_qsl

import pytest
import torch

from digitzoo.apps.playground import SessionData, reproduce_command
from digitzoo.cli import main
from digitzoo.hub.lessons.lesson import Knob, LessonError, get_lesson, list_lessons
from digitzoo.hub.lessons.links import RESERVED, link_query, read_link
from digitzoo.hub.lessons.run import iterate, run_headless, start
from digitzoo.hub.lessons.user_data import MAX_ROWS, Table, read_table, read_table_bytes

LESSONS = list_lessons()
DATA_LESSONS = [name for name in LESSONS if get_lesson(name).data_spec is not None]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # as the Playground runs them


def other_value(knob: Knob):
    """A valid value of ``knob`` that is not its default."""
    if knob.choices:
        return next(c for c in knob.choices if c != knob.default)
    value = knob.default * 2 if knob.log else (knob.default + knob.hi) / 2
    value = min(value, knob.hi)
    return int(round(value)) if knob.integer else value


def test_three_lessons_take_data():
    assert DATA_LESSONS == ["regression", "classification", "multi_feature"]


@pytest.mark.parametrize("name", LESSONS)
def test_every_set_up_survives_a_link(name):
    cls = get_lesson(name)
    assert not {k.name for k in cls.knobs} & set(RESERVED), "a knob named like the link's own fields"
    knobs = {k.name: other_value(k) for k in cls.knobs}
    steps = max(1, cls.max_steps // 3)
    query = link_query(cls, 1234, steps, cls.parse_knobs(knobs), own_data=cls.data_spec is not None)
    link = read_link(dict(parse_qsl(query)))
    assert (link.lesson, link.seed, link.steps, link.notes) == (name, 1234, steps, ())
    assert link.knobs == cls.parse_knobs(knobs) and link.own_data == (cls.data_spec is not None)


@pytest.mark.parametrize("raw, expected, says", [
    ("1e9", 10.0, "above the most this lesson takes, 10: set to 10"),
    ("-3", 1e-4, "below the least this lesson takes, 0.0001"),
    ("abc", 0.2, "'abc' is not a number: set to 0.2"),
    ("nan", 0.2, "'nan' is not a number"),
    ("9" * 400, 10.0, "above the most"),
])
def test_a_link_value_out_of_range_is_clamped_with_a_sentence(raw, expected, says):
    link = read_link({"lesson": "regression", "lr": raw})
    assert link.knobs["lr"] == expected and len(link.notes) == 1 and says in link.notes[0], link.notes


def test_a_hand_made_link_is_read_as_far_as_it_makes_sense():
    link = read_link({"lesson": "regression", "hidden": "3.6", "activation": "swish", "seed": "-5", "steps": "0",
                      "colour": "red", "data": "theirs"})
    assert (link.knobs["hidden"], link.knobs["activation"], link.seed, link.steps) == (4, "relu", 0, 1)
    assert len(link.notes) == 6 and not link.own_data
    assert any("'colour' is not one of this lesson's" in n for n in link.notes)
    assert read_link({"seed": "3"}) is None  # no lesson: the page opens as usual
    with pytest.raises(LessonError, match="does not exist; the lessons: regression"):
        read_link({"lesson": "<script>"})


def points(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "x,y\n" + "".join(f"{x},{x ** 3 + rng.gauss(0, 0.05)}\n" for x in (i / n * 4 - 2 for i in range(n)))


def clouds(n: int, seed: int = 0, header: str = "x1,x2,label") -> str:
    rng = random.Random(seed)
    rows = [f"{rng.gauss(2 if i % 2 else -2, 0.7)},{rng.gauss(0, 1)},{i % 2}" for i in range(n)]
    return (header + "\n" if header else "") + "\n".join(rows) + "\n"


def table_with_label(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b, c = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(50, 10)
        rows.append(f"{int(a + 0.5 * b > 0)},{a},{b},{c}")
    return "sick,a,b,age\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("name, text, label", [
    ("regression", points(60), None),
    ("classification", clouds(80), None),
    ("multi_feature", table_with_label(200), "sick"),
])
def test_each_data_lesson_learns_from_a_csv(name, text, label):
    table = read_table(text, get_lesson(name), label)
    summary = run_headless(name, seed=0, data=table)
    assert summary["reached"], summary
    lesson = start(get_lesson(name), 0, table)
    assert lesson.data is table and json.dumps(lesson.figure())  # the picture is of the learner's data
    if name == "multi_feature":
        assert lesson.net[0].in_features == 3  # a, b, age: the label column is not a feature


def test_the_lesson_s_own_data_is_what_it_was():
    """multi_feature now reads its patients through a Table: the same figures as before it did."""
    summary = run_headless("multi_feature", seed=0, stop_when_reached=False)
    assert summary["result"] == pytest.approx({"train_loss": 0.406278267589926, "train_accuracy": 0.8157894611358643,
                                               "test_accuracy": 0.7099999785423279}, abs=1e-7)


@pytest.mark.parametrize("text, says", [
    ("", "the data is empty"),
    ("   \n\n", "the data is empty"),
    ("x,y\nhello,world\n" + "1,2\n" * 12, "line 2, column 'x': 'hello' is not a number"),
    ("x,y\n" + "1,2\n" * 12 + "nan,3\n", "line 14, column 'x' is nan: only finite numbers"),
    ("x,y\n" + "1,2\n" * 12 + "4,inf\n", "column 'y' is inf"),
    ("x,y\n" + "1,2\n" * 12 + "4,\n", "column 'y' is empty"),
    ("x,y\n" + "1,2\n" * 12 + "4,5,6\n", "line 14 has 3 values; every line needs 2"),
    ("x,y,z\n" + "1,2,3\n" * 12, "the data has 3 columns; this lesson reads 2: x,y"),
    ("x,y\n" + "1,2\n" * 4, "only 4 rows of data: at least 10"),
    ("x,y\n" + "1,2\n" * (MAX_ROWS + 1), "at most 10,000 are read"),
])
def test_unfit_regression_data_is_refused_with_a_sentence(text, says):
    with pytest.raises(LessonError, match=None) as refused:
        read_table(text, get_lesson("regression"))
    assert says in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("name, text, label, says", [
    ("classification", clouds(20).replace(",0\n", ",1\n"), None, "every label is 1: the net needs examples of both classes"),
    ("classification", clouds(20).replace(",1\n", ",2\n"), None, "must hold 0 or 1; row 2 has 2"),
    ("classification", clouds(20, header=""), None, None),  # no header: fine
    ("multi_feature", table_with_label(40), "weight", "there is no column 'weight'"),
    ("multi_feature", "only\n" + "1\n" * 20, None, "the data has 1 column"),
    ("multi_feature", table_with_label(40).replace("sick,a,b,age", "a,a,b,age"), None, "same name"),
])
def test_unfit_labelled_data_is_refused_with_a_sentence(name, text, label, says):
    if says is None:
        assert len(read_table(text, get_lesson(name), label).rows) == 20
        return
    with pytest.raises(LessonError) as refused:
        read_table(text, get_lesson(name), label)
    assert says in str(refused.value), str(refused.value)


def test_a_million_rows_binary_and_lessons_without_data_are_refused_before_parsing():
    million = ("x,y\n" + "0.5,0.25\n" * 1_000_000).encode()
    with pytest.raises(LessonError, match="the file is 9.0 MB; at most 2.0 MB and 10,000 rows are read"):
        read_table_bytes(million, get_lesson("regression"))
    with pytest.raises(LessonError, match="the file is not text"):
        read_table_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10, get_lesson("regression"))
    with pytest.raises(LessonError, match="dqn_cartpole learns from its own data only"):
        read_table(points(20), get_lesson("dqn_cartpole"))
    with pytest.raises(LessonError, match="learns from its own data only"):
        start(get_lesson("dropout"), 0, read_table(points(20), get_lesson("regression")))


def test_a_table_reads_back_bit_for_bit_from_its_csv():
    table = read_table(table_with_label(50), get_lesson("multi_feature"), "sick")
    again = read_table(table.to_csv(), get_lesson("multi_feature"), table.label)
    assert again.features == table.features and again.column("sick") == table.column("sick")
    assert all(again.column(c) == table.column(c) for c in table.features)  # floats as repr: same bits


def test_the_command_line_trains_on_a_csv_and_refuses_an_unfit_one(tmp_path, capsys):
    good, bad = tmp_path / "clouds.csv", tmp_path / "one-class.csv"
    good.write_text(clouds(80))
    bad.write_text(clouds(20).replace(",0\n", ",1\n"))
    assert main(["lesson", "run", "classification", "--data", str(good), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    expected = run_headless("classification", data=read_table(clouds(80), get_lesson("classification")))
    assert summary["result"] == expected["result"] and summary["reached"]
    assert main(["lesson", "run", "classification", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digitzoo: error: every label is 1") and err.count("\n") == 1
    assert main(["lesson", "run", "dropout", "--data", str(good)]) == 2
    assert "dropout learns from its own data only" in capsys.readouterr().err
    assert main(["lesson", "run", "classification", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_page_s_command_line_trains_the_same_run(capsys):
    """What a finished run in the page prints ("The same run from the command line: ...") gives the same result."""
    cls = get_lesson("optimizer_race")
    lesson = start(cls, 7, None, **cls.parse_knobs({k.name: other_value(k) for k in cls.knobs}))
    *_, last = iterate(lesson, draw=False, steps=60)
    command = reproduce_command(lesson, last.step)
    assert main([*command.split()[1:], "--json"]) in (0, 1)
    printed = json.loads(capsys.readouterr().out)
    assert printed["steps"] == 60 and printed["result"] == last.result


def test_runs_at_once_on_threads_give_each_the_run_it_gives_alone():
    """The lessons draw from torch's global random stream: runs training at once (the server's) keep their own."""
    alone = run_headless("painter_gan", seed=5, steps=300)["result"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_headless("painter_gan", seed=5, steps=300)["result"]))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [alone] * 3


def test_session_data_is_bounded_and_dropped():
    kept = SessionData(sessions=2, ttl_s=3600)
    table = read_table(points(20), get_lesson("regression"))
    for session in ("a", "b", "c"):
        kept.put(session, "regression", table)
    assert kept.get("a", "regression") is None  # the oldest session made room
    assert kept.get("c", "regression").rows == table.rows and kept.has("c", "regression") and not kept.has("a", "regression")
    kept.drop("c")
    assert kept.get("c", "regression") is None
    stale = SessionData(ttl_s=0.0)
    stale.put("a", "regression", table)
    assert stale.get("a", "regression") is None


def test_steps_train_exactly_that_many():
    summary = run_headless("regression", seed=0, steps=37)
    assert summary["steps"] == 37 and not summary["reached"] and math.isfinite(summary["result"]["train_mse"])
    with pytest.raises(LessonError, match="steps must lie between 1 and 1000"):
        run_headless("regression", steps=1001)


def test_table_summary_counts_the_classes():
    table = Table(("x1", "x2", "label"), ((0.0, 1.0, 1.0), (1.0, 0.0, 0.0), (2.0, 2.0, 1.0)), label="label")
    assert table.summary() == "3 rows of x1, x2, label (2 labelled 1, 1 labelled 0)"


def test_a_server_without_the_lessons_packages_says_what_the_readme_says(monkeypatch):
    """With torch but not gymnasium (the training extra alone), the tab names what is missing and the
    README's own command, instead of failing to import the lessons."""
    import importlib.util
    from pathlib import Path

    from digitzoo.apps import playground

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gymnasium" else real(name, *a))
    hint = playground.not_ready_hint()
    assert not playground.playground_ready() and "lacks gymnasium." in hint
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert playground.DEMO_HINT in hint and playground.DEMO_HINT in readme


@pytest.mark.parametrize("name", LESSONS)
def test_every_title_fits_a_phone(name):
    """On a 390-pixel phone a plot is ~350 pixels wide: titles wrap to lines that fit (the DQN's
    panel titles used to run into each other and its title off both edges)."""
    from digitzoo.hub.lessons.plots import PANEL_TITLE_WIDTH, TITLE_WIDTH

    lesson = start(get_lesson(name), 0)
    for _ in iterate(lesson, draw=False, steps=min(3, lesson.max_steps)):
        pass
    layout = lesson.figure()["layout"]
    assert all(len(line) <= TITLE_WIDTH for line in layout["title"]["text"].split("<br>"))
    for annotation in [a for a in layout.get("annotations", []) if a["y"] >= 1]:  # the panels' titles
        assert all(len(line) <= PANEL_TITLE_WIDTH for line in annotation["text"].split("<br>")), annotation["text"]
    assert layout["title"]["y"] > 1.0 if layout.get("annotations") else True  # the title stands above the panel titles
