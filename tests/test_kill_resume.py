"""SIGKILL real `digitzoo train` processes in and around checkpoint writes: they resume exactly.

A small run of scripts/reliability/kill_resume.py (scripts/reliability.sh runs 10 trials).
Beyond test_training's single kill after the first save, it kills inside a resume-state write
and at a random point of the final save, checks every file left on disk, and compares the resumed weights with
an uninterrupted run's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_killed_runs_resume_from_the_last_complete_state_with_identical_weights(tmp_path):
    out = tmp_path / "kill_resume.json"
    cmd = [sys.executable, str(REPO / "scripts" / "reliability" / "kill_resume.py"), "--trials", "2",
           "--modes", "temp,final", "--limit-train", "256", "--checkpoint-every", "3",
           "--workdir", str(tmp_path / "runs"), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["passed"] and result["trials_passed"] == result["trials_total"] == 2
    assert result["final_identical"] == 2
    for trial in result["trials"]:
        assert trial["final_loads"] and trial["identical_to_reference"] and not trial["left_after_resume"], trial
