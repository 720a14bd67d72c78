"""A lesson to take home: one Python script (or Jupyter notebook) that needs torch and matplotlib, not digitzoo.

``lesson_script`` builds the file from the real sources, never from a copy kept by hand: the
lesson's own file (its ``from digitzoo`` imports taken out), the definitions of ``lesson.py``,
``user_data.py`` and ``plots.py`` it uses, the headless part of ``run.py`` (``start`` and
``iterate``, so the script stops at the target or trains exactly ``STEPS`` steps just as
`digitzoo lesson run` does) and ``mpl_draw.py``, which draws the lesson's Plotly-JSON figure with
matplotlib. Which top-level definitions go in follows from the names the code uses, so a helper
added to one of those files comes along by itself. Two objects stand alone: ``LessonError`` (an
``Exception``: the script has no digitzoo error class) and ``register_lesson`` (there is no
registry: the script trains its one lesson). A lesson function that reads a data set out of a
package the script should not need (multi_feature's scikit-learn diabetes table) is replaced by
its value with every number written out in full, so the script trains on the very same bits.

Same seed, knobs, data and steps: the script prints the figures `digitzoo lesson run NAME --json`
prints (on the same torch and CPU), then draws the final figure. ``lesson_notebook`` lays the same
pieces out as notebook cells.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import re
import shlex
import sys
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitzoo.hub.lessons.lesson import Lesson, LessonError, get_lesson
from digitzoo.hub.lessons.user_data import Table, data_spec_of

LESSON_MODULE = "digitzoo.hub.lessons.lesson"
USER_DATA_MODULE = "digitzoo.hub.lessons.user_data"
RUN_MODULE = "digitzoo.hub.lessons.run"
DRAW_MODULE = "digitzoo.hub.lessons.mpl_draw"
# The digitzoo modules a file may carry besides the lesson's own, in the order they appear in it
# (the lesson comes last): while the file runs, each one's definitions need only those above them.
CARRIED = (LESSON_MODULE, USER_DATA_MODULE, "digitzoo.hub.lessons.plots", RUN_MODULE, DRAW_MODULE)
TITLES = {
    LESSON_MODULE: "what a lesson is (LessonError and register_lesson stand alone here)",
    USER_DATA_MODULE: "the learner's own data",
    "digitzoo.hub.lessons.plots": "the lesson's figures as Plotly JSON",
    RUN_MODULE: "the training loop of `digitzoo lesson run`",
    DRAW_MODULE: "the figure drawn with matplotlib",
}
# Packages a lesson reads a data set from that the file should not need: a function that imports one is replaced by its value.
DATA_SET_PACKAGES = frozenset({"sklearn"})
# The two objects of lesson.py a file cannot take as they are, and what it has instead.
STAND_ALONE = {
    (LESSON_MODULE, "LessonError"): (
        'class LessonError(Exception):\n'
        '    """A knob value, step count or data set a lesson cannot take: the sentence says what to do."""'),
    (LESSON_MODULE, "register_lesson"): (
        'def register_lesson(cls):\n'
        '    """Keeps the lesson as it is: this file trains its one lesson, there is no registry to join."""\n'
        '    return cls'),
}
# What `digitzoo lesson run` does around the loop (run_headless, without its registry), and the one JSON line it prints.
TRAIN = '''


def train(lesson_class):
    """The lesson built from the settings and trained as `digitzoo lesson run` trains it: until the target is
    reached (or the step budget ends), or exactly STEPS steps. Returns the lesson and the last update."""
    data = {data}
    steps = None if STEPS is None else lesson_class.parse_steps(STEPS)
    lesson = start(lesson_class, SEED, data, **KNOBS)
    for last in iterate(lesson, draw=False, stop_when_reached=True, steps=steps):
        pass
    return lesson, last


def result_line(lesson, last) -> str:
    """The run as one JSON line: its steps, its status and the result figures at full precision."""
    return json.dumps({{"lesson": lesson.name, "steps": last.step, "status": last.status, "result": last.result}})'''
MAIN = '''


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train the {name} lesson, print its result as one JSON line, draw it.")
    parser.add_argument("--save", metavar="FILE.png", help="save the final figure to FILE.png instead of showing it")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as `digitzoo lesson run` and the Playground train: one thread, the same numbers
    lesson, last = train({cls})
    print(result_line(lesson, last), flush=True)
    picture = draw_figure(lesson.figure())
    if args.save:
        picture.savefig(args.save)
    else:
        plt.show()


if __name__ == "__main__":
    main()
'''
TRAIN_CELL = '''torch.set_num_threads(1)  # as `digitzoo lesson run` and the Playground train: one thread, the same numbers
lesson, last = train({cls})
print(result_line(lesson, last))'''
PLOT_CELL = "draw_figure(lesson.figure())\nplt.show()"
GLUE_IMPORTS = {"json": ("json", None, None), "torch": ("torch", None, None), "plt": ("matplotlib.pyplot", None, "plt")}
SCRIPT_IMPORTS = {"argparse": ("argparse", None, None)}
GLUE_NAMES = ("SEED", "KNOBS", "STEPS", "DATA_CSV", "LABEL_COLUMN", "train", "result_line", "main", "lesson", "last")


def lesson_script(name: str, seed: int = 0, knobs: dict[str, Any] | None = None, steps: int | None = None,
                  data: Table | None = None) -> str:
    """The lesson ``name`` with these settings as one self-contained Python file (see the module's docstring).

    Knobs, steps and data are checked by the lesson first: a LessonError with a sentence for what it cannot take.
    """
    export = _Export(get_lesson(name), seed, knobs, steps, data)
    head = "\n\n".join([export.docstring(), "from __future__ import annotations", export.imports(script=True), export.settings()])
    body = "\n\n\n".join(section.text for section in export.sections)
    return f"{head}\n\n\n{body}{MAIN.format(name=name, cls=export.cls.__name__)}"


def lesson_notebook(name: str, seed: int = 0, knobs: dict[str, Any] | None = None, steps: int | None = None,
                    data: Table | None = None) -> str:
    """``lesson_script``'s content as a Jupyter notebook (nbformat 4): a markdown cell saying what the lesson is,
    a cell per piece of machinery, the lesson's code, the settings, the training (it prints the result) and the plot."""
    try:
        import nbformat
        from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    except ImportError:
        raise LessonError("a notebook needs nbformat: pip install 'digitzoo[playground]'") from None

    export = _Export(get_lesson(name), seed, knobs, steps, data)
    cls = export.cls
    cells = [new_markdown_cell(export.markdown()), new_code_cell("from __future__ import annotations\n\n" + export.imports())]
    for section in export.sections:
        if section.module == cls.__module__:
            cells.append(new_markdown_cell(f"## The lesson\n\nIts own code, as the Playground runs it; the page shows "
                                           f"{_names(cls.code)} beside the plot."))
        cells.append(new_code_cell(section.text))
    cells += [new_markdown_cell("## Settings\n\nChange them and run the cells below again."),
              new_code_cell(export.settings()),
              new_code_cell(TRAIN_CELL.format(cls=cls.__name__)),
              new_code_cell(PLOT_CELL)]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"  # fixed ids (nbformat draws random ones): the same export, the same file
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


@dataclass
class _Statement:
    """A top-level statement of a module: its text (with the comments just above it), what it binds, what it reads."""

    text: str
    defines: frozenset[str]
    uses: frozenset[str]
    span: tuple[int, int]  # its own lines (decorators included, comments above not), 0-based, end excluded
    block: bool  # a def or a class: two blank lines around it, as in the file


@dataclass
class _Module:
    name: str
    source: str
    statements: list[_Statement]
    imports: dict[str, tuple[str, str | None, str | None]]  # bound name -> (module, object or None, alias or None)
    digitzoo: dict[str, tuple[str, str]]  # bound name -> (digitzoo module, object)
    import_lines: set[int]  # 0-based: taken out where the whole file goes in (the imports are merged at the top)
    replaced: set[int] = field(default_factory=set)  # statements whose text stands in for the file's


@dataclass
class _Section:
    module: str
    text: str


class _Export:
    """One lesson's file in pieces: which definitions of which module, the imports, the settings, the words around them."""

    def __init__(self, cls: type[Lesson], seed: int, knobs: dict[str, Any] | None, steps: int | None, data: Table | None):
        self.cls, self.seed = cls, int(seed)
        self.knobs = cls.parse_knobs(dict(knobs or {}))
        self.steps = None if steps is None else cls.parse_steps(steps)
        if data is not None:
            data_spec_of(cls)  # a lesson without data of yours refuses any, with its sentence
        self.data = data
        self.takes_data = cls.data_spec is not None
        self.open_label = self.takes_data and not cls.data_spec.columns  # the learner says which column is the label
        self.modules: dict[str, _Module] = {}
        self.included: dict[str, set[int]] = defaultdict(set)
        self.used_imports: dict[str, set[str]] = defaultdict(set)
        self.namespaces: dict[str, str] = {}  # bound name -> module, for `from digitzoo.hub.lessons import plots`
        self._include_whole(cls.__module__)
        self._need(RUN_MODULE, "start")
        self._need(RUN_MODULE, "iterate")
        self._include_whole(DRAW_MODULE)
        if self.takes_data:
            self._need(USER_DATA_MODULE, "read_table")
        self.sections = self._sections()
        # Imports inside functions stay where they are (run.start's torch, save_restore's safetensors): none may need digitzoo.
        self.inner_imports = set().union(*(_imports_of(ast.parse(section.text)) for section in self.sections))
        if self.inner_imports & {"digitzoo", *DATA_SET_PACKAGES}:
            stray = ", ".join(sorted(self.inner_imports & {"digitzoo", *DATA_SET_PACKAGES}))
            raise RuntimeError(f"a {cls.name} file would still import {stray}")
        self._check_names()

    # -- what goes in ------------------------------------------------------------------------------
    def _module(self, name: str) -> _Module:
        if name not in self.modules:
            if name not in CARRIED and name != self.cls.__module__:
                raise RuntimeError(f"the {self.cls.name} lesson uses {name}, which a lesson file cannot carry")
            module = _parse(name, Path(importlib.util.find_spec(name).origin).read_text(encoding="utf-8"))
            for index, statement in enumerate(module.statements):
                for obj in statement.defines:
                    if (name, obj) in STAND_ALONE:
                        module.statements[index] = _parse_one(STAND_ALONE[name, obj], statement.span)
                        module.replaced.add(index)
            if name == self.cls.__module__:
                self._stand_in_data_sets(module)
            self.modules[name] = module
        return self.modules[name]

    def _include_whole(self, name: str) -> None:
        for index in range(len(self._module(name).statements)):
            self._include(name, index)

    def _include(self, name: str, index: int) -> None:
        if index not in self.included[name]:
            self.included[name].add(index)
            for used in self._module(name).statements[index].uses:
                self._resolve(name, used)

    def _need(self, name: str, obj: str) -> None:
        found = [i for i, s in enumerate(self._module(name).statements) if obj in s.defines]
        if not found:
            raise RuntimeError(f"{name} has no top-level {obj}")
        for index in found:
            self._include(name, index)

    def _resolve(self, name: str, used: str) -> None:
        """Bring in what ``used``, read by a statement of module ``name``, refers to there."""
        module = self._module(name)
        if any(used in s.defines for s in module.statements):
            self._need(name, used)
        elif used in module.digitzoo:
            source, obj = module.digitzoo[used]
            if inspect.ismodule(getattr(importlib.import_module(source), obj, None)):
                self.namespaces[used] = f"{source}.{obj}"
                self._include_whole(f"{source}.{obj}")
            elif obj != used:
                raise RuntimeError(f"{name} imports {obj} as {used}: a lesson file has one name per object")
            else:
                self._need(source, obj)
        elif used in module.imports:
            self.used_imports[name].add(used)

    def _stand_in_data_sets(self, module: _Module) -> None:
        """Each function of the lesson that imports a DATA_SET_PACKAGES package, replaced by the table it returns."""
        for node in ast.parse(module.source).body:
            if not isinstance(node, ast.FunctionDef) or not _imports_of(node) & DATA_SET_PACKAGES:
                continue
            if node.name in self.cls.code:
                raise RuntimeError(f"{self.cls.name} shows {node.name} on its page, and it reads a data set a file cannot carry")
            value = getattr(importlib.import_module(module.name), node.name)()
            if not isinstance(value, Table):
                raise RuntimeError(f"{module.name}.{node.name} reads a data set but returns no Table to write out")
            index = next(i for i, s in enumerate(module.statements) if node.name in s.defines)
            module.statements[index] = _parse_one(_table_function(module.source, node, value), module.statements[index].span)
            module.replaced.add(index)

    # -- the file's parts ----------------------------------------------------------------------------
    def _sections(self) -> list[_Section]:
        sections = []
        for name in (*CARRIED, self.cls.__module__):
            if not self.included.get(name):
                continue
            module = self.modules[name]
            if len(self.included[name]) == len(module.statements):
                text = _whole_text(module)
            else:
                kept = [s for i, s in enumerate(module.statements) if i in self.included[name]]
                text = kept[0].text
                for before, statement in zip(kept, kept[1:]):
                    text += ("\n\n\n" if before.block or statement.block else "\n") + statement.text
            for alias, target in sorted(self.namespaces.items()):
                if target == name:
                    public = sorted(n for s in module.statements for n in s.defines if not n.startswith("_"))
                    text += (f"\n\n\n# The lesson's `from {target.rpartition('.')[0]} import {alias}`: these functions by that name.\n"
                             f"{alias} = SimpleNamespace({', '.join(f'{n}={n}' for n in public)})")
            if name == RUN_MODULE:
                text += TRAIN.format(data=self._data_expression())
            title = "the lesson itself" if name == self.cls.__module__ else TITLES[name]
            sections.append(_Section(name, f"# {'=' * 8} {name}: {title} {'=' * 8}\n\n{text.strip()}"))
        return sections

    def _data_expression(self) -> str:
        if not self.takes_data:
            return "None  # this lesson learns from its own data only"
        label = ", LABEL_COLUMN" if self.open_label else ""
        return f"None if DATA_CSV is None else read_table(DATA_CSV, lesson_class{label})"

    def _import_specs(self, script: bool = False) -> dict[str, tuple[str, str | None, str | None]]:
        specs = {**GLUE_IMPORTS, **(SCRIPT_IMPORTS if script else {})}
        if self.namespaces:
            specs["SimpleNamespace"] = ("types", "SimpleNamespace", None)
        for name, bound in sorted(self.used_imports.items()):
            for b in sorted(bound):
                spec = self.modules[name].imports[b]
                if specs.setdefault(b, spec) != spec:
                    raise RuntimeError(f"{b} is imported two ways: {specs[b]} and {spec}")
        return specs

    def imports(self, script: bool = False) -> str:
        """The imports of every piece, merged: the standard library's first, then torch's and the rest."""
        groups: dict[bool, list[str]] = {True: [], False: []}
        froms: dict[str, list[str]] = defaultdict(list)
        for module, obj, alias in self._import_specs(script).values():
            if obj is None:
                groups[_stdlib(module)].append(f"import {module}" + (f" as {alias}" if alias else ""))
            else:
                froms[module].append(obj + (f" as {alias}" if alias else ""))
        for module, objs in froms.items():
            groups[_stdlib(module)].append(f"from {module} import {', '.join(sorted(objs))}")
        return "\n\n".join("\n".join(sorted(groups[std], key=_import_order)) for std in (True, False) if groups[std])

    def requirements(self) -> list[str]:
        """The packages to pip install: torch, matplotlib and whatever else the lesson imports."""
        roots = {module.split(".")[0] for module, _, _ in self._import_specs().values()} | self.inner_imports
        return sorted((r for r in roots if not _stdlib(r)), key=lambda r: (r != "torch", r != "matplotlib", r))

    def settings(self) -> str:
        cls = self.cls
        knobs = "".join(f"    {knob.name!r}: {self.knobs[knob.name]!r},  # {_knob_note(knob)}\n" for knob in cls.knobs)
        lines = [f"# {'=' * 8} settings: change them and run again {'=' * 8}",
                 f"SEED = {self.seed}  # same seed, knobs, steps and data: the same run",
                 f"KNOBS = {{\n{knobs}}}" if knobs else "KNOBS = {}  # this lesson has no knobs",
                 f"STEPS = {self.steps!r}  # None: until the target is reached (at most {cls.max_steps}), as "
                 "`digitzoo lesson run` trains; a number: exactly that many steps"]
        if self.takes_data:
            lines += [f"# Your own data as CSV text of {cls.data_spec.describe()}; None: the lesson's own.",
                      f"DATA_CSV = {_text_literal(None if self.data is None else self.data.to_csv())}"]
            if self.open_label:
                label = None if self.data is None else self.data.label
                lines.append(f"LABEL_COLUMN = {label!r}  # with DATA_CSV: the column of the 0/1 label (None: 'label', else the last)")
        return "\n".join(lines)

    def command(self) -> str:
        """The same run in digitzoo."""
        words = ["digitzoo", "lesson", "run", self.cls.name, "--seed", str(self.seed)]
        for name, value in self.knobs.items():
            words += ["--knob", f"{name}={value}"]
        if self.steps is not None:
            words += ["--steps", str(self.steps)]
        if self.data is not None:
            words += ["--data", "FILE.csv"] + (["--label-column", self.data.label] if self.open_label else [])
        return shlex.join(words)

    def _words(self) -> dict[str, str]:
        """What the file says about itself, in the docstring and in the notebook's first cell."""
        import torch

        cls = self.cls
        return {
            "pip": f"pip install {' '.join(self.requirements())}",
            "same": "The same run in digitzoo" + (", with DATA_CSV saved as FILE.csv:" if self.data is not None else ":"),
            "command": self.command(),
            "note": f"Same settings, same numbers, on the same torch version (this file was made with {torch.__version__}) and CPU.",
            "code": (f"The code is the lesson's own ({cls.__module__}; the Playground's page shows {_names(cls.code)}) with "
                     "what it uses of digitzoo's lesson machinery: Knob and Lesson, the Plotly-JSON helpers (plots), the "
                     "training loop of `digitzoo lesson run` (start, iterate) and a matplotlib drawing of the lesson's figure."),
        }

    def docstring(self) -> str:
        cls, words, file = self.cls, self._words(), f"lesson_{self.cls.name}.py"
        text = "\n\n".join([
            f"{cls.title}: a lesson of the digitzoo Playground, to take home.",
            _wrap(f"{cls.summary} Target: {cls.target}."),
            f"Needs Python 3.11 or newer and: {words['pip']}\n{words['same']}\n    {words['command']}\n{_wrap(words['note'])}",
            f"Run it:  python {file}                  trains, prints the result as one JSON line, shows the plot\n"
            f"         python {file} --save plot.png  saves the plot instead (MPLBACKEND=Agg: no window at all)\n"
            "Change the settings below and run it again.",
            _wrap(words["code"])])
        return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""'

    def markdown(self) -> str:
        cls, words = self.cls, self._words()
        return "\n\n".join([
            f"# {cls.title}", cls.summary, f"**Target:** {cls.target}.",
            f"Needs Python 3.11 or newer and `{words['pip']}`. {words['same']}", f"    {words['command']}", words["note"],
            words["code"], "Run the cells in order; then change the settings and run the last three cells again."])

    def _check_names(self) -> None:
        """All pieces share one namespace: a name two of them bind would quietly change what one of them means."""
        owner: dict[str, str] = {}

        def claim(name: str, by: str) -> None:
            if owner.setdefault(name, by) != by:
                raise RuntimeError(f"a {self.cls.name} file would bind {name} twice: in {owner[name]} and in {by}")

        for module, indexes in self.included.items():
            for index in indexes:
                for name in self.modules[module].statements[index].defines:
                    claim(name, module)
        for name, spec in self._import_specs(script=True).items():
            claim(name, f"import {spec}")
        for name in (*self.namespaces, *GLUE_NAMES):
            claim(name, "the file's own lines")


def _parse(name: str, source: str) -> _Module:
    lines = source.splitlines()
    statements, imports, digitzoo, import_lines = [], {}, {}, set()
    for number, node in enumerate(ast.parse(source).body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            import_lines.update(range(node.lineno - 1, node.end_lineno))
            for alias in node.names:
                if isinstance(node, ast.Import):
                    imports[alias.asname or alias.name.split(".")[0]] = (alias.name, None, alias.asname)
                elif node.module.split(".")[0] == "digitzoo":
                    digitzoo[alias.asname or alias.name] = (node.module, alias.name)
                elif node.module != "__future__":
                    imports[alias.asname or alias.name] = (node.module, alias.name, alias.asname)
        elif not (number == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # the docstring
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            above = first
            while above > 0 and lines[above - 1].lstrip().startswith("#"):
                above -= 1
            statements.append(_Statement("\n".join(lines[above:node.end_lineno]), _defines(node), _uses(node),
                                         (first, node.end_lineno), _is_block(node)))
    return _Module(name, source, statements, imports, digitzoo, import_lines)


def _parse_one(text: str, span: tuple[int, int]) -> _Statement:
    """A statement that stands in for the one at ``span`` of a module's file."""
    node = ast.parse(text).body[0]
    return _Statement(text, _defines(node), _uses(node), span, _is_block(node))


def _is_block(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def _defines(node: ast.stmt) -> frozenset[str]:
    if _is_block(node):
        return frozenset({node.name})
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return frozenset(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return frozenset()


def _uses(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _imports_of(node: ast.AST) -> set[str]:
    """The top-level packages ``node`` imports, at any depth."""
    roots = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            roots |= {a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
            roots.add(n.module.split(".")[0])
    return roots - {"__future__"}


def _whole_text(module: _Module) -> str:
    """The module's file as it is, but for its imports (merged at the top of the file) and its stand-ins."""
    lines = module.source.splitlines()
    swaps = {module.statements[i].span[0]: i for i in module.replaced}
    out, number = [], 0
    while number < len(lines):
        if number in swaps:
            statement = module.statements[swaps[number]]
            out.append(statement.text)
            number = statement.span[1]
        else:
            if number not in module.import_lines:
                out.append(lines[number])
            number += 1
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(out))  # where imports were: at most two blank lines


def _table_function(source: str, node: ast.FunctionDef, table: Table) -> str:
    """``node``, a function that made ``table``, rewritten to return ``table`` written out in full."""
    signature = "\n".join(source.splitlines()[node.lineno - 1:node.body[0].lineno - 1])
    if node.args.args or node.args.posonlyargs or node.args.kwonlyargs or node.decorator_list:
        raise RuntimeError(f"{node.name} takes arguments: its value depends on them, so it cannot be written out once")
    doc = ast.get_docstring(node) or f"The table {node.name} made."
    fields = []
    for f in dataclasses.fields(table):
        value = getattr(table, f.name)
        if f.name == "rows":  # one row a line
            fields.append("        rows=(\n" + "".join(f"            {row!r},\n" for row in value) + "        ),")
        else:
            fields.append(f"        {f.name}={value!r},")
    text = (f'{signature}\n    """{doc}\n\n'
            "    This file carries the table itself, as the lesson's function made it, so it needs no package to read\n"
            "    it: every number is written out in full (repr of the float), the tensors made from them are the same bits.\n"
            f'    """\n    return {type(table).__name__}(\n' + "\n".join(fields) + "\n    )")
    call = ast.parse(text).body[0].body[-1].value
    if type(table)(**{kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}) != table:
        raise RuntimeError(f"{node.name}'s table does not come back the same from its text")
    return text


def _knob_note(knob) -> str:
    if knob.choices:
        return f"{knob.label}: {', '.join(knob.choices)}"
    return f"{knob.label}: {knob.lo:g} to {knob.hi:g}" + (", a whole number" if knob.integer else "")


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=110, break_long_words=False, break_on_hyphens=False)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _text_literal(text: str | None) -> str:
    """``text`` as Python source: a block of lines where it reads back the same, else its repr."""
    if text is None:
        return "None"
    block = f'"""\\\n{text}"""'
    plain = all(c.isprintable() or c == "\n" for c in text) and "\\" not in text and '"' not in text
    return block if plain and ast.literal_eval(block) == text else repr(text)


def _import_order(line: str) -> tuple[bool, str]:
    """`import x` lines before `from x import y` lines, each by module, as isort orders them."""
    return line.startswith("from"), line.split()[1]


def _stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names
