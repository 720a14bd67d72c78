"""The repository's Python passes `ruff check` (its rules: [tool.ruff] in pyproject.toml).

Ruff comes with the test extra (`pip install -e '.[test]'`), so `bash scripts/test.sh` lints too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "No module named ruff" not in out.stderr, "ruff is missing: pip install -e '.[test]'"
    assert out.returncode == 0, f"ruff check . found:\n{out.stdout}{out.stderr}"
