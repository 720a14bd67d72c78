"""Every ``>>>`` example in the package's docstrings runs and shows what it says.

The modules are found, not listed: any module of hub/, train/, export/ or apps/ whose source has a
``>>>`` is collected, so a new example is tested from the day it is written. An example that cannot
run here (it needs the network, MNIST on disk or the user's own paths) carries ``# doctest: +SKIP``
after a comment that says why.
"""

from __future__ import annotations

import doctest
import importlib
import io
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "train", "export", "apps")  # digitzoo.hub, digitzoo.train, ... (pyproject's package-dir)


def modules_with_examples() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                parts = path.relative_to(REPO).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found.append(".".join(("digitzoo", *parts)))
    return found


MODULES = modules_with_examples()


def test_the_examples_are_found():
    assert len(MODULES) >= 10 and "digitzoo.hub.serving.files" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    # An example must import what a user who installed digitzoo can import: the repository's
    # folders are on sys.path under pytest, so a stale ``from hub.manifest import ...`` would pass.
    for top in PACKAGES:
        monkeypatch.setitem(sys.modules, top, None)
    module = importlib.import_module(name)
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = doctest.DocTestFinder().find(module, name)
    for test in tests:
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.attempted + sum(e.options.get(doctest.SKIP, False) for t in tests for e in t.examples) > 0, \
        f"{name} has '>>>' in its source but no docstring example was found"
    assert result.failed == 0, report.getvalue()
