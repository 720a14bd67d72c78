"""`digitzoo bench` end to end in --quick mode: it measures, prints and writes the report with its plots."""

from __future__ import annotations

import json

from PIL import Image

from digitzoo.hub.cli import main
from digitzoo.hub.manifest import read_manifest


def test_bench_quick_writes_the_report(tmp_path, capsys):
    docs = tmp_path / "docs"
    assert main(["bench", "--quick", "--skip", "serving", "--docs", str(docs)]) == 0
    out = capsys.readouterr().out
    assert "images/s" in out and "GAN 64-digit grid" in out and "report:" in out
    report = (docs / "BENCHMARKS.md").read_text()
    for heading in ("# Benchmarks", "## Training", "## Inference", "### GAN sampler", "**CUDA**"):
        assert heading in report
    assert "cores, load average" in report
    results = json.loads((docs / "benchmarks" / "results.json").read_text())
    parts = {(r["model"], r["part"]) for r in results["inference"]["cpu"]}
    exported = {(name, a["part"]) for name, entry in read_manifest()["models"].items() for a in entry["artifacts"]}
    assert parts == exported and {r["backend"] for r in results["inference"]["cpu"]} == {"eager", "torchscript", "pt2", "onnx"}
    assert all(r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in results["inference"]["cpu"])
    for png in ("training_throughput.png", "inference_batch1.png", "inference_batch256.png"):
        with Image.open(docs / "benchmarks" / png) as img:
            assert img.width > 400 and img.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
            assert f"benchmarks/{png}" in report


def test_bench_rejects_an_unknown_section(capsys):
    assert main(["bench", "--skip", "everything"]) == 2
    assert "--skip takes" in capsys.readouterr().err
