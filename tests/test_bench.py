"""`digitzoo bench` end to end in --quick mode: it measures, prints and writes the report with its plots."""

from __future__ import annotations

import json

from PIL import Image

from digitzoo.cli import main
from digitzoo.hub.serving.manifest import read_manifest


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
    # every exported part a user runs for an answer; not the explainers ("Why?"'s graphs: bench explain times them)
    exported = {(name, a.part) for name, entry in read_manifest().models.items() for a in entry.artifacts
                if a.role != "explainer"}
    assert parts == exported and {r["backend"] for r in results["inference"]["cpu"]} == {"eager", "torchscript", "pt2", "onnx"}
    assert all(r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in results["inference"]["cpu"])
    assert all(list(r) == INFERENCE_ROW_KEYS for r in results["inference"]["cpu"])  # the keys of before
    assert list(results["gan_grid"]) == GAN_GRID_KEYS
    for png in ("training_throughput.png", "inference_batch1.png", "inference_batch256.png"):
        with Image.open(docs / "benchmarks" / png) as img:
            assert img.width > 400 and img.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
            assert f"benchmarks/{png}" in report


def test_bench_rejects_an_unknown_section(capsys):
    assert main(["bench", "--skip", "everything"]) == 2
    assert "--skip takes" in capsys.readouterr().err


# The benchmarks' typed results print the JSON they printed before their conversion (the keys people
# and docs/BENCHMARKS.md read), and their report() shows the figures.

LATENCY_KEYS = ["onnx_batch1_ms", "p90_ms", "runs", "threads", "runtime", "measured"]  # a manifest entry's "latency"
INFERENCE_ROW_KEYS = ["model", "part", "batch", "backend", "runtime", "p50_ms", "p99_ms", "items_per_s", "calls",
                      "speedup_vs_eager"]  # a row of results.json's "inference"
GAN_GRID_KEYS = ["grid", "p50_ms", "p99_ms", "runtime", "threads"]  # results.json's "gan_grid"
PLAYGROUND_KEYS = ["lessons", "median_updates_per_s", "crowd", "second_crowd", "server_memory_mb", "machine"]


def test_bench_leaderboard_stores_the_same_latency_keys(tmp_path, capsys):
    import shutil

    from digitzoo.export.latency import classifier_onnx, measure_manifest, report
    from digitzoo.hub.serving import leaderboard, paths

    shipped = read_manifest(paths.pretrained_exports_dir())
    name = next(n for n, entry in shipped.models.items() if classifier_onnx(entry))
    assert list(shipped.models[name].latency) == sorted(LATENCY_KEYS)  # as written (sort_keys)
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copy(paths.pretrained_exports_dir() / "manifest.json", root)
    shutil.copytree(paths.pretrained_exports_dir() / name, root / name)

    assert main(["bench", "leaderboard", "--exports", str(root), "--model", name, "--runs", "5"]) == 0
    written = read_manifest(root)
    assert capsys.readouterr().out.strip() == leaderboard.text(written).strip()
    latency = written.models[name].latency
    assert sorted(latency) == sorted(LATENCY_KEYS) and latency["runs"] == 5 and latency["threads"] == 1
    assert latency["measured"] != shipped.models[name].latency["measured"]
    others = [n for n in shipped.models if n != name]
    assert all(written.models[n].latency == shipped.models[n].latency for n in others)

    result = measure_manifest(root, [name], runs=5, log=lambda msg: None)
    as_json = json.loads(result.dumps())
    assert list(as_json) == ["root", "latency", "machine"] and list(as_json["latency"][name]) == LATENCY_KEYS
    assert as_json["machine"]["threads"] == 1 and "cpus" in as_json["machine"]
    assert f"{result.latency[name].onnx_batch1_ms:.3f}" in report(result)


def test_inference_and_gan_grid_results_print_the_json_of_before():
    from digitzoo.export.bench import GanGridResult, InferenceResult, LatencyRow, report_gan_grid, report_inference
    from digitzoo.hub.benchmarking import Machine

    machine = Machine.now(2)
    rows = [LatencyRow("model_a", "encoder", 1, backend, f"{backend}-cpu", p50, p50 * 2, 1000 / p50, 30, 0.5 / p50)
            for backend, p50 in (("eager", 0.5), ("torchscript", 0.25), ("pt2", 0.2), ("onnx", 0.125))]
    result = InferenceResult({"cpu": rows}, 2, machine)
    as_json = json.loads(result.dumps())
    assert list(as_json) == ["cpu"] and [list(row) for row in as_json["cpu"]] == [INFERENCE_ROW_KEYS] * 4
    assert as_json["cpu"][3] == {"model": "model_a", "part": "encoder", "batch": 1, "backend": "onnx", "runtime": "onnx-cpu",
                                 "p50_ms": 0.125, "p99_ms": 0.25, "items_per_s": 8000.0, "calls": 30,
                                 "speedup_vs_eager": 4.0}
    table = report_inference(result).splitlines()
    assert table[0].startswith("inference (p50 ms)") and len(table) == 2
    assert table[1].split() == ["model_a/encoder", "cpu", "1", "0.500", "0.250", "0.200", "0.125", "4.00x"]

    grid = GanGridResult(64, 13.84, 24.9, "onnxruntime-cpu", 2, machine)
    assert list(json.loads(grid.dumps())) == GAN_GRID_KEYS
    assert report_gan_grid(grid) == "GAN 64-digit grid: p50 13.8 ms"


def test_playground_result_prints_the_json_of_before():
    from digitzoo.apps.playground_bench import PlaygroundResult, report
    from digitzoo.hub.benchmarking import Machine

    crowd = {"lesson": "lesson_a", "learners": 8, "served": 7, "busy": 1, "lost": 0,
             "outcomes": ["served"] * 7 + ["busy"], "slowest_answer_s": 3.61}
    lessons = {"lesson_a": {"reached": True, "seconds_to_result": 0.42, "steps_to_result": 120, "updates": 30,
                            "first_update_s": 0.31, "updates_per_s": 6.02},
               "lesson_b": {"reached": False, "seconds_to_result": None, "steps_to_result": None, "updates": 2,
                            "first_update_s": None, "updates_per_s": 0.0}}
    memory = {"before": {"rss_mb": 935.2, "peak_rss_mb": 940.0}, "after": {"rss_mb": 941.4, "peak_rss_mb": 950.0},
              "after_second_crowd": {"rss_mb": 945.0, "peak_rss_mb": 951.0}}
    machine = Machine.now(1)
    result = PlaygroundResult(lessons, 6.02, crowd, {**crowd, "served": 8, "busy": 0}, memory, machine)
    as_json = json.loads(result.dumps())
    assert list(as_json) == PLAYGROUND_KEYS
    assert as_json["lessons"] == lessons and as_json["server_memory_mb"] == memory and as_json["machine"] == machine.to_json()
    text = report(result)
    for figure in ("0.42", "120", "6.0", "not reached", "7 served, 1 told busy, 0 lost; slowest answer 3.6 s",
                   "the same crowd again: 8 served", "935 MB before, 941 MB after the crowd, 945 MB after the second",
                   f"{machine.cpus} cores"):
        assert figure in text, (figure, text)


def test_bench_leaderboard_never_rewrites_the_shipped_manifest(tmp_path, monkeypatch, capsys):
    """Without exports of your own, the figures go to your store and the leaderboard shows them from
    there; the package's manifest stays byte for byte as shipped (before: it was rewritten)."""
    from digitzoo.export.latency import classifier_onnx
    from digitzoo.hub.serving import leaderboard, paths

    monkeypatch.setenv("DIGITZOO_HOME", str(tmp_path / "home"))
    shipped_file = paths.pretrained_exports_dir() / "manifest.json"
    before = shipped_file.read_bytes()
    shipped = read_manifest(paths.pretrained_exports_dir())
    name = next(n for n, entry in shipped.models.items() if classifier_onnx(entry))
    assert main(["bench", "leaderboard", "--model", name, "--runs", "5"]) == 0
    assert shipped_file.read_bytes() == before
    stored = json.loads(leaderboard.local_latency_path().read_text())["models"][name]
    assert stored["sha256"] == classifier_onnx(shipped.models[name]).sha256 and stored["latency"]["runs"] == 5
    capsys.readouterr()
    assert main(["list", "--table"]) == 0
    shown = leaderboard.with_local_latency(shipped)
    assert shown.models[name].latency == stored["latency"] != shipped.models[name].latency
    assert capsys.readouterr().out.strip() == leaderboard.text(shown).strip()
    # Figures measured on another file (a re-export since) are not shown for this one.
    leaderboard.write_local_latency({name: ("0" * 64, {"onnx_batch1_ms": 99.0})})
    assert leaderboard.with_local_latency(shipped).models[name].latency == shipped.models[name].latency
