"""The classifier leaderboard: generated from the manifest for the CLI, the Models tab and the README."""

from __future__ import annotations

from dataclasses import replace
import subprocess
import sys
from pathlib import Path

from digitzoo.hub.serving import leaderboard, paths
from digitzoo.hub.serving.manifest import read_manifest

REPO = Path(__file__).resolve().parents[1]


def shipped() -> dict:
    return read_manifest(paths.pretrained_exports_dir())


def test_readme_block_is_generated_from_the_shipped_manifest():
    """Regenerate with `digitzoo list --table --readme README.md --exports hub/pretrained/exports`."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert leaderboard.readme_current_block(readme) == leaderboard.readme_block(shipped())


def test_every_classifier_has_a_row_with_every_figure():
    manifest = shipped()
    classifiers = {n for n, e in manifest.models.items() if e.task == "classifier"}
    rows = leaderboard.rows(manifest)
    assert {r["model"] for r in rows} == classifiers and len(rows) == len(classifiers)
    for row in rows:
        assert all(row[key] is not None for key, _, _ in leaderboard.COLUMNS), row
        assert 0 < row["latency_ms"] < 1000 and row["onnx_mb"] > 0 and row["parameters"] > 1000
    accuracies = [r["test_accuracy"] for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # best first


def test_missing_figures_render_as_dashes_and_non_classifiers_are_left_out():
    manifest = shipped()
    name = leaderboard.classifiers(manifest)[0]
    entry = manifest.models[name]
    metrics = {k: v for k, v in entry.metrics.items() if k != "sketch_accuracy"}
    manifest = manifest.with_model(name, replace(entry, latency=None, metrics=metrics))
    text = leaderboard.markdown(manifest)
    line = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
    assert line.count(" - ") == 2
    assert "mnist_gan" in manifest.models and "| mnist_gan |" not in text
    assert len(leaderboard.table(manifest)[0]) == len(leaderboard.headers()) == len(leaderboard.datatypes())


def test_update_readme_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{leaderboard.README_START}\nstale\n{leaderboard.README_END}\nafter\n")
    assert leaderboard.update_readme(readme, shipped())
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "stale" not in text
    assert not leaderboard.update_readme(readme, shipped())


def test_cli_list_table_prints_the_leaderboard():
    out = subprocess.run([sys.executable, "-m", "digitzoo.hub", "list", "--table", "--markdown", "--exports",
                          str(paths.pretrained_exports_dir())], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == leaderboard.markdown(shipped())
