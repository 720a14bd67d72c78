"""`digitzoo lesson export`: a lesson as one file to take home, checked by running it.

Every exported script runs in a fresh Python where digitzoo, scikit-learn and plotly cannot be
imported, and must print the figures `digitzoo lesson run NAME --json` prints (the same steps, the
same status, every result within 1e-6) and save its plot. It holds the code the page shows, as it
is. The notebooks hold the same code and validate; two of them (all of them with -m slow) run in
a Jupyter kernel and print what the script prints.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shlex
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from digitzoo.cli import main
from digitzoo.hub.lessons.export import lesson_notebook, lesson_script
from digitzoo.hub.lessons.lesson import get_lesson, list_lessons
from digitzoo.hub.lessons.user_data import read_table

LESSONS = list_lessons()
BLOCKED = ("digitzoo", "sklearn", "plotly")  # a script that reached for one of them would fail
# `python SCRIPT ARGS...` in a Python where the BLOCKED packages cannot be imported.
WRAPPER = ("import runpy, sys\n"
           f"for name in {BLOCKED!r}:\n"
           "    sys.modules[name] = None\n"
           "sys.argv = sys.argv[1:]\n"
           "runpy.run_path(sys.argv[0], run_name='__main__')\n")
PNG = b"\x89PNG\r\n\x1a\n"


class Scripts:
    """The exported scripts, each run once in a process of its own, two at a time in the background (two
    cores), in the order the selected tests want them: a test waits for its own script's line only."""

    def __init__(self, folder: Path):
        self.folder, self.pool, self.runs = folder, ThreadPoolExecutor(max_workers=2), {}

    def start(self, name: str, seed: int = 0, knobs: dict | None = None, steps: int | None = None, data=None) -> tuple:
        key = (name, seed, tuple(sorted((knobs or {}).items())), steps, data)
        if key not in self.runs:
            folder = self.folder / f"run{len(self.runs)}"
            folder.mkdir()
            script = folder / f"lesson_{name}.py"
            script.write_text(lesson_script(name, seed, knobs, steps, data), encoding="utf-8")
            self.runs[key] = (folder, self.pool.submit(
                subprocess.run, [sys.executable, "-c", WRAPPER, script.name, "--save", "plot.png"], cwd=folder,
                env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=300))
        return key

    def script(self, key: tuple) -> str:
        return next(self.runs[key][0].glob("lesson_*.py")).read_text(encoding="utf-8")

    def plot(self, key: tuple) -> Path:
        return self.runs[key][0] / "plot.png"

    def result(self, key: tuple) -> dict:
        """The script's one JSON line."""
        done = self.runs[key][1].result()
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert len(lines) == 1, done.stdout
        return json.loads(lines[0])


def script_args(params: dict) -> dict:
    """The script a test's parameters ask for (``Scripts.start``'s arguments)."""
    data = None
    if params.get("csv"):
        data = read_table(params["csv"], get_lesson(params["name"]), params.get("label_column"))
    return {"name": params["name"], "seed": params.get("seed", 0), "knobs": params.get("knobs"),
            "steps": params.get("steps"), "data": data}


@pytest.fixture(scope="module")
def scripts(request, tmp_path_factory):
    runs = Scripts(tmp_path_factory.mktemp("scripts"))
    for item in request.session.items:  # every script the selected tests of this file want, started ahead in their order
        if item.module is request.module and "scripts" in item.fixturenames:
            runs.start(**script_args(item.callspec.params))
    yield runs
    runs.pool.shutdown(cancel_futures=True)


def digitzoo_run(capsys, args: list[str]) -> dict:
    """`digitzoo lesson run ARGS --json` in this process: its summary."""
    capsys.readouterr()
    code = main(["lesson", "run", *args, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == (0 if summary["reached"] else 1)
    return summary


def assert_same_run(got: dict, want: dict) -> None:
    assert (got["lesson"], got["steps"], got["status"]) == (want["lesson"], want["steps"], want["status"])
    assert got["result"] == pytest.approx(want["result"], rel=0, abs=1e-6, nan_ok=True)


def shown_pieces(name: str) -> list[str]:
    """The definitions the page shows, as they stand in the lesson's file; together they are ``cls.source()``."""
    cls = get_lesson(name)
    module = inspect.getmodule(cls)
    pieces = [inspect.getsource(getattr(cls, part, None) or getattr(module, part)) for part in cls.code]
    assert "\n\n".join(textwrap.dedent(p).rstrip() for p in pieces) + "\n" == cls.source()
    return pieces


def imported_packages(code: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    return roots


@pytest.mark.parametrize("name", LESSONS)
def test_exported_script_trains_the_same_run_without_digitzoo(name, scripts, capsys):
    key = scripts.start(name)
    want = digitzoo_run(capsys, [name])  # while the script runs
    got = scripts.result(key)
    assert_same_run(got, want)
    assert got["status"] == "reached"  # it stopped at the target, as `lesson run` does
    png = scripts.plot(key)
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 10_000


@pytest.mark.parametrize("name, seed, knobs, steps", [
    ("regression", 3, {"lr": "0.05", "hidden": "20"}, 200),
    ("classification", 1, {"distance": "1.5", "lr": "0.05"}, 40),
])
def test_other_settings_reproduce_too(name, seed, knobs, steps, scripts, capsys):
    key = scripts.start(name, seed, knobs, steps)
    text = scripts.script(key)
    settings = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(text).body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("SEED", "KNOBS", "STEPS")}
    assert settings == {"SEED": seed, "KNOBS": get_lesson(name).parse_knobs(knobs), "STEPS": steps}  # every knob, in plain sight
    # The docstring's `digitzoo lesson run ...` is the reference: it must be the same run.
    command = next(line.strip() for line in ast.get_docstring(ast.parse(text)).splitlines()
                   if line.strip().startswith("digitzoo lesson run"))
    want = digitzoo_run(capsys, shlex.split(command)[3:])
    got = scripts.result(key)
    assert_same_run(got, want)
    assert got["steps"] == steps  # exactly STEPS, whether or not the target came on the way


@pytest.mark.parametrize("name, csv, label_column", [
    ("regression", "x,y\n" + "".join(f"{i / 10},{(i / 10) ** 3 - i / 10}\n" for i in range(-20, 21)), None),
    ("multi_feature", "sick,a,b,c\n" + "".join(f"{int(i % 7 < 3)},{i % 7 * 0.5},{i % 5},{(i * 37) % 11 / 3}\n"
                                               for i in range(60)), "sick"),
])
def test_the_learners_data_travels_in_the_script(name, csv, label_column, scripts, capsys, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(csv, encoding="utf-8")
    key = scripts.start(**script_args({"name": name, "csv": csv, "label_column": label_column}))
    want = digitzoo_run(capsys, [name, "--data", str(path), *(["--label-column", label_column] if label_column else [])])
    got = scripts.result(key)
    assert_same_run(got, want)
    assert got["result"].keys() == want["result"].keys() and (name != "regression" or "r_squared" in got["result"])
    assert "DATA_CSV = None" not in scripts.script(key)


@pytest.mark.parametrize("name", LESSONS)
def test_script_holds_the_pages_code_and_imports_no_digitzoo(name):
    script = lesson_script(name)
    for piece in shown_pieces(name):
        assert piece in script, piece[:200]
    imported = imported_packages(script)
    assert "digitzoo" not in imported and "plotly" not in imported and "sklearn" not in imported
    # The settings come first, after the imports; every package it imports is in its `pip install` line.
    body = [node for node in ast.parse(script).body[1:] if not isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [node.targets[0].id for node in body[:3]] == ["SEED", "KNOBS", "STEPS"]
    pip = next(line for line in ast.get_docstring(ast.parse(script)).splitlines() if "pip install" in line)
    needed = {p for p in imported if p not in sys.stdlib_module_names}
    assert needed == set(pip.split("pip install ")[1].split())
    assert {"torch", "matplotlib"} <= needed and ("gymnasium" in needed) == (name == "dqn_cartpole")


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_validates_and_holds_the_same_code(name):
    notebook = nbformat.reads(lesson_notebook(name), as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds[-4:] == ["markdown", "code", "code", "code"]  # settings, train, plot
    code = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for piece in shown_pieces(name):
        assert piece in code
    assert "digitzoo" not in imported_packages(code)
    assert lesson_notebook(name) == lesson_notebook(name)  # the same export, the same file


def run_notebook(name: str, folder: Path) -> dict:
    """The notebook run top to bottom in a python3 kernel where the BLOCKED packages cannot be imported; its result line."""
    from nbclient import NotebookClient

    notebook = nbformat.reads(lesson_notebook(name), as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None"))
    NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}).execute()
    train = next(cell for cell in notebook.cells if "print(result_line(" in cell.source)
    printed = "".join(output.get("text", "") for output in train.outputs)
    return json.loads(printed.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["regression", "classification"])
def test_notebook_prints_what_the_script_prints(name, scripts, tmp_path):
    key = scripts.start(name)
    got = run_notebook(name, tmp_path)
    assert_same_run(got, scripts.result(key))


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_every_notebook_prints_what_the_script_prints(name, scripts, tmp_path):
    key = scripts.start(name)
    got = run_notebook(name, tmp_path)
    assert_same_run(got, scripts.result(key))


def test_the_drawing_follows_the_figure():
    """The script's matplotlib picture keeps what the Plotly figure says: panels, log axis, reversed range, legend, notes."""
    import matplotlib

    matplotlib.use("Agg")
    from digitzoo.hub.lessons.mpl_draw import draw_figure
    from digitzoo.hub.lessons.run import iterate, start

    drawn = {}
    for name in ("regression", "mini_batches", "quick_build", "dqn_cartpole"):
        lesson = start(get_lesson(name), 0, None, **({"eps_decay": 100} if name == "dqn_cartpole" else {}))
        for _ in iterate(lesson, draw=False, steps=3):
            pass
        drawn[name] = (lesson.figure(), draw_figure(lesson.figure()))
    figure, picture = drawn["regression"]
    fit, loss = picture.axes
    assert fit.get_yscale() == "linear" and loss.get_yscale() == "log"
    assert picture.get_suptitle() == figure["layout"]["title"]["text"].replace("<br>", "\n")
    assert [t.get_text() for t in picture.legends[0].get_texts()] == [trace["name"] for trace in figure["data"]]
    assert len(fit.collections) == 1 and len(fit.lines) == 1 and len(loss.lines) == 1  # points, the fit; the loss
    _, picture = drawn["mini_batches"]
    bars, table = picture.axes
    assert table.get_ylim()[0] > table.get_ylim()[1]  # epoch 1 on top, as the figure's reversed range says
    ticks = table.get_xticks().tolist()
    assert len(bars.patches) == 10 and {b - a for a, b in zip(ticks, ticks[1:])} == {1.0}  # dtick 1
    _, picture = drawn["quick_build"]
    notes = [text.get_text() for ax in picture.axes for text in ax.texts]
    assert [note.splitlines()[:2] for note in notes] == [["print(class net)", "Net("], ["print(sequential net)", "Sequential("]]
    _, picture = drawn["dqn_cartpole"]
    assert not picture.legends and picture.axes[0].get_aspect() == 1.0  # no legend; the cart in true proportions
    matplotlib.pyplot.close("all")


def test_cli_writes_the_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "elsewhere" / "mine.py"
    assert main(["lesson", "export", "regression", "--seed", "2", "--knob", "lr=0.1", "--steps", "30", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8") == lesson_script("regression", seed=2, knobs={"lr": "0.1"}, steps=30)
    monkeypatch.chdir(tmp_path)
    assert main(["lesson", "export", "mini_batches", "--format", "ipynb"]) == 0
    assert capsys.readouterr().out.strip() == "lesson_mini_batches.ipynb"
    nbformat.validate(nbformat.read(tmp_path / "lesson_mini_batches.ipynb", as_version=4))
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # written atomically, nothing left over


@pytest.mark.parametrize("args, says", [
    (["--knob", "lr=lots"], "learning rate must be a number, not 'lots'"),
    (["--knob", "width=3"], "regression has no knob 'width'"),
    (["--steps", "0"], "steps must lie between 1 and 1000, not 0"),
    (["--format", "docx"], "--format takes py or ipynb, not 'docx'"),
])
def test_cli_refuses_in_one_line(args, says, tmp_path, capsys):
    out = tmp_path / "x.py"
    assert main(["lesson", "export", "regression", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1, err
    assert not out.exists()
