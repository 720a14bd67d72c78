"""`digitzoo bench hostile`: the hub under hostile load, measured against the goals of the
"Hardened" issue, on a real `digitzoo serve` in its own process (its memory read from /proc).

- a 13000x13000 1-bit PNG (~45 kB) through every pad path: the server's RSS growth and the answer;
- 40 large drawings at once to the page's route: how many were told "busy", RSS growth;
- /classify with 20,000 layers it never reads: seconds;
- 2,000 connections that never finish their headers: how long a normal request takes meanwhile,
  how long until the server closed them all, and how many log lines they caused;
- 75 Playground sessions at once (apps.playground_bench.measure_crowd): "busy" at once, no 503 for
  other tabs;
- 40 lesson exports from 4 threads at once: failures, folders left in TMPDIR.
Each figure is printed beside its goal.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from digitzoo.hub.benchmarking import Result, ServerMemory, serving

INPAGE = "/digitzoo/pages/ask/classify"
GOALS = {"bomb_rss_growth_mb": "< 100", "burst_busy": ">= 20 of 40", "burst_rss_growth_mb": "< 500",
         "half_open_normal_request_s": "< 1", "half_open_closed_within_s": "<= 30",
         "crowd_busy_within_s": "<= 2", "crowd_other_tab_503": "0", "export_failures": "0", "export_tmp_left": "0"}


@dataclass
class HostileResult(Result):
    """What `digitzoo bench hostile` measured; each figure has its goal in GOALS (in its JSON as ``goals``)."""

    bomb: dict[str, dict] = field(default_factory=dict)  # path -> answer, RSS growth
    layers: dict = field(default_factory=dict)
    burst: dict = field(default_factory=dict)
    burst_large: dict = field(default_factory=dict)
    half_open: dict = field(default_factory=dict)
    crowd: dict = field(default_factory=dict)
    exports: dict = field(default_factory=dict)
    log_lines: int = 0
    log_tracebacks: int = 0

    def to_json(self) -> dict:
        return {**super().to_json(), "goals": GOALS}


def _png(img) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _data_url(raw: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def _gradio_call(http, api: str, data: list) -> str:
    event_id = http.post(f"/gradio_api/call/{api}", json={"data": data}).json()["event_id"]
    with http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as stream:
        event = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("complete", "error"):
                return f"{event}: {line[6:][:120]}"
    return "no answer"


def measure_bombs(http, pid: int) -> dict[str, dict]:
    """The 13000x13000 PNG as the pad's composite (/encode, /classify, the page's private pad event),
    as a data URL and as an upload to /classify, and to the page's route."""
    from PIL import Image

    bomb = _png(Image.new("1", (13000, 13000), 1))
    uploaded = {"path": http.post("/gradio_api/upload", files={"files": ("pad.png", bomb, "image/png")}).json()[0],
                "meta": {"_type": "gradio.FileData"}}
    sketch = {"background": None, "layers": [uploaded, uploaded], "composite": uploaded}
    config = http.get("/config").json()
    (pad_event,) = [d["id"] for d in config["dependencies"] if d.get("api_name") == "classify_while_drawing"]

    def page_event():
        session = f"bench-{time.monotonic_ns()}"
        http.post("/gradio_api/queue/join", json={"data": [sketch, None, None, "two"], "fn_index": pad_event,
                                                  "session_hash": session, "event_data": None, "trigger_id": None})
        with http.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as stream:
            for line in stream.iter_lines():
                if '"process_completed"' in line:
                    return "refused" if '"success": false' in line or '"success":false' in line else "answered"
        return "no answer"

    paths = {"/encode pad value": lambda: _gradio_call(http, "encode", [sketch]),
             "/classify pad value": lambda: _gradio_call(http, "classify", [sketch]),
             "/classify data URL": lambda: _gradio_call(http, "classify", [{"url": _data_url(bomb)}]),
             "page's own pad event": page_event,
             "page route": lambda: http.post(INPAGE, json={"image": _data_url(bomb)}).text[:120]}
    result = {}
    for name, send in paths.items():
        with ServerMemory(pid) as memory:
            answer = send()
        result[name] = {"answer": answer, "rss_growth_mb": memory.growth_mb}
    return result


def measure_ignored_layers(http, layers: int = 20_000) -> dict:
    """/classify with a drawn composite and ``layers`` layers it never reads (13.6 s before)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(img).line([(140, 40), (140, 240)], fill="black", width=24)
    layer = {"url": _data_url(_png(Image.new("L", (8, 8))))}
    sketch = {"background": None, "layers": [layer] * layers, "composite": {"url": _data_url(_png(img))}}
    began = time.perf_counter()
    answer = _gradio_call(http, "classify", [sketch])
    return {"layers": layers, "seconds": round(time.perf_counter() - began, 3), "answer": answer[:60]}


async def _burst(url: str, body: bytes, n: int) -> list[int]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=n)) as client:
        answers = await asyncio.gather(*(client.post(INPAGE, content=body, headers={"content-type": "application/json"})
                                         for _ in range(n)), return_exceptions=True)
    return [a.status_code if not isinstance(a, Exception) else -1 for a in answers]


def measure_burst(url: str, pid: int, n: int = 40, body_mb: float | None = None) -> dict:
    """``n`` 4096x4096 drawings at once to the page's route; with ``body_mb``, bodies of that size
    instead (a PNG of noise, as large as the route takes: the memory case)."""
    import os

    from PIL import Image, ImageDraw

    if body_mb is None:
        img = Image.new("RGB", (4096, 4096), "white")
        ImageDraw.Draw(img).line([(2048, 600), (2048, 3500)], fill="black", width=300)
        raw = _png(img)
    else:
        raw = os.urandom(int(body_mb * 2**20 * 3 / 4))  # base64 makes it body_mb
    body = json.dumps({"image": _data_url(raw)}).encode()
    with ServerMemory(pid) as memory:
        began = time.perf_counter()
        statuses = asyncio.run(_burst(url, body, n))
        wall = time.perf_counter() - began
    return {"requests": n, "body_mb": round(len(body) / 2**20, 2), "busy_503": statuses.count(503),
            "answered_200": statuses.count(200), "other": len(statuses) - statuses.count(503) - statuses.count(200),
            "wall_s": round(wall, 2), "rss_growth_mb": memory.growth_mb}


def measure_half_open(port: int, http, n: int = 2000) -> dict:
    """``n`` connections that send part of a request head and then nothing."""
    sockets = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(s)
    began = time.perf_counter()
    status = http.get("/gradio_api/info").status_code
    normal_s = time.perf_counter() - began
    opened = time.perf_counter()
    still_open = set(range(n))
    busy = 0
    while still_open and time.perf_counter() - opened < 60:
        for i in list(still_open):
            s = sockets[i]
            s.setblocking(False)
            try:
                data = s.recv(4096)
                if data.startswith(b"HTTP/1.1 503"):
                    busy += 1
                if data == b"" or data.startswith(b"HTTP/1.1"):
                    still_open.discard(i)
            except BlockingIOError:
                pass
            except OSError:
                still_open.discard(i)
        time.sleep(0.05)
    closed_s = time.perf_counter() - opened
    for s in sockets:
        s.close()
    return {"connections": n, "normal_request_status": status, "normal_request_s": round(normal_s, 3),
            "over_the_cap_told_busy": busy, "all_closed_by_server_s": round(closed_s, 1) if not still_open else None,
            "still_open_after_60_s": len(still_open)}


def run(log=print) -> HostileResult:
    """Start `digitzoo serve` (draw, latent, playground tabs), measure, stop it."""
    import httpx

    from digitzoo.apps.playground import playground_ready

    tabs = ["--tab", "draw", "--tab", "latent"] + (["--tab", "playground"] if playground_ready() else [])
    log_path = Path(tempfile.gettempdir()) / f"digitzoo-hostile-{os.getpid()}.log"  # kept after the server stops: counted below
    result = HostileResult()
    with serving([sys.executable, "-m", "digitzoo.apps", "--port", "{port}", *tabs], log_path=log_path,
                 what="digitzoo serve") as server:
        url, port, pid = server.url.rstrip("/"), server.port, server.proc.pid
        with httpx.Client(base_url=url, timeout=300) as http:
            log("bench hostile: the 13000x13000 PNG through every pad path ...")
            result.bomb = measure_bombs(http, pid)
            result.layers = measure_ignored_layers(http)
            log("bench hostile: 40 large drawings at once to the page's route ...")
            result.burst = measure_burst(url, pid)
            log("bench hostile: 40 bodies of 12.6 MB at once to the page's route ...")
            result.burst_large = measure_burst(url, pid, body_mb=12.6)
            log("bench hostile: 2,000 half-open connections ...")
            result.half_open = measure_half_open(port, http)
        if playground_ready():
            from digitzoo.apps.playground_bench import measure_concurrent_exports, measure_crowd

            log("bench hostile: 75 Playground sessions at once ...")
            result.crowd = measure_crowd(url)
            log("bench hostile: 40 lesson exports from 4 threads ...")
            result.exports = measure_concurrent_exports()
    text = log_path.read_text(errors="replace")
    result.log_lines, result.log_tracebacks = text.count("\n"), text.count("Traceback")
    log_path.unlink(missing_ok=True)
    return result


def report(result: HostileResult) -> str:
    """The figures beside the goals, one line each."""
    lines = ["digitzoo bench hostile (a real `digitzoo serve`; goals from the Hardened issue)", ""]
    lines.append("13000x13000 1-bit PNG (45 kB), server RSS growth (goal < 100 MB) and the answer:")
    for name, figures in result.bomb.items():
        lines.append(f"  {name:24s} {figures['rss_growth_mb']:8.1f} MB   {figures['answer']}")
    layers = result.layers
    lines.append(f"  /classify with {layers['layers']:,} layers it does not read: {layers['seconds']} s ({layers['answer']})")
    lines.append("")
    for b in (result.burst, result.burst_large):
        lines.append(f"{b['requests']} bodies of {b['body_mb']} MB at once to the page's route: {b['busy_503']} told busy "
                     f"(goal >= 20), {b['answered_200']} answered, {b['other']} other (a 400 for a body that is no picture), "
                     f"in {b['wall_s']} s; RSS growth {b['rss_growth_mb']} MB (goal < 500)")
    h = result.half_open
    closed = f"closed by the server within {h['all_closed_by_server_s']} s" if h["all_closed_by_server_s"] is not None \
        else f"{h['still_open_after_60_s']} still open after 60 s"
    lines.append(f"{h['connections']} half-open connections: a normal request answered {h['normal_request_status']} in "
                 f"{h['normal_request_s']} s (goal < 1 s); {closed} (goal <= 30 s); {h['over_the_cap_told_busy']} "
                 "over the connection cap told busy at once")
    c = result.crowd
    if c:
        lines.append(f"{c['sessions']} Playground Starts at once ({c['lesson']}): {c['admitted']} admitted, {c['busy']} told busy "
                     f"in {c['busy_answer_median_s']} s median / {c['busy_answer_max_s']} s max (goal <= 2 s), {c['silent']} silent, "
                     f"{c['errors']} errors; other tab meanwhile: {c['other_tab']['calls']} calls, {c['other_tab']['http_503']} x 503 "
                     f"(goal 0), {c['other_tab']['errors']} errors")
    e = result.exports
    if e:
        lines.append(f"{e['exports']} lesson exports from {e['threads']} threads: {e['failures']} failed (goal 0), "
                     f"{e['tmp_folders_left']} folders left in TMPDIR (goal 0), in {e['seconds']} s")
    lines.append(f"Server log: {result.log_lines} lines, {result.log_tracebacks} tracebacks")
    return "\n".join(lines)
