"""`digitzoo bench yours`: a visitor's own model scored in Chromium, as a visitor waits for it.

The static site (``digitzoo web build --vendor``, served by ``python -m http.server``) in Chromium at
1280x720; a shipped classifier's ONNX file is given to the "Your model" page as if it were the
visitor's (the file picker), and the page checks it, finds its pixel convention and scores it on the
10,000 MNIST test digits and the 10,000 re-drawn ones (onnxruntime-web, wasm, one thread). Per model,
over ``runs`` page loads: the seconds to score each set (the page's own performance.now() around
each set, data-scored-ms-<set>), the seconds from picking the file to the last figure, and the
longest pause of the page's main thread meanwhile (a 10 ms timer's largest gap: how long a click
would wait). Then the page's accuracies against ``digitzoo eval --onnx`` on the same file, and how
long Cancel takes to stop a scoring run. Headless Chromium renders in software on a core of its own.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from digitzoo.apps.browser_bench import CHROMIUM_ARGS
from digitzoo.hub.benchmarking import Machine, Result, serving
from digitzoo.hub.serving.manifest import (artifact, demo_models, exports_root, part_with_role, parts_with_role, read_manifest,
                                           verified_path)

# The goals, for 10,000 test digits: <= 30 s for the Draw page's first classifier (the zoo's CNN),
# <= 10 s for the smallest classifier file (the tutorial CNN). Picked from the manifest, not by name.
GOAL_S = {"first Draw classifier": 30.0, "smallest classifier": 10.0}
ROOT = "#tab-yours .dz-yours"
# A 10 ms timer in the page; its largest gap is the longest the main thread was held.
PAUSE_PROBE = """() => { window.__pause = { last: performance.now(), worst: 0 };
  window.__pauseTimer = setInterval(() => { const now = performance.now();
    window.__pause.worst = Math.max(window.__pause.worst, now - window.__pause.last); window.__pause.last = now; }, 10); }"""


@dataclass
class YoursResult(Result):
    goals: dict
    machine: Machine
    chromium: str
    runs: int
    models: dict  # name -> {bytes, seconds per set (median), total_s, longest_pause_ms, accuracy page/cli}
    cancel_ms: float | None

    def to_json(self) -> dict:
        return {"goals": self.goals, "machine": self.machine.to_json(), "chromium": self.chromium, "runs": self.runs,
                "models": self.models, "cancel_ms": self.cancel_ms}


def _state(page) -> dict:
    return page.evaluate("(sel) => ({...document.querySelector(sel).dataset})", ROOT)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    page.click("nav [data-tab=yours]")
    page.wait_for_selector(f"{ROOT} .dz-drop input:not([disabled])", state="attached", timeout=60_000)
    return page


def _score_once(browser, url: str, file: Path) -> dict:
    page = _open(browser, url)
    try:
        page.evaluate(PAUSE_PROBE)
        began = time.perf_counter()
        page.set_input_files(f"{ROOT} .dz-drop input", str(file))
        page.wait_for_function("(sel) => ['done', 'refused', 'cancelled'].includes(document.querySelector(sel).dataset.state)",
                               arg=ROOT, timeout=300_000, polling=50)
        total = time.perf_counter() - began
        worst = page.evaluate("() => { clearInterval(window.__pauseTimer); return window.__pause.worst; }")
        state = _state(page)
    finally:
        page.close()
    if state.get("state") != "done":
        raise RuntimeError(f"the page did not score {file.name}: {state}")
    return {"state": state, "total_s": total, "longest_pause_ms": worst}


def _cancel_ms(browser, url: str, file: Path) -> float:
    """From the click on Cancel to the page saying so, in the page's clock."""
    page = _open(browser, url)
    try:
        page.set_input_files(f"{ROOT} .dz-drop input", str(file))
        page.wait_for_function("(sel) => document.querySelector(sel + ' progress').value > 0.1", arg=ROOT, timeout=120_000, polling=20)
        clicked = page.evaluate("(sel) => { const t = performance.now(); "
                                "document.querySelector(sel + ' [data-do=cancel]').click(); return t; }", ROOT)
        page.wait_for_function("(sel) => document.querySelector(sel).dataset.state === 'cancelled'", arg=ROOT, timeout=60_000, polling=5)
        return page.evaluate("() => performance.now()") - clicked
    finally:
        page.close()


def yours_bench(runs: int = 3, log: Callable[[str], None] = print) -> YoursResult:
    from playwright.sync_api import sync_playwright

    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.serving.own_model import evaluate_onnx

    root = exports_root()
    manifest = read_manifest(root)
    files = {name: verified_path(root, artifact(manifest, name, part_with_role(manifest, name, "classifier"), "onnx"))
             for name in dict(parts_with_role(manifest, "classifier"))}
    chosen = {"first Draw classifier": demo_models(manifest, "draw")[0],
              "smallest classifier": min(files, key=lambda name: files[name].stat().st_size)}
    goals = {role: {"model": name, "limit_s": GOAL_S[role]} for role, name in chosen.items()}
    files = {name: files[name] for name in chosen.values()}
    machine = Machine.now(threads=1)
    with tempfile.TemporaryDirectory(prefix="digitzoo-bench-yours-") as tmp:
        site = build_site(Path(tmp) / "site", root, vendor=True)
        with serving([sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", str(site), "{port}"],
                     what="python -m http.server") as static:
            url = f"{static.url}index.html"
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            models = {}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                version = browser.version
                for name, file in files.items():
                    done = []
                    for run in range(runs):
                        done.append(_score_once(browser, url, file))
                        log(f"{name} run {run + 1}: {done[-1]['state']} in {done[-1]['total_s']:.1f} s")
                    cli = evaluate_onnx(file)
                    sets = list(cli["sets"])
                    page_accuracy = {s: float(done[-1]["state"][f"accuracy_{s}"]) for s in sets}
                    models[name] = {
                        "bytes": file.stat().st_size,
                        "convention": done[-1]["state"]["convention"],
                        "seconds": {s: round(statistics.median(float(d["state"][f"scoredMs_{s}"]) for d in done) / 1000, 2)
                                    for s in sets},
                        "total_s": round(statistics.median(d["total_s"] for d in done), 2),
                        "longest_pause_ms": round(statistics.median(d["longest_pause_ms"] for d in done), 1),
                        "accuracy_page": page_accuracy,
                        "accuracy_cli": {s: cli["sets"][s]["accuracy"] for s in sets},
                        "cli_ms_per_image": {s: cli["sets"][s]["ms_per_image"] for s in sets},
                    }
                cancels = [_cancel_ms(browser, url, files[chosen["first Draw classifier"]]) for _ in range(runs)]
                browser.close()
    return YoursResult(goals, machine, version, runs, models, round(statistics.median(cancels), 1))


def report(result: YoursResult) -> str:
    lines = [f"Your model in Chromium {result.chromium} (static site, onnxruntime-web wasm, 1 thread; headless "
             f"Chromium renders on a core of its own), median of {result.runs} page loads; load {result.machine.loadavg}",
             f"{'model':20s} {'MB':>5s} {'10k test s':>10s} {'10k redrawn s':>13s} {'file->all s':>11s} "
             f"{'longest pause ms':>16s} {'page acc %':>15s} {'CLI acc %':>15s}"]
    for name, m in result.models.items():
        page = "/".join(f"{v:.2f}" for v in m["accuracy_page"].values())
        cli = "/".join(f"{v:.2f}" for v in m["accuracy_cli"].values())
        lines.append(f"{name:20s} {m['bytes'] / 1e6:5.2f} {m['seconds']['mnist_test']:10.2f} {m['seconds']['redrawn_test']:13.2f} "
                     f"{m['total_s']:11.2f} {m['longest_pause_ms']:16.1f} {page:>15s} {cli:>15s}")
    lines.append(f"Cancel: the page stops {result.cancel_ms:.0f} ms after the click (median).")
    for role, goal in result.goals.items():
        seconds = result.models[goal["model"]]["seconds"]["mnist_test"]
        lines.append(f"goal, {role} ({goal['model']}): 10,000 test digits in <= {goal['limit_s']:.0f} s: {seconds:.2f} s, "
                     f"{'met' if seconds <= goal['limit_s'] else 'MISSED'}")
    equal = all(m["accuracy_page"] == m["accuracy_cli"] for m in result.models.values())
    lines.append(f"goal: the page's accuracy equals digitzoo eval --onnx: {'met' if equal else 'MISSED'}")
    return "\n".join(lines)
