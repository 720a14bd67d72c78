"""`digitzoo bench playground`: how fast each lesson reaches its result, how often the page is
redrawn while it trains, and what a crowd of learners meets on a real server.

1. Headless, one thread per lesson (the Playground's setting): seconds to the lesson's result.
2. A real `digitzoo serve --tab playground`, one learner at a time over Gradio's own client:
   updates per second during the first seconds of each lesson's stream.
3. ``learners`` visitors press Start at once (each its own Gradio session): every one must end
   with an answer, either a finished run or "busy"; none lost, none hung. Twice, with the
   server's memory before, between and after: runs served must not leave memory behind.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time

import httpx

from digitzoo.apps.bench import free_port, machine, rss_mb


def _serve_playground() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "digitzoo.apps", "--port", str(port), "--tab", "playground"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    began = time.perf_counter()
    while True:
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None or time.perf_counter() - began > 120:
                proc.kill()
                raise RuntimeError("digitzoo serve --tab playground did not start") from None
            time.sleep(0.1)


def _defaults(name: str) -> list:
    from digitzoo.hub.lessons.lesson import get_lesson

    return [0, *[k.default for k in get_lesson(name).knobs]]


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
            outcomes[i] = ("busy" if status.startswith(("**Busy", "**Still busy")) else
                           "served" if status.startswith(("**Reached", "**Done", "**Out of time")) else f"other: {status[:60]}")
        except Exception as exc:  # noqa: BLE001 - any failure is what this check counts
            outcomes[i] = f"error: {type(exc).__name__}: {str(exc)[:80]}"
        waits[i] = time.perf_counter() - began

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    lost = sum(1 for t in threads if t.is_alive()) + sum(1 for o in outcomes if not o or o.startswith(("error", "other")))
    return {"lesson": name, "learners": learners, "served": outcomes.count("served"), "busy": outcomes.count("busy"),
            "lost": lost, "outcomes": outcomes, "slowest_answer_s": max(waits)}


def playground(learners: int = 8, stream_seconds: float = 5.0, names: list[str] | None = None, log=print) -> dict:
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
    proc, url = _serve_playground()
    try:
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
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rates = [v["updates_per_s"] for v in lessons.values() if v["updates_per_s"]]
    return {"lessons": lessons, "median_updates_per_s": statistics.median(rates) if rates else None,
            "crowd": rush, "second_crowd": again,
            "server_memory_mb": {"before": memory_before, "after": memory_after, "after_second_crowd": memory_again},
            "machine": machine()}
