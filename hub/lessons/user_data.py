"""A learner's own data for a lesson: a CSV checked into a ``Table``, with one sentence per refusal.

Three lessons take data (their ``data_spec``): regression reads points x,y; classification
reads points x1,x2 with a 0/1 label; multi_feature reads any numeric columns, one of them the
0/1 label (the one named "label", the one the learner picks, or else the last). A header line is
optional. The Playground keeps a table for the visitor's session only (never on disk); the
command line reads it from a file (`digitzoo lesson run NAME --data FILE.csv`); a downloaded
script carries it inside itself, as the CSV ``Table.to_csv`` writes (floats as ``repr``, so the
numbers read back are the same bits).

Standard library only: a downloaded lesson script includes this file's source as it is.

>>> table = read_table("x,y\\n" + "".join(f"{i},{i * i}\\n" for i in range(10)), DataSpec(("x", "y")))
>>> table.columns, len(table.rows), table.column("y")[3]
(('x', 'y'), 10, 9.0)
>>> read_table("x,y\\n1,2\\n", DataSpec(("x", "y")))
Traceback (most recent call last):
...
digitzoo.hub.lessons.lesson.LessonError: only 1 row of data: at least 10 are needed to learn from
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from typing import Any

from digitzoo.hub.lessons.lesson import LessonError

MIN_ROWS = 10  # fewer points teach nothing a learner can see
MAX_ROWS = 10_000  # a lesson step on 10,000 rows still takes milliseconds on one core
MAX_BYTES = 2_000_000  # ~10,000 rows of a dozen numbers; a bigger file is refused before it is read
MAX_COLUMNS = 50


@dataclass(frozen=True)
class DataSpec:
    """What a lesson reads: ``columns`` in order (``()``: any numeric columns) and which one is the 0/1 ``label``."""

    columns: tuple[str, ...] = ()
    label: str | None = None

    def describe(self) -> str:
        """The expected CSV in words, for the page and the refusals."""
        if self.columns:
            return ",".join(self.columns) + (" (label 0 or 1)" if self.label else "")
        return "numeric columns, one of them a 0/1 label (the one named 'label', or the last)"


@dataclass(frozen=True)
class Table:
    """Checked data: named columns of finite floats, ``MIN_ROWS`` to ``MAX_ROWS`` rows; ``label`` names the 0/1 column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]
    label: str | None = None

    def column(self, name: str) -> list[float]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    @property
    def features(self) -> tuple[str, ...]:
        """Every column but the label."""
        return tuple(c for c in self.columns if c != self.label)

    def to_csv(self) -> str:
        """The table as CSV text (the label column last); ``read_table`` gives the same table back."""
        order = [*self.features, *([self.label] if self.label else [])]
        indexes = [self.columns.index(c) for c in order]
        lines = [",".join(order)]
        lines += [",".join(_number_text(row[i]) for i in indexes) for row in self.rows]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """One line for the page: rows, columns and the label's classes."""
        text = f"{len(self.rows):,} rows of {', '.join(self.columns)}"
        if self.label:
            ones = sum(1 for v in self.column(self.label) if v == 1)
            text += f" ({ones:,} labelled 1, {len(self.rows) - ones:,} labelled 0)"
        return text


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def read_table(text: str, spec: DataSpec | Any, label_column: str | None = None) -> Table:
    """``text`` (CSV) checked against ``spec`` (a DataSpec, or a lesson class: its ``data_spec``); a
    LessonError with one sentence for anything a lesson cannot learn from."""
    if not isinstance(spec, DataSpec):
        spec = data_spec_of(spec)
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise LessonError(f"the data is {_size(len(text.encode('utf-8', errors='replace')))}; at most "
                          f"{_size(MAX_BYTES)} and {MAX_ROWS:,} rows are read: take a sample")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise LessonError(f"the data is empty: it needs rows of {spec.describe()}")
    if len(lines) > MAX_ROWS + 1:
        raise LessonError(f"the data has {len(lines):,} rows; at most {MAX_ROWS:,} are read: take a sample")
    cells = list(csv.reader(io.StringIO("\n".join(lines))))
    header = None if all(_is_number(cell) for cell in cells[0]) else [cell.strip() for cell in cells[0]]
    body = cells if header is None else cells[1:]
    width = len(cells[0])
    if width > MAX_COLUMNS:
        raise LessonError(f"the data has {width} columns; at most {MAX_COLUMNS} are read")
    if spec.columns and width != len(spec.columns):
        raise LessonError(f"the data has {width} column{'s' if width != 1 else ''}; this lesson reads "
                          f"{len(spec.columns)}: {spec.describe()}")
    if not spec.columns and width < 2:
        raise LessonError(f"the data has {width} column; this lesson reads {spec.describe()}")
    names = tuple(spec.columns) if spec.columns else tuple(header or (f"column {i + 1}" for i in range(width)))
    if len(set(names)) != len(names):
        raise LessonError("two columns of the data have the same name: name each column once")
    if len(body) < MIN_ROWS:
        raise LessonError(f"only {len(body)} row{'s' if len(body) != 1 else ''} of data: at least {MIN_ROWS} are needed to learn from")
    rows = []
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise LessonError(f"line {number} has {len(row)} values; every line needs {width} ({', '.join(names)})")
        rows.append(tuple(_finite(cell, number, name) for cell, name in zip(row, names)))
    label = _label_column(spec, names, label_column)
    table = Table(names, tuple(rows), label)
    if label:
        _check_labels(table)
    return table


def read_table_bytes(data: bytes, spec: DataSpec | Any, label_column: str | None = None) -> Table:
    """An uploaded file's bytes as a table: UTF-8 text (a byte-order mark is fine), else a sentence."""
    if len(data) > MAX_BYTES:
        raise LessonError(f"the file is {_size(len(data))}; at most {_size(MAX_BYTES)} and {MAX_ROWS:,} rows are read: take a sample")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LessonError("the file is not text: save the data as CSV (comma-separated numbers, UTF-8)") from None
    return read_table(text, spec, label_column)


def read_table_file(path: str | os.PathLike, lesson_cls: Any, label_column: str | None = None) -> Table:
    """``path`` read for lesson class ``lesson_cls`` (its ``data_spec``); sentences for a missing or unfit file."""
    spec = data_spec_of(lesson_cls)  # before reading: a lesson without data refuses any file
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise LessonError(f"{os.fspath(path)} is {_size(size)}; at most {_size(MAX_BYTES)} and {MAX_ROWS:,} rows "
                              "are read: take a sample")
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise LessonError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    return read_table_bytes(data, spec, label_column)


def data_spec_of(lesson_cls: Any) -> DataSpec:
    """The lesson's ``data_spec``; a sentence naming the lessons that take data when it has none."""
    spec = getattr(lesson_cls, "data_spec", None)
    if spec is None:
        raise LessonError(f"{lesson_cls.name} learns from its own data only; regression, classification and "
                          "multi_feature also take yours")
    return spec


def _label_column(spec: DataSpec, names: tuple[str, ...], asked: str | None) -> str | None:
    if spec.columns:
        if asked is not None and asked != spec.label:
            raise LessonError(f"this lesson's label is its column {spec.label!r}; it reads {spec.describe()}")
        return spec.label
    if asked is not None:
        if asked not in names:
            raise LessonError(f"there is no column {asked!r}; the columns are {', '.join(names)}")
        return asked
    return "label" if "label" in names else names[-1]


def _check_labels(table: Table) -> None:
    values = table.column(table.label)
    for number, value in enumerate(values, start=1):
        if value not in (0.0, 1.0):
            raise LessonError(f"the label column {table.label!r} must hold 0 or 1; row {number} has {_number_text(value)}")
    if len(set(values)) < 2:
        raise LessonError(f"every label is {_number_text(values[0])}: the net needs examples of both classes, 0 and 1")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _finite(cell: str, line: int, name: str) -> float:
    text = cell.strip()
    if not text:
        raise LessonError(f"line {line}, column {name!r} is empty: every cell needs a number")
    try:
        value = float(text)
    except ValueError:
        raise LessonError(f"line {line}, column {name!r}: {text[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise LessonError(f"line {line}, column {name!r} is {text[:20]}: only finite numbers can be learned from")
    return value


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"
