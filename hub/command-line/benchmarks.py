"""`digitzoo bench`: every benchmark in one run, printed and written to docs/BENCHMARKS.md.

Composes the measurements that live with what they measure (train/bench.py, export/bench.py,
apps/bench.py); like the commands beside it, it imports them lazily. Plots are PNG bar charts drawn with
Pillow (no plotting library needed). The report records when, where and with which command
the figures were taken, the machine's core count and its load before and after.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from digitzoo.hub.benchmarking import Machine, plain

REPORT = "BENCHMARKS.md"
PLOTS = "benchmarks"
SECTIONS = ("training", "inference", "serving")


def machine(threads: int) -> dict[str, Any]:
    return Machine.now(threads).to_json()


def cuda() -> dict[str, Any]:
    """What CUDA this machine really has, for torch and for ONNX Runtime."""
    import torch

    from digitzoo.hub.serving.runtime import cuda_usable

    info = {"torch": torch.cuda.is_available(), "onnxruntime": cuda_usable()}
    info["gpu"] = torch.cuda.get_device_name(0) if info["torch"] else None
    return info


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("torch", "onnxruntime-gpu", "onnxruntime", "gradio", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parents[1]).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def run(threads: int = 2, quick: bool = False, skip: tuple[str, ...] = (), data_dir=None, log=print) -> dict[str, Any]:
    """Measure; returns every figure (also what ``write_report`` needs): JSON values, and the typed results
    of the benchmarks that have one (``inference``, ``gan_grid``), which ``plain()`` turns into their JSON."""
    import torch

    torch.set_num_threads(threads)
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine_before": machine(threads),
                              "threads": threads, "quick": quick, "versions": _versions(), "commit": _commit(),
                              "command": ("digitzoo bench " + " ".join(sys.argv[2:])).strip() if sys.argv[1:2] == ["bench"] else
                              "digitzoo bench", "cuda": cuda()}
    devices = ["cpu"] + (["cuda"] if result["cuda"]["torch"] else [])
    if "training" not in skip:
        from digitzoo.train.bench import time_to_accuracy, training_throughput

        log("== training: images/s per model")
        result["training"] = {d: training_throughput(threads, steps=3 if quick else 20, warmup=1 if quick else 3,
                                                     device=d, data_dir=data_dir) for d in devices}
        if quick:
            result["time_to_99"] = None
        else:
            log("== training: time to 99.0% test accuracy, fast recipe vs tutorial")
            result["time_to_99"] = time_to_accuracy(threads, data_dir=data_dir, log=log)
    if "inference" not in skip:
        from digitzoo.export.bench import gan_grid_latency, inference_latency, report_gan_grid

        log("== inference: every part, every backend, batch 1 and 256")
        timing = {"min_seconds": 0.05, "min_calls": 3} if quick else {"min_seconds": 1.0, "min_calls": 30}
        result["inference"] = inference_latency(threads, devices=tuple(devices), data_dir=data_dir, log=log, **timing)
        result["gan_grid"] = gan_grid_latency(threads, **({"min_seconds": 0.05, "min_calls": 5} if quick else {}))
        log(report_gan_grid(result["gan_grid"]))
    if "serving" not in skip:
        from digitzoo.apps.bench import serve_latency

        log("== serving: /classify over HTTP at 1, 8 and 32 clients")
        result["serving"] = serve_latency(requests=20 if quick else 200, clients=(1, 8) if quick else (1, 8, 32),
                                          compare_client=not quick).to_json()
    result["machine_after"] = machine(threads)
    return result


# ---- the report ------------------------------------------------------------------------------

def _fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def write_report(result: dict[str, Any], docs: Path) -> Path:
    """docs/BENCHMARKS.md and its PNG plots; returns the report's path."""
    result = plain(result)
    plots = docs / PLOTS
    plots.mkdir(parents=True, exist_ok=True)
    m0, m1 = result["machine_before"], result["machine_after"]
    lines = ["# Benchmarks", "",
             f"Measured {result['started']} with `{result['command']}` at commit {result['commit']}"
             + (" (**--quick**: few repetitions, figures are rough)" if result["quick"] else "") + ".", "",
             f"Machine: {m0['cpu']}, {m0['cpus']} cores, load average (1 min) {m0['loadavg_1m']} before and "
             f"{m1['loadavg_1m']} after; torch and ONNX Runtime pinned to {result['threads']} threads. "
             "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + f", Python {m0['python']}.", "",
             "Medians of repeated runs; p99 where latency matters. Ratios compare runs made in the same job.", ""]
    gpu = result["cuda"]
    lines += ["**CUDA**: " + (f"{gpu['gpu']} (tables below include CUDA rows)" if gpu["torch"] else
                              "no CUDA GPU on this machine (torch.cuda.is_available() is False and ONNX Runtime has no "
                              "usable CUDA provider), so there are no CUDA tables: run `digitzoo bench` on a GPU "
                              "machine to add them."), ""]
    if "training" in result:
        lines += _training_section(result, plots)
    if "inference" in result:
        lines += _inference_section(result, plots)
    if "serving" in result:
        lines += _serving_section(result, plots)
    lines += _serving_reliability_section(plots / "serving_reliability.json")
    lines += browser_section(plots / "browser.json")
    lines += ["## Raw figures", "", f"Every figure above, as JSON: [`{PLOTS}/results.json`]({PLOTS}/results.json).", ""]
    (plots / "results.json").write_text(json.dumps(result, indent=2, default=str))
    report = docs / REPORT
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def _training_section(result, plots: Path) -> list[str]:
    lines = ["## Training", "", "Images per second through each model's real training step (its recipe's batch "
             "size and augmentation, optimizer step included), median of the timed steps.", "",
             "| model | device | batch | augmentation | ms / step | images / s |", "|---|---|---|---|---|---|"]
    for device, rows in result["training"].items():
        for name, row in rows.items():
            lines.append(f"| {name} | {device} | {row['batch']} | {row['augment']} | {row['step_ms_median']:.1f} | "
                         f"{row['images_per_s']:,.0f} |")
    cpu = result["training"]["cpu"]
    bar_chart(plots / "training_throughput.png", "Training throughput on CPU (images/s)", list(cpu),
              {"images/s": [r["images_per_s"] for r in cpu.values()]})
    lines += ["", f"![training throughput]({PLOTS}/training_throughput.png)", ""]
    t99 = result.get("time_to_99")
    lines += ["### Time to 99.0% test accuracy", ""]
    if t99 is None:
        lines += ["Not measured in --quick mode.", ""]
        return lines
    tut, fast = t99["tutorial"], t99["fast"]
    lines += ["| recipe | training seconds to 99.0% | test accuracy there |", "|---|---|---|",
              f"| tutorial (2-conv CNN, Adam 1e-3, batch 50), scored after each epoch | {_fmt(tut['reached_after_s'])} "
              f"| {tut['epochs'][-1]['test_accuracy']:.4f} after {len(tut['epochs'])} epoch(s) |",
              f"| {fast['label']} (1 OneCycle epoch) | {_fmt(fast['reached_after_s'])} | "
              f"{fast['test_accuracy']:.4f} |", ""]
    if t99["tutorial_over_fast"]:
        lines += [f"The fast recipe reaches 99.0% **{t99['tutorial_over_fast']:.2f}x** sooner than the tutorial recipe "
                  "(same process, same threads).", ""]
    else:
        lines += ["One of the recipes did not reach 99.0% in this run (see the accuracies).", ""]
    lines += ["Tutorial accuracy per epoch: " + ", ".join(f"{e['epoch']}: {e['test_accuracy']:.4f} at {e['train_seconds']:.1f} s"
                                                          for e in tut["epochs"]), ""]
    return lines


def _inference_section(result, plots: Path) -> list[str]:
    lines = ["## Inference", "", "Each exported part on the same real inputs, one backend after the other; ratio = "
             "eager time / backend time (above 1: faster than eager PyTorch).", ""]
    goal_rows = []
    for device, rows in result["inference"].items():
        lines += [f"### {device.upper()}", "", "| model / part | backend | batch | p50 ms | p99 ms | items / s | vs eager |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['model']}/{r['part']} | {r['backend']} | {r['batch']} | {r['p50_ms']:.3f} | "
                         f"{r['p99_ms']:.3f} | {r['items_per_s']:,.0f} | {r['speedup_vs_eager']:.2f}x |")
            if device == "cpu" and r["backend"] == "onnx" and r["batch"] == 1:
                goal_rows.append(r)
        lines.append("")
    met = [r for r in goal_rows if r["speedup_vs_eager"] >= 3]
    lines += [f"Goal, ONNX Runtime at least 3x faster than eager at batch 1 on CPU: met for {len(met)} of "
              f"{len(goal_rows)} parts (" + ", ".join(f"{r['model']}/{r['part']} {r['speedup_vs_eager']:.1f}x"
                                                      for r in goal_rows) + ").", ""]
    cpu_rows = result["inference"]["cpu"]
    parts = list(dict.fromkeys(f"{r['model']}/{r['part']}" for r in cpu_rows))
    for batch in sorted({r["batch"] for r in cpu_rows}):
        series = {}
        for backend in ("torchscript", "pt2", "onnx"):
            series[backend] = [next((r["speedup_vs_eager"] for r in cpu_rows if f"{r['model']}/{r['part']}" == p
                                     and r["batch"] == batch and r["backend"] == backend), 0.0) for p in parts]
        bar_chart(plots / f"inference_batch{batch}.png", f"Speed-up over eager PyTorch, batch {batch}, CPU (x)",
                  parts, series, reference=1.0)
        lines += [f"![inference speed-up, batch {batch}]({PLOTS}/inference_batch{batch}.png)", ""]
    gan = result["gan_grid"]
    lines += ["### GAN sampler", "", f"A 64-digit grid from the served generator ({gan['runtime']}, {gan['threads']} "
              f"threads): p50 **{gan['p50_ms']:.1f} ms**, p99 {gan['p99_ms']:.1f} ms (goal: at most 20 ms on CPU).", ""]
    return lines


def _serving_section(result, plots: Path) -> list[str]:
    s = result["serving"]
    lines = ["## Serving", "", "`/classify` of an 800x800 sketch over HTTP against a real `digitzoo serve` "
             "(Gradio queue API, image inline as a data: URL, one session per client; every answer checked).", "",
             f"Cold start: the page answers after {s['startup']['page_s']:.2f} s, the first `/classify` after "
             f"{s['startup']['first_classify_s']:.2f} s. Server memory after the run: {s['server_memory']['rss_mb']:.0f} MB "
             f"resident, peak {s['server_memory']['peak_rss_mb']:.0f} MB.", "",
             "| clients | p50 ms | p99 ms | requests / s | requests | errors |", "|---|---|---|---|---|---|"]
    for clients, row in s["classify"].items():
        lines.append(f"| {clients} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['requests_per_s']:.1f} | "
                     f"{row['requests']} | {row['errors']} |")
    up, local = s["classify_uploaded_1_client"], s["model_only"]
    lines += [f"| 1, PNG uploaded first | {up['p50_ms']:.1f} | {up['p99_ms']:.1f} | {up['requests_per_s']:.1f} | "
              f"{up['requests']} | {up['errors']} |"]
    fresh = s.get("classify_new_session_each_call_1_client")
    if fresh:
        lines.append(f"| 1, a new Gradio session per call | {fresh['p50_ms']:.1f} | {fresh['p99_ms']:.1f} | "
                     f"{fresh['requests_per_s']:.1f} | {fresh['requests']} | {fresh['errors']} |")
    lines += ["",
              f"In-process, the same work takes {local['png_decode_ms_p50']:.1f} ms (PNG decode) + "
              f"{local['preprocess_ms_p50']:.1f} ms (preprocessing) + {local['models_ms_p50']:.1f} ms (CNN + LSTM); HTTP p50 "
              f"at 1 client is {s['ratio_http_p50_to_model_only']:.1f}x that. An endpoint that does nothing answers in "
              f"{s['echo_endpoint_p50_ms']:.1f} ms over the same Gradio protocol."
              + (f" Through the gradio_client library the same call takes {s['gradio_client_p50_ms']:.0f} ms."
                 if s.get("gradio_client_p50_ms") else ""), ""]
    levels = list(s["classify"].items())
    bar_chart(plots / "serving_latency.png", "/classify over HTTP (ms)", [f"{c} client(s)" for c, _ in levels],
              {"p50": [row["p50_ms"] for _, row in levels], "p99": [row["p99_ms"] for _, row in levels]})
    lines += [f"![serving latency]({PLOTS}/serving_latency.png)", ""]
    return lines


def _serving_reliability_section(path: Path) -> list[str]:
    """The load / overload / memory check, from `digitzoo bench serve-reliability --out <docs>/benchmarks/...`."""
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    load, burst, mem = r["load"], r["overload"], r["memory"]
    return ["## Serving under load", "",
            f"`digitzoo bench serve-reliability --out {path.parent.parent.name}/{PLOTS}/{path.name}` against a real server "
            f"({r['machine']['cpus']} cores, load {r['machine']['loadavg_1m']}):", "",
            f"- Load: {load['clients']} clients for {load['seconds']:.0f} s: {load['requests']} requests, "
            f"**{load['errors']} failed**, p50 {load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms, "
            f"{load['requests_per_s']:.1f} requests/s.",
            f"- Overload: {burst['burst']} clients at once against a queue of 64: "
            + ", ".join(f"{n} {kind}" for kind, n in burst["outcomes"].items()) + "; the busy answers "
            f"(HTTP 503) came after p50 {burst['busy_p50_ms']:.0f} ms, p99 {burst['busy_p99_ms']:.0f} ms; the server "
            f"answered normally afterwards: {burst['server_answers_afterwards']}.",
            f"- Memory: {mem['requests']:,} requests after a warm-up: resident {mem['rss_before_mb']:.0f} -> "
            f"{mem['rss_after_mb']:.0f} MB (**{mem['growth_mb']:+.1f} MB**), {mem['errors']} errors.", "",
            "Checks: " + ", ".join(f"{name} {'passed' if ok else 'FAILED'}" for name, ok in r["checks"].items()) + ".", ""]


BROWSER_GOALS = {"inpage_p50_ms": "in-page p50", "inpage_p99_ms": "in-page p99", "server_p50_ms": "server p50",
                 "hub_first_answer_ms": "hub first answer", "static_first_answer_ms": "static first answer",
                 "why_p50_ms": "\"Why?\" maps p50"}


def _browser_goals(goals: dict) -> str:
    """The run's goals in words: "in-page p50 <= 20 ms, ..." (a goal this list does not know, by its key)."""
    return ", ".join(f"{BROWSER_GOALS.get(key, key)} <= {value:g}{' ms' if key.endswith('_ms') else ''}"
                     for key, value in goals.items())


def browser_section(path: Path) -> list[str]:
    """The Draw tab in Chromium, answered in the page and by the server, from `digitzoo bench browser --out ...`."""
    from digitzoo.apps.bench import percentile
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    first = r["first_answer_ms"]
    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    rows = [("in your browser (wasm)", r["inpage"]),
            ("server, asked by the page (onnxruntime-cpu, `?inpage=0`)", r["server"])]
    if r.get("pad_event"):  # runs before issue 19 also timed Gradio's Sketchpad's own change event; now null
        rows.append(("server, the Sketchpad's own change event (same run)", r["pad_event"]))
    before = sum(row.get("answered_while_drawing", False) for row in r["inpage"]["rows"])
    change = [row["change_ms"] for row in r["inpage"]["rows"] if "change_ms" in row]
    why, alone = r["inpage"].get("why"), r["inpage"].get("why_page_thread")
    maps = [f"\"Why?\" maps of the picked pair ({why['method']}), mouse-up -> painted: p50 {why['p50_ms']:.1f} ms, "
            f"p99 {why['p99_ms']:.1f} ms"
            + (f"; the same digits in a browser without Web Workers (the maps on the page's own thread), same run: "
               f"p50 {alone['p50_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms" if alone else "") + "."] if why else []
    return ["## Draw tab in the browser", "",
            f"`digitzoo bench browser --out {path.parent.parent.name}/{PLOTS}/{path.name}`: headless Chromium "
            f"{r.get('chromium', '')} (no GPU: it draws on the CPU) draws {r['drawings']} single-stroke digits "
            f"(0-9, scaled, shifted and wobbled) with mouse moves on the hub's Draw tab ({r['machine']['cpus']} cores, "
            f"load {r['machine']['loadavg'][0]:.2f} at the start). Time from the last mouse-up to the answer shown in "
            "the page (performance.now() in the page); \"right\" is the left model's (CNN's) answer:", "",
            "| answered | p50 ms | p99 ms | max ms | right |", "|---|---|---|---|---|",
            *(f"| {name} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} | {row['right']}/{row['n']} |"
              for name, row in rows), "",
            f"In the page, an answer was on screen before the mouse-up for {before} of {r['inpage']['n']} digits "
            "(answers follow the stroke, at most once per frame). The server path is the page sending its own copy "
            "of the drawing (a PNG of a few kB) at the mouse-up, in one POST to `/digitzoo/pages/ask/classify`. "
            + ("The Sketchpad's own change event, timed in this run, was the old page's last resort."
               if r.get("pad_event") else
               "There is no \"pad's own event\" path (`pad_event` is null): no such path since the pad is the page's "
               "own (a canvas of apps/web/pad.js), not Gradio's Sketchpad."),
            *([f"The mouse-up waits for nothing when the answer to the drawing as the pen left it is already on "
               f"screen; the read itself, from the last point drawn to its answer shown: p50 "
               f"{percentile(change, 50):.1f} ms, p99 {percentile(change, 99):.1f} ms."] if change else []),
            *maps,
            f"First answer after navigation (a fresh browser context, a 1 drawn as soon as the pad is on screen, "
            "looked for every frame; median of "
            f"{len(first['hub_inpage'])}): the hub serving the Draw tab alone (`--tab draw`) **{median(first['hub_inpage']):.0f} ms**, "
            f"the static site (`digitzoo web build --vendor`, `python -m http.server`) "
            f"**{median(first['static_site']):.0f} ms**"
            + (f"; the hub with every tab, as `digitzoo serve` starts it (no goal): **{median(first['hub_all_tabs']):.0f} ms**"
               if first.get("hub_all_tabs") else "") + ".", "",
            f"Goals ({_browser_goals(r.get('goals', {}))}): "
            + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in r["checks"].items()) + ".", ""]


# ---- plots -----------------------------------------------------------------------------------

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[float]],
              reference: float | None = None) -> None:
    """Horizontal grouped bars, one group per label, one colour per series, values written at the bars."""
    from PIL import Image, ImageDraw

    bar_h, gap, left, right, top = 14, 12, 190, 90, 46
    n = len(series)
    height = top + len(labels) * (n * bar_h + gap) + 40
    width = 900
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), title, fill="black")
    peak = max([v for values in series.values() for v in values] + [reference or 0, 1e-9])
    scale = (width - left - right) / peak
    for i, label in enumerate(labels):
        y = top + i * (n * bar_h + gap)
        draw.text((10, y + (n * bar_h) // 2 - 6), label[:30], fill="black")
        for j, (name, values) in enumerate(series.items()):
            v = values[i]
            y0 = y + j * bar_h
            draw.rectangle([left, y0, left + max(1, int(v * scale)), y0 + bar_h - 2], fill=COLORS[j % len(COLORS)])
            draw.text((left + int(v * scale) + 4, y0), f"{v:,.2f}" if v < 100 else f"{v:,.0f}", fill="black")
    if reference is not None:
        x = left + int(reference * scale)
        draw.line([x, top - 6, x, height - 34], fill=(120, 120, 120), width=1)
        draw.text((x + 3, top - 18), f"{reference:g}", fill=(90, 90, 90))
    for j, name in enumerate(series):  # legend
        x = left + j * 140
        draw.rectangle([x, height - 24, x + 12, height - 12], fill=COLORS[j % len(COLORS)])
        draw.text((x + 18, height - 26), name, fill="black")
    img.save(path)


def report(result: dict[str, Any]) -> str:
    """The headline table on the terminal."""
    lines: list[str] = []
    out = lines.append
    if "training" in result:
        out(f"{'training':28s} {'images/s':>10s}")
        for device, rows in result["training"].items():
            for name, row in rows.items():
                out(f"  {name + ' (' + device + ')':26s} {row['images_per_s']:10,.0f}")
        t99 = result.get("time_to_99")
        if t99:
            out(f"  time to 99.0%: tutorial {_fmt(t99['tutorial']['reached_after_s'])} s, fast {_fmt(t99['fast']['reached_after_s'])} s"
                + (f" ({t99['tutorial_over_fast']:.2f}x)" if t99["tutorial_over_fast"] else ""))
    if "inference" in result:
        from digitzoo.export.bench import report_gan_grid, report_inference

        out(report_inference(result["inference"]))
        out(f"  {report_gan_grid(result['gan_grid'])}")
    if "serving" in result:
        s = result["serving"]
        out(f"serving: first /classify after {s['startup']['first_classify_s']:.2f} s; peak RSS {s['server_memory']['peak_rss_mb']:.0f} MB")
        for clients, row in s["classify"].items():
            out(f"  {clients:3d} clients: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
                f"{row['requests_per_s']:.1f} req/s, {row['errors']} errors")
    out(f"machine: {result['machine_before']['cpus']} cores, load {result['machine_before']['loadavg_1m']} -> "
        f"{result['machine_after']['loadavg_1m']}")
    return "\n".join(lines)
