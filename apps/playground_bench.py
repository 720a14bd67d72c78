"""`digitzoo bench playground`: how fast each lesson reaches its result, how often the page is
redrawn while it trains, and what a crowd of learners meets on a real server.

1. Headless, one thread per lesson (the Playground's setting): seconds to the lesson's result.
2. A real `digitzoo serve --tab playground`, one learner at a time over Gradio's own client:
   updates per second during the first seconds of each lesson's stream.
3. ``learners`` visitors press Start at once (each its own Gradio session): every one must end
   with an answer, either a finished run or "busy"; none lost, none hung. Twice, with the
   server's memory before, between and after: runs served must not leave memory behind.
``playground`` returns a ``PlaygroundResult`` (``--json`` prints its ``to_json()``); ``report`` prints it.

For `digitzoo bench hostile`: ``measure_crowd`` (a crowd of learners against a running hub while
another tab is in use: who is told "busy", how fast, and whether the other tab is refused) and
``measure_concurrent_exports`` (lesson nets exported to ONNX from several threads at once).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from digitzoo.apps.bench import rss_mb
from digitzoo.hub.benchmarking import Machine, Result, serving


def _defaults(name: str) -> list:
    from digitzoo.hub.lessons.lesson import get_lesson

    cls = get_lesson(name)
    return [0, *[k.default for k in cls.knobs], cls.steps_by_default()]  # the Start's inputs: seed, knobs, steps


def stream_rate(url: str, name: str, seconds: float = 5.0) -> dict:
    """Updates per second a page gets during the first ``seconds`` of a lesson's stream.

    Read off Gradio's event stream (``/gradio_api/call/...``) as they arrive: each
    ``event: generating`` is one redrawn picture.
    """
    session = f"bench-{name}-{time.monotonic_ns()}"
    with httpx.Client(base_url=url, timeout=30) as http:
        event = http.post(f"gradio_api/call/lesson_{name}", json={"data": _defaults(name), "session_hash": session})
        event.raise_for_status()
        began = time.perf_counter()
        times = []
        with http.stream("GET", f"gradio_api/call/lesson_{name}/{event.json()['event_id']}") as events:
            for line in events.iter_lines():
                if line.startswith("event: generating"):
                    times.append(time.perf_counter() - began)
                if line.startswith("event: complete") or (times and times[-1] > seconds):
                    break
        http.post(f"gradio_api/call/lesson_{name}_stop", json={"data": [], "session_hash": session})
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"updates": len(times), "first_update_s": times[0] if times else None,
            "updates_per_s": (len(times) - 1) / span if span else 0.0}


def crowd(url: str, name: str, learners: int) -> dict:
    """``learners`` press Start at once; each ends with a finished run or a "busy" answer."""
    from gradio_client import Client

    outcomes: list[str] = [""] * learners
    waits: list[float] = [0.0] * learners

    def learner(i: int) -> None:
        began = time.perf_counter()
        try:
            client = Client(url, verbose=False)
            last = client.predict(*_defaults(name), api_name=f"/lesson_{name}")
            status = last[1] if isinstance(last, (list, tuple)) else str(last)
            outcomes[i] = ("busy" if _refused(status) else
                           "served" if status.startswith(("**Reached", "**Done", "**Out of time")) else f"other: {status[:60]}")
        except Exception as exc:  # noqa: BLE001 - any failure is what this check counts
            outcomes[i] = "busy" if _refused(exc) else f"error: {type(exc).__name__}: {str(exc)[:80]}"
        waits[i] = time.perf_counter() - began

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    lost = sum(1 for t in threads if t.is_alive()) + sum(1 for o in outcomes if not o or o.startswith(("error", "other")))
    return {"lesson": name, "learners": learners, "served": outcomes.count("served"), "busy": outcomes.count("busy"),
            "lost": lost, "outcomes": outcomes, "slowest_answer_s": max(waits)}


@dataclass
class PlaygroundResult(Result):
    """`digitzoo bench playground`: per lesson (``lessons``) whether and when it reached its result headless
    and its updates/s over Gradio; their median; the two crowds of learners (``crowd``, ``second_crowd``);
    the server's memory (``rss_mb``, ``peak_rss_mb``) before, after the crowd and after the second; the machine."""

    lessons: dict[str, dict]
    median_updates_per_s: float | None
    crowd: dict
    second_crowd: dict
    server_memory_mb: dict[str, dict]
    machine: Machine


def playground(learners: int = 8, stream_seconds: float = 5.0, names: list[str] | None = None,
               log=print) -> PlaygroundResult:
    import torch

    from digitzoo.hub.lessons.lesson import list_lessons
    from digitzoo.hub.lessons.run import run_headless

    names = names or list_lessons()
    torch.set_num_threads(1)
    lessons = {}
    for name in names:
        summary = run_headless(name, seed=0)
        lessons[name] = {"reached": summary["reached"], "seconds_to_result": summary["reached_at_s"],
                         "steps_to_result": summary["reached_at_step"]}
        log(f"{name}: result after {summary['reached_at_s']} s ({summary['reached_at_step']} steps)")
    with serving([sys.executable, "-m", "digitzoo.apps", "--port", "{port}", "--tab=playground"],
                 what="digitzoo serve --tab playground") as server:
        proc, url = server.proc, server.url
        for name in names:
            lessons[name].update(stream_rate(url, name, stream_seconds))
            log(f"{name}: {lessons[name]['updates_per_s']:.1f} updates/s over Gradio")
        memory_before = rss_mb(proc.pid)
        quick = min(names, key=lambda n: lessons[n]["seconds_to_result"] or float("inf"))
        rush = crowd(url, quick, learners)
        log(f"{learners} learners at once on {quick}: {rush['served']} served, {rush['busy']} busy, {rush['lost']} lost")
        memory_after = rss_mb(proc.pid)
        # A second crowd: memory that grew with the runs served would grow again here.
        again = crowd(url, quick, learners)
        memory_again = rss_mb(proc.pid)
    rates = [v["updates_per_s"] for v in lessons.values() if v["updates_per_s"]]
    return PlaygroundResult(lessons, statistics.median(rates) if rates else None, rush, again,
                            {"before": memory_before, "after": memory_after, "after_second_crowd": memory_again},
                            Machine.now(threads=1))


def report(result: PlaygroundResult) -> str:
    """Per lesson: seconds and steps to its result, updates/s, first update; the crowds; server memory."""
    lines = [f"{'lesson':22s} {'result after s':>15s} {'steps':>7s} {'updates/s':>10s} {'first update s':>15s}"]
    for name, row in result.lessons.items():
        after = f"{row['seconds_to_result']:.2f}" if row["reached"] else "not reached"
        lines.append(f"{name:22s} {after:>15s} {row['steps_to_result'] or '-':>7} {row['updates_per_s']:10.1f} "
                     f"{row['first_update_s'] or float('nan'):15.2f}")
    rush, mem, again, m = result.crowd, result.server_memory_mb, result.second_crowd, result.machine
    lines.append(f"{rush['learners']} learners at once ({rush['lesson']}): {rush['served']} served, {rush['busy']} told busy, "
                 f"{rush['lost']} lost; slowest answer {rush['slowest_answer_s']:.1f} s")
    lines += [f"  lost: {outcome}" for outcome in {o for o in rush["outcomes"] if o not in ("served", "busy")}]
    lines.append(f"the same crowd again: {again['served']} served, {again['busy']} told busy, {again['lost']} lost")
    lines.append(f"server memory: {mem['before']['rss_mb']:.0f} MB before, {mem['after']['rss_mb']:.0f} MB after the crowd, "
                 f"{mem['after_second_crowd']['rss_mb']:.0f} MB after the second; machine: {m.cpus} cores, "
                 f"load average {' '.join(f'{x:.2f}' for x in m.loadavg)}")
    return "\n".join(lines)


def _refused(answer: str | Exception) -> bool:
    """Whether a Start's answer (its status line, or what gradio_client raised) says "busy"."""
    if isinstance(answer, Exception):  # refused before Gradio saw it (apps.playground_gate: HTTP 429, the
        # sentence as its detail, which gradio_client does not show: it raises httpx's status error)
        return isinstance(answer, httpx.HTTPStatusError) and answer.response.status_code == 429
    return answer.startswith(("**Busy", "**Still busy")) and "ahead of you" not in answer


def _call_other_tab(url: str, until: threading.Event, at_least: int, tally: dict[str, int]) -> None:
    """/decode (0, 0, 0), the latent tab's endpoint, back to back, over Gradio's HTTP API."""
    with httpx.Client(base_url=url, timeout=60) as http:
        while not until.is_set() or tally["calls"] < at_least:
            tally["calls"] += 1
            try:
                joined = http.post("gradio_api/call/decode", json={"data": [0, 0, 0]})
                if joined.status_code == 503:
                    tally["http_503"] += 1
                    continue
                joined.raise_for_status()
                if "event: complete" not in http.get(f"gradio_api/call/decode/{joined.json()['event_id']}").text:
                    tally["errors"] += 1
            except httpx.HTTPError:
                tally["errors"] += 1


def measure_crowd(url: str, sessions: int = 75, lesson: str = "dqn_cartpole", other_calls: int = 200,
                  other_callers: int = 4, patience_s: float = 120.0) -> dict:
    """``sessions`` learners press Start on ``lesson`` at once on the hub at ``url`` (it must serve the
    playground and latent tabs), each as a browser does it: one ``POST /gradio_api/queue/join`` with a
    session of its own, all in flight together (asyncio, one connection each, so no client-side
    thread or GIL sits between them). Meanwhile ``other_callers`` threads call /decode back to back,
    at least ``other_calls`` times and until every learner has an answer.

    A learner is "admitted" when Gradio queued its Start (it trains or waits in line, told so on its
    stream), "busy" when told so (HTTP 429 with the sentence), "silent" when told nothing within
    ``patience_s``; anything else is an error. The seconds are from sending to the answer.
    """
    import asyncio

    config = httpx.get(url.rstrip("/") + "/config", timeout=60).json()
    (fn_index,) = [d["id"] for d in config["dependencies"] if d.get("api_name") == f"lesson_{lesson}"]
    data = _defaults(lesson)
    run_id = time.monotonic_ns()

    async def learner(http: httpx.AsyncClient, i: int) -> tuple[str, float]:
        began = time.perf_counter()
        try:
            answer = await http.post("gradio_api/queue/join", json={
                "data": data, "fn_index": fn_index, "session_hash": f"crowd-{run_id}-{i}", "event_data": None, "trigger_id": None})
        except httpx.TimeoutException:
            return "silent", patience_s
        waited = time.perf_counter() - began
        if answer.status_code == 200:
            return "admitted", waited
        if answer.status_code == 429 and answer.json().get("detail", "").startswith("Busy"):
            return "busy", waited
        return f"error: HTTP {answer.status_code} {answer.text[:120]}", waited

    async def crowd() -> list[tuple[str, float]]:
        limits = httpx.Limits(max_connections=sessions)
        async with httpx.AsyncClient(base_url=url, timeout=patience_s, limits=limits) as http:
            return await asyncio.gather(*(learner(http, i) for i in range(sessions)))

    crowd_answered = threading.Event()
    tallies = [{"calls": 0, "http_503": 0, "errors": 0} for _ in range(other_callers)]  # one per thread: no shared counter
    callers = [threading.Thread(target=_call_other_tab, args=(url, crowd_answered, -(-other_calls // other_callers), tally))
               for tally in tallies]
    for thread in callers:
        thread.start()
    answers = asyncio.run(crowd())
    crowd_answered.set()
    for thread in callers:
        thread.join()
    busy_s = sorted(seconds for kind, seconds in answers if kind == "busy")
    kinds = [kind for kind, _ in answers]
    return {"lesson": lesson, "sessions": sessions, "admitted": kinds.count("admitted"), "busy": kinds.count("busy"),
            "silent": kinds.count("silent"), "errors": sum(kind.startswith("error") for kind in kinds),
            "first_error": next((kind for kind in kinds if kind.startswith("error")), None),
            "busy_answer_max_s": round(busy_s[-1], 3) if busy_s else None,
            "busy_answer_median_s": round(statistics.median(busy_s), 3) if busy_s else None,
            "other_tab": {key: sum(tally[key] for tally in tallies) for key in tallies[0]}}


def measure_concurrent_exports(n: int = 40, threads: int = 4, lesson: str = "regression", steps: int = 20) -> dict:
    """``n`` nets of ``lesson`` (each trained ``steps`` steps, as a run ends in the Playground) exported
    for download from ``threads`` threads at once: failures, and download folders left in TMPDIR."""
    import torch

    from digitzoo.apps.playground import onnx_download
    from digitzoo.hub.lessons.lesson import get_lesson

    torch.set_num_threads(1)
    nets = [get_lesson(lesson)(seed=i) for i in range(n)]
    for net in nets:
        for _ in range(steps):
            net.step()
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("digitzoo-lesson-*"))
    stdout = sys.stdout
    failures: list[str] = []

    def export(net) -> None:
        try:
            with onnx_download(net) as path:
                path.stat()
        except Exception as exc:  # noqa: BLE001 - every failure is what this check counts
            failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(export, nets))
    return {"lesson": lesson, "exports": n, "threads": threads, "failures": len(failures), "first_failure": next(iter(failures), None),
            "tmp_folders_left": len(set(tmp.glob("digitzoo-lesson-*")) - before), "stdout_redirected": sys.stdout is not stdout,
            "seconds": round(time.perf_counter() - began, 2)}
