"""`digitzoo bench browser`: what a person drawing in Chromium waits for.

Per drawn digit, the time from the last mouse-up to the answer shown in the page (performance.now()
in the page, read from the Draw page's root, ``.dz-draw``: its data-last-up-ms and data-up-answer-ms,
see apps/web/draw.js), on the hub's Draw tab answered in the page (onnxruntime-web, wasm) and
answered by the server (``?inpage=0``: the page POSTs its copy of the drawing to
``/digitzoo/pages/ask/classify`` at each mouse-up); whether the answer (the left model, the CNN) was
right; and the time from navigation to the first answer (data-first-answer-ms) for the hub and for
the static site (``digitzoo web build --vendor``, served by ``python -m http.server``), which runs the
same page modules. ``pad_event`` (Gradio's Sketchpad's own change event, timed until issue 19) stays
in the JSON as null: there is no such path since the pad is the page's own. The in-page path also
times the "Why?" maps (mouse-up -> the picked pair's maps painted), and a third pass draws the same
digits in a browser without Web Workers (``inpage.why_page_thread``): the maps on the page's own
thread, in the same run, so the workers' gain is a ratio on one machine.

The digits are single-stroke polylines of 0-9, each drawn several times with a seeded random
scale, shift and wobble, as mouse moves in small steps (so the server path sees one stroke per
digit, at the mouse-up). Needs Playwright for Python and Chromium (Debian: apt-get install chromium).
"""

from __future__ import annotations

import math
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from digitzoo.apps.bench import percentile
from digitzoo.hub.benchmarking import Machine, Result, serving

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
GOALS = {"inpage_p50_ms": 20, "inpage_p99_ms": 50, "server_p50_ms": 150, "hub_first_answer_ms": 1500,
         "static_first_answer_ms": 1300, "why_p50_ms": 60}
# The Draw page (apps/web/draw.js), the same in the hub and the static site: its root keeps its state in data-*.
ROOT = ".dz-draw"
PAD = f"{ROOT} .dz-pad"
PAD_SHOWN = f"() => (document.querySelector('{PAD}')?.getBoundingClientRect().width ?? 0) > 0"
NO_PAD_EVENT = "no such path since the pad is the page's own"

# One stroke per digit, in the pad's image (0..1 across, 0..1 down).
STROKES = {
    "0": [(0.5 + 0.22 * math.sin(math.tau * i / 16), 0.5 - 0.33 * math.cos(math.tau * i / 16)) for i in range(17)],
    "1": [(0.52, 0.15), (0.48, 0.85)],
    "2": [(0.28, 0.3), (0.35, 0.18), (0.5, 0.13), (0.65, 0.18), (0.7, 0.3), (0.65, 0.42), (0.3, 0.82), (0.75, 0.82)],
    "3": [(0.3, 0.18), (0.5, 0.12), (0.68, 0.2), (0.68, 0.35), (0.5, 0.47), (0.7, 0.58), (0.7, 0.75), (0.5, 0.85),
          (0.3, 0.8)],
    "4": [(0.6, 0.85), (0.6, 0.15), (0.25, 0.6), (0.78, 0.6)],
    "5": [(0.7, 0.15), (0.35, 0.15), (0.32, 0.45), (0.55, 0.42), (0.7, 0.55), (0.68, 0.75), (0.5, 0.85), (0.3, 0.8)],
    "6": [(0.65, 0.15), (0.45, 0.3), (0.33, 0.55), (0.35, 0.78), (0.5, 0.86), (0.65, 0.78), (0.66, 0.6), (0.5, 0.52),
          (0.35, 0.6)],
    "7": [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)],
    "8": [(0.62, 0.2), (0.5, 0.13), (0.36, 0.2), (0.38, 0.35), (0.62, 0.6), (0.64, 0.78), (0.5, 0.86), (0.36, 0.78),
          (0.38, 0.6), (0.62, 0.35), (0.63, 0.2)],
    "9": [(0.65, 0.3), (0.5, 0.18), (0.36, 0.28), (0.4, 0.45), (0.62, 0.42), (0.66, 0.3), (0.64, 0.6), (0.6, 0.85)],
}


def drawings(per_digit: int, seed: int = 0) -> list[tuple[str, list[tuple[float, float]]]]:
    """``per_digit`` variants of each digit: scaled, shifted and wobbled, in a shuffled order."""
    rng = random.Random(seed)
    out = []
    for digit, points in STROKES.items():
        for _ in range(per_digit):
            scale, dx, dy = rng.uniform(0.8, 1.1), rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)
            out.append((digit, [(0.5 + (x - 0.5) * scale + dx + rng.uniform(-0.01, 0.01),
                                 0.5 + (y - 0.5) * scale + dy + rng.uniform(-0.01, 0.01)) for x, y in points]))
    rng.shuffle(out)
    return out


def draw(page, selector: str, points, step_px: float = 24.0, release: bool = True) -> None:
    """Mouse down at the first point, moves every ``step_px`` through the rest, mouse up. The pad is a
    plain canvas shown square: its box is the drawing (points are fractions of it)."""
    box = page.locator(selector).bounding_box()
    at = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(at, at[1:]):
        steps = max(1, int(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 / step_px))
        for i in range(1, steps + 1):
            page.mouse.move(ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps)
    if release:
        page.mouse.up()


def _state(page) -> dict:
    """The Draw page's data-* (strings): path, shown, answers, lastUpMs, upAnswerMs, firstAnswerMs, readyMs."""
    return page.evaluate("(sel) => ({...(document.querySelector(sel)?.dataset ?? {})})", ROOT)


# The answer to the last mouse-up is shown: data-up-answer-ms is set again only by a reading begun after it.
ANSWERED = f"() => {{ const s = document.querySelector('{ROOT}').dataset; " \
           "return s.upAnswerMs !== undefined && Number(s.upAnswerMs) >= Number(s.lastUpMs); }"


def _clear(page, timeout: int) -> None:
    page.click(f"{ROOT} [data-do=clear]")
    page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.shown === ''", timeout=timeout)


def _row(page, digit: str) -> dict:
    state = _state(page)
    read = state["shown"]  # the left panel's headline: "7", or "not sure: looks most like 4"
    return {"digit": digit, "ms": float(state["upAnswerMs"]) - float(state["lastUpMs"]), "read": read, "right": read == digit}


def _inpage_digit(page, digit: str, points) -> dict:
    _clear(page, 10_000)
    before = int(_state(page)["answers"])
    maps_before = int(_state(page).get("whyCount", 0))
    draw(page, PAD, points)  # the mouse goes up right after the last move, as a hand lifts the pen
    page.wait_for_function(ANSWERED, timeout=10_000)
    answer = _row(page, digit)
    # "Why?" paints the picked pair's maps once the answer is on screen: data-why-ms is mouse-up -> maps painted.
    page.wait_for_function(f"() => Number(document.querySelector('{ROOT}').dataset.whyCount ?? 0) > {maps_before}",
                           timeout=30_000)
    state = _state(page)
    answered_while_drawing = int(state["answersAtUp"]) > before  # the page counts answers shown before the up
    return {**answer, "answered_while_drawing": answered_while_drawing,
            "change_ms": float(state["changeAnswerMs"]),  # the last point drawn -> its answer shown
            "why_ms": float(state["whyMs"]), "why_method": state.get("whyMethod")}


def _server_digit(page, digit: str, points) -> dict:
    """The page's server path (?inpage=0): the page sends its copy of the drawing at mouse-up."""
    _clear(page, 30_000)
    draw(page, PAD, points)
    page.wait_for_function(ANSWERED, timeout=60_000)
    return _row(page, digit)


def _summary(rows: list[dict]) -> dict:
    ms = [r["ms"] for r in rows]
    return {"n": len(rows), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms),
            "right": sum(r["right"] for r in rows), "rows": rows}


def _first_answer(browser, url: str) -> float:
    """ms from navigation start to the first answer, in a fresh context (nothing cached), drawing a 1
    as soon as the pad is there (the page mounts it once its models are open)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    # Checked every frame: wait_for_selector polls at widening intervals (up to 500 ms apart), which
    # added up to half a second of Playwright's own to the figure (pad on screen at 886 ms, seen at 1,413).
    page.wait_for_function(PAD_SHOWN, polling="raf", timeout=60_000)
    draw(page, PAD, [(0.5, 0.2), (0.5, 0.8)], step_px=16)
    page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.firstAnswerMs !== undefined", timeout=60_000)
    ms = float(_state(page)["firstAnswerMs"])
    context.close()
    return ms


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


@dataclass
class BrowserResult(Result):
    """`digitzoo bench browser`: per path (``inpage``, ``server``) n, p50_ms, p99_ms, max_ms, right and the
    rows; ``pad_event`` None (kept for the JSON's readers: no such path since the pad is the page's own);
    ``first_answer_ms`` per page; each goal of GOALS met or not (``checks``)."""

    drawings: int
    goals: dict
    machine: Machine
    chromium: str
    inpage: dict
    server: dict
    pad_event: dict | None
    first_answer_ms: dict[str, list[float]]
    checks: dict[str, bool]


def browser_bench(per_digit: int = 5, first_runs: int = 3, log: Callable[[str], None] = print) -> BrowserResult:
    from playwright.sync_api import sync_playwright

    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.serving.manifest import exports_root

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise RuntimeError("digitzoo bench browser needs Chromium (apt-get install chromium) and Playwright")
    hub = [sys.executable, "-m", "digitzoo.apps", "--port", "{port}", "--tab", "draw"]
    cases = drawings(per_digit)
    machine = Machine.now()
    paths: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="digitzoo-browser-bench-") as tmp, \
            serving(hub, what="digitzoo serve") as served, sync_playwright() as p:
        url = served.url
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        version = browser.version
        # The third pass is the in-page path in a browser without Web Workers: the "Why?" maps on the
        # page's own thread, for the comparison in the same run (what the workers gain).
        for key, path, query, run in (("inpage", "inpage", "", _inpage_digit), ("server", "server", "?inpage=0", _server_digit),
                                      ("inpage_no_workers", "inpage", "", _inpage_digit)):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            if key == "inpage_no_workers":
                context.add_init_script("window.Worker = undefined;")
            page = context.new_page()
            page.goto(url + query)
            page.wait_for_selector(PAD, timeout=60_000)
            page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.path === '{path}'", timeout=60_000)
            rows = []
            for i, (digit, points) in enumerate(cases):
                rows.append(run(page, digit, points))
                if (i + 1) % 10 == 0:
                    log(f"{key}: {i + 1}/{len(cases)} digits")
            paths[key] = _summary(rows)
            context.close()
        first = {"hub_inpage": [_first_answer(browser, url) for _ in range(first_runs)]}
        # The hub as `digitzoo serve` starts it, every tab (the goal is timed on the Draw tab alone):
        # Gradio builds a larger page before the pad mounts.
        with serving(hub[:-2], what="digitzoo serve (every tab)") as full:
            first["hub_all_tabs"] = [_first_answer(browser, full.url) for _ in range(first_runs)]
        site = build_site(Path(tmp) / "site", exports_root(), vendor=True)  # offline: onnxruntime-web from npm
        with serving([sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", str(site), "{port}"],
                     what="python -m http.server") as static:
            first["static_site"] = [_first_answer(browser, static.url) for _ in range(first_runs)]
        browser.close()
    why = [r["why_ms"] for r in paths["inpage"]["rows"]]
    paths["inpage"]["why"] = {"method": paths["inpage"]["rows"][0]["why_method"], "p50_ms": percentile(why, 50),
                              "p99_ms": percentile(why, 99), "max_ms": max(why)}
    alone = [r["why_ms"] for r in paths["inpage_no_workers"]["rows"]]
    paths["inpage"]["why_page_thread"] = {"p50_ms": percentile(alone, 50), "p99_ms": percentile(alone, 99), "max_ms": max(alone),
                                          "answer_p50_ms": paths["inpage_no_workers"]["p50_ms"]}
    checks = {
        "why_p50": paths["inpage"]["why"]["p50_ms"] <= GOALS["why_p50_ms"],
        "inpage_p50": paths["inpage"]["p50_ms"] <= GOALS["inpage_p50_ms"],
        "inpage_p99": paths["inpage"]["p99_ms"] <= GOALS["inpage_p99_ms"],
        "server_p50": paths["server"]["p50_ms"] <= GOALS["server_p50_ms"],
        "hub_first_answer": _median(first["hub_inpage"]) <= GOALS["hub_first_answer_ms"],
        "static_first_answer": _median(first["static_site"]) <= GOALS["static_first_answer_ms"],
    }
    return BrowserResult(len(cases), GOALS, machine, version, paths["inpage"], paths["server"], None, first, checks)


def report(result: BrowserResult) -> str:
    lines = [f"{result.drawings} digits drawn with the mouse in Chromium {result.chromium}; "
             "ms from the last mouse-up to the answer in the page:",
             f"{'path':>28s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} {'right':>8s}"]
    for row, name in ((result.inpage, "in your browser (wasm)"), (result.server, "server, asked by the page"),
                      (result.pad_event, "server, the pad's own event")):
        if row is None:
            lines.append(f"{name:>28s}: {NO_PAD_EVENT}")
            continue
        lines.append(f"{name:>28s} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['max_ms']:8.1f} {row['right']:4d}/{row['n']}")
    drawn = sum(r.get("answered_while_drawing", False) for r in result.inpage["rows"])
    lines.append(f"in-page answers shown before the mouse-up: {drawn}/{result.inpage['n']} digits")
    if why := result.inpage.get("why"):
        lines.append(f"\"Why?\" maps of the picked pair ({why['method']}), mouse-up -> painted: p50 {why['p50_ms']:.1f} ms, "
                     f"p99 {why['p99_ms']:.1f} ms, max {why['max_ms']:.1f} ms")
        if alone := result.inpage.get("why_page_thread"):
            lines.append(f"  the same without Web Workers (the page's own thread), same run: p50 {alone['p50_ms']:.1f} ms, "
                         f"p99 {alone['p99_ms']:.1f} ms (in-page answer p50 {alone['answer_p50_ms']:.1f} ms there)")
    change = [r["change_ms"] for r in result.inpage["rows"] if "change_ms" in r]
    if change:  # 0 ms after the up means the answer to the final drawing was on screen already: this is the read itself
        lines.append(f"in the page, the last point drawn -> its answer shown: p50 {percentile(change, 50):.1f} ms, "
                     f"p99 {percentile(change, 99):.1f} ms")
    for name, values in result.first_answer_ms.items():
        lines.append(f"first answer after navigation, {name}: " + ", ".join(f"{v:.0f}" for v in values) + " ms")
    lines.append("goals: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in result.checks.items()))
    lines.append(f"machine: {result.machine}")
    return "\n".join(lines)
