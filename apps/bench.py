"""`digitzoo bench serve`: end-to-end /classify latency over HTTP next to model-only latency.

Starts a real `digitzoo serve` in a subprocess (its start-up time is measured too) and sends an
800x800 sketch (PNG) the way any HTTP client can, with Gradio's documented API: join the queue
with the image inline as a data: URL (`POST /gradio_api/call/classify`) and read the answer
from the event stream (`GET /gradio_api/call/classify/{event_id}`). A second row uploads the
PNG first (`POST /gradio_api/upload`), as gradio_client does. The same decoding, preprocessing
and both models are then timed in-process. Figures are medians/p99 of many requests.

The Python `gradio_client` library adds 150-190 ms of its own per call on this machine, so it
is timed separately, as its own row, and not used for the HTTP figures.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from digitzoo.hub.benchmarking import Machine, Result, Server, free_port, serving  # noqa: F401 (free_port: the
# tests and apps.hostile_bench import it from here)

API = "/gradio_api"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def sketch_png() -> bytes:
    """An 800x800 seven, drawn like a browser canvas sends it (PNG, black on white)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 800), "white")
    ImageDraw.Draw(img).line([(240, 200), (560, 200), (360, 640)], fill="black", width=36, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def inline_image(png: bytes) -> dict:
    """A Gradio file payload carrying the PNG itself, as a data: URL (no upload round trip)."""
    return {"url": "data:image/png;base64," + base64.b64encode(png).decode(), "meta": {"_type": "gradio.FileData"}}


class ClassifyClient:
    """One HTTP client (one connection) calling /classify the way Gradio documents for curl."""

    def __init__(self, url: str, timeout: float = 60.0, reuse_session: bool = True):
        import secrets

        import httpx

        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        # One session per client, as a browser tab or gradio_client has. Without one every call
        # is a new Gradio session, whose set-up costs the server ~10 ms here (measured as a row).
        self.session = {"session_hash": secrets.token_hex(8)} if reuse_session else {}

    def close(self) -> None:
        self.http.close()

    def classify(self, png: bytes, inline: bool = True) -> list:
        """(Upload,) queue, wait: the outputs of /classify, or RuntimeError with the server's message.

        ``inline`` sends the PNG in the request as a data: URL; otherwise it is uploaded first.
        """
        if inline:
            image = inline_image(png)
        else:
            up = self.http.post(f"{self.url}{API}/upload", files={"files": ("sketch.png", png, "image/png")})
            if up.status_code != 200:
                raise RuntimeError(f"upload: HTTP {up.status_code} {up.text[:120]}")
            image = {"path": up.json()[0], "meta": {"_type": "gradio.FileData"}}
        call = self.http.post(f"{self.url}{API}/call/classify", json={"data": [image], **self.session})
        if call.status_code != 200:
            raise RuntimeError(f"queue: HTTP {call.status_code} {call.text[:120]}")
        event_id = call.json()["event_id"]
        event = None
        with self.http.stream("GET", f"{self.url}{API}/call/classify/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line.split(":", 1)[1].strip()
                    if event == "error":
                        raise RuntimeError(f"server: {data[:160]}")
                    return json.loads(data)
        raise RuntimeError("the event stream ended without an answer")


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    wall_s: float = 0.0

    def row(self) -> dict:
        done = len(self.latencies_ms)
        return {"p50_ms": percentile(self.latencies_ms, 50), "p99_ms": percentile(self.latencies_ms, 99),
                "requests": done, "errors": sum(self.errors.values()),
                "requests_per_s": done / self.wall_s if self.wall_s else float("nan"),
                "error_kinds": dict(self.errors.most_common(3))}


def load(url: str, png: bytes, clients: int, requests_per_client: int | None = None,
         duration_s: float | None = None, expect: str | None = None, inline: bool = True,
         reuse_session: bool = True) -> LoadResult:
    """``clients`` threads, each with its own connection, after one warm-up call each.

    Runs ``requests_per_client`` calls per client, or as many as fit in ``duration_s``. An answer
    whose CNN label is not ``expect`` counts as an error.
    """
    result = LoadResult()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker():
        client = ClassifyClient(url, reuse_session=reuse_session)
        try:
            client.classify(png, inline)  # warm-up: connection, first-call costs
        except Exception as exc:  # noqa: BLE001 - reported as an error kind, the run goes on
            with lock:
                result.errors[f"warm-up: {str(exc)[:80]}"] += 1
        start.wait()
        deadline = time.perf_counter() + duration_s if duration_s else None
        done = 0
        while (deadline and time.perf_counter() < deadline) or (not deadline and done < requests_per_client):
            began = time.perf_counter()
            try:
                outputs = client.classify(png, inline)
                if expect is not None and outputs[0].get("label") != expect:
                    raise RuntimeError(f"wrong answer {outputs[0].get('label')!r}")
                with lock:
                    result.latencies_ms.append((time.perf_counter() - began) * 1000)
            except Exception as exc:  # noqa: BLE001 - counted: the error count is a figure
                with lock:
                    result.errors[str(exc)[:80]] += 1
            done += 1
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    result.wall_s = time.perf_counter() - began
    return result


@contextlib.contextmanager
def hub_server(png: bytes, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[Server, dict]]:
    """A real `digitzoo serve`; yields it with the seconds until its page and its first /classify answered."""
    import httpx

    with serving([sys.executable, "-m", "digitzoo.apps", "--port", "{port}", *extra_args], what="digitzoo serve") as server:
        while True:
            try:
                client = ClassifyClient(server.url)
                client.classify(png)
                client.close()
                break
            except (httpx.HTTPError, RuntimeError, OSError):
                if server.proc.poll() is not None or time.perf_counter() - server.started > 120:
                    raise RuntimeError(f"digitzoo serve did not answer /classify: {server.log_text()[-2000:]}") from None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.proc.wait(timeout=0.02)
        yield server, {"page_s": server.answered_s, "first_classify_s": time.perf_counter() - server.started}


def rss_mb(pid: int) -> dict[str, float]:
    """Current and peak resident memory of a process, from /proc (Linux)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return {"rss_mb": fields.get("VmRSS", float("nan")), "peak_rss_mb": fields.get("VmHWM", float("nan"))}


ECHO_APP = """
import sys
import digitzoo.apps  # the same Gradio start-up as the hub
import gradio as gr
with gr.Blocks() as app:
    text, out = gr.Textbox(), gr.Textbox()
    gr.Button().click(lambda s: s, text, out, api_name="echo")
app.queue(max_size=64, default_concurrency_limit=4)
app.launch(server_port=int(sys.argv[1]), quiet=True)
"""


def protocol_floor(requests: int = 100) -> float:
    """p50 of an endpoint that does nothing (returns its text) over the same queue protocol."""
    import httpx

    with serving([sys.executable, "-c", ECHO_APP, "{port}"], what="the echo app") as server, \
            httpx.Client(base_url=server.url.rstrip("/") + API, timeout=60) as http:
        times = []
        for i in range(requests + 10):
            began = time.perf_counter()
            event_id = http.post("/call/echo", json={"data": ["hi"]}).json()["event_id"]
            http.get(f"/call/echo/{event_id}").read()
            if i >= 10:
                times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def gradio_client_latency(url: str, png: bytes, requests: int) -> float:
    """p50 of the same call through the gradio_client library (for comparison only)."""
    import tempfile

    from gradio_client import Client, handle_file

    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png)
        f.flush()
        client = Client(url, verbose=False)
        payload = handle_file(f.name)
        client.predict(payload, api_name="/classify")
        times = []
        for _ in range(requests):
            began = time.perf_counter()
            client.predict(payload, api_name="/classify")
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def model_only(png: bytes, repeats: int = 200) -> dict[str, float]:
    """Preprocessing + the draw tab's classifiers (CNN + LSTM) in-process, one thread each as
    served: the floor under HTTP."""
    from PIL import Image

    from digitzoo.hub.serving.manifest import demo_models, part_with_role, read_manifest
    from digitzoo.hub.serving.runtime import load_part
    from digitzoo.hub.serving.sketch import preprocess

    manifest = read_manifest()
    readers = [load_part(m, part_with_role(manifest, m, "classifier"), threads=1) for m in demo_models(manifest, "draw")]
    decode, pre, models = [], [], []
    for _ in range(repeats):
        began = time.perf_counter()
        image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        decoded = time.perf_counter()
        x = preprocess(image)[None, None]
        mid = time.perf_counter()
        for reader in readers:
            reader(x)
        decode.append((decoded - began) * 1000)
        pre.append((mid - decoded) * 1000)
        models.append((time.perf_counter() - mid) * 1000)
    return {"png_decode_ms_p50": statistics.median(decode), "preprocess_ms_p50": statistics.median(pre),
            "models_ms_p50": statistics.median(models)}


@dataclass
class ServeResult(Result):
    """`digitzoo bench serve`: /classify over HTTP (rows keyed by the number of clients), start-up, memory."""

    startup: dict
    classify: dict[int, dict]
    classify_uploaded_1_client: dict
    classify_new_session_each_call_1_client: dict
    model_only: dict
    gradio_client_p50_ms: float | None
    echo_endpoint_p50_ms: float
    ratio_http_p50_to_model_only: float
    server_memory: dict
    machine: Machine


def serve_latency(requests: int = 200, clients: tuple[int, ...] = (1, 8), compare_client: bool = True) -> ServeResult:
    png = sketch_png()
    with hub_server(png) as (server, startup):
        url = server.url.rstrip("/")
        rows = {}
        for n in clients:
            rows[n] = load(url, png, n, requests_per_client=max(10, requests // n), expect="7").row()
        uploaded = load(url, png, 1, requests_per_client=max(10, requests // 2), expect="7", inline=False).row()
        sessionless = load(url, png, 1, requests_per_client=max(10, requests // 2), expect="7", reuse_session=False).row()
        library_p50 = gradio_client_latency(url, png, 30) if compare_client else None
        memory = rss_mb(server.proc.pid)
    local = model_only(png)
    floor = protocol_floor()
    in_process = local["png_decode_ms_p50"] + local["preprocess_ms_p50"] + local["models_ms_p50"]
    return ServeResult(startup, rows, uploaded, sessionless, local, library_p50, floor,
                       rows[clients[0]]["p50_ms"] / in_process, memory, Machine.now())


def report_serve(result: ServeResult) -> str:
    start, row_format = result.startup, "{:>8s} {:8.1f} {:8.1f} {:7.1f} {:9d} {:7d}"
    lines = [f"digitzoo serve: page after {start['page_s']:.2f} s, first /classify answer after {start['first_classify_s']:.2f} s",
             f"{'clients':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>7s} {'requests':>9s} {'errors':>7s}"]
    rows = [(str(n), row, f"  {row['error_kinds']}" if row["errors"] else "") for n, row in result.classify.items()]
    rows += [("1, upload", result.classify_uploaded_1_client, "  (PNG uploaded first instead of inline)"),
             ("1, new", result.classify_new_session_each_call_1_client, "  (no session_hash: a new Gradio session per call)")]
    for name, row, note in rows:
        lines.append(row_format.format(name, row["p50_ms"], row["p99_ms"], row["requests_per_s"], row["requests"],
                                       row["errors"]) + note)
    local = result.model_only
    lines += [f"in-process: PNG decode {local['png_decode_ms_p50']:.1f} ms + preprocess {local['preprocess_ms_p50']:.1f} ms"
              f" + CNN+LSTM {local['models_ms_p50']:.1f} ms (p50); HTTP p50 / in-process = {result.ratio_http_p50_to_model_only:.1f}x",
              f"Gradio's own floor: an endpoint that only echoes its text answers in p50 {result.echo_endpoint_p50_ms:.1f} ms"
              " over the same protocol"]
    if result.gradio_client_p50_ms is not None:
        lines.append(f"the same call through the gradio_client library: p50 {result.gradio_client_p50_ms:.1f} ms (1 client)")
    mem = result.server_memory
    lines.append(f"server memory: {mem['rss_mb']:.0f} MB resident, peak {mem['peak_rss_mb']:.0f} MB; machine: {result.machine}")
    return "\n".join(lines)


def overload(url: str, png: bytes, burst: int = 200) -> dict:
    """``burst`` clients join the queue at the same moment, more than it holds.

    Those past the limit must get a fast "busy" answer (HTTP 503 from the join), the others
    their result; afterwards the server must still answer.

    The clients are one asyncio loop writing prepared requests on connections opened before the
    start: what is timed is the server's answer, not the bench's own HTTP library. (Real visitors
    are on other machines; 200 httpx threads here took as much CPU as the server and made the
    figure swing between 0.3 and 1.1 s with the machine's load.)
    """
    import asyncio
    from urllib.parse import urlsplit

    import httpx

    where = urlsplit(url)
    body = json.dumps({"data": [inline_image(png)]}).encode()
    request = (f"POST {where.path.rstrip('/')}{API}/call/classify HTTP/1.1\r\nHost: {where.netloc}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
               ).encode() + body

    async def join(reader, writer, go: asyncio.Event) -> tuple[int, float, bytes]:
        await go.wait()
        began = time.perf_counter()
        writer.write(request)
        await writer.drain()
        answer = await reader.read()  # Connection: close: the whole answer, then EOF
        ms = (time.perf_counter() - began) * 1000
        writer.close()
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
        return status, ms, answer.partition(b"\r\n\r\n")[2]

    async def burst_at_once() -> list[tuple[str, float]]:
        connections = [await asyncio.open_connection(where.hostname, where.port) for _ in range(burst)]
        go = asyncio.Event()
        joins = [asyncio.create_task(join(reader, writer, go)) for reader, writer in connections]
        await asyncio.sleep(0.2)  # every task waits on the event before the start
        go.set()
        results = await asyncio.gather(*joins)
        outcomes = []
        async with httpx.AsyncClient(timeout=120) as http:
            async def result(status: int, ms: float, payload: bytes) -> tuple[str, float]:
                if status == 503:
                    return "busy", ms
                if status != 200:
                    return f"http {status}", ms
                event_id = json.loads(payload[payload.index(b"{"):payload.rindex(b"}") + 1])["event_id"]
                stream = await http.get(f"{url}{API}/call/classify/{event_id}")
                return ("answered" if "event: complete" in stream.text else "error"), ms

            outcomes = await asyncio.gather(*(result(*r) for r in results))
        return list(outcomes)

    outcomes = asyncio.run(burst_at_once())
    after = ClassifyClient(url)
    still_up = after.classify(png)[0]["label"] == "7"
    after.close()
    kinds = Counter(kind for kind, _ in outcomes)
    busy_ms = [ms for kind, ms in outcomes if kind == "busy"]
    return {"burst": burst, "outcomes": dict(kinds), "busy_p50_ms": percentile(busy_ms, 50),
            "busy_p99_ms": percentile(busy_ms, 99), "server_answers_afterwards": still_up}


@dataclass
class ReliabilityResult(Result):
    """`digitzoo bench serve-reliability`: load, overload and memory figures, each check and whether all passed."""

    startup: dict
    load: dict
    overload: dict
    memory: dict
    checks: dict[str, bool]
    passed: bool
    machine: Machine


def reliability(seconds: float = 60, clients: int = 32, memory_requests: int = 10000, burst: int = 200,
                log=print) -> ReliabilityResult:
    """The serving checks of the reliability issue against a real `digitzoo serve`:

    load (``clients`` clients for ``seconds``: zero failures), overload (a burst past the queue
    limit is answered "busy", fast, and the server stays up) and memory (``memory_requests``
    requests after a warm-up grow the server's resident memory by less than 50 MB).
    """
    png = sketch_png()
    with hub_server(png) as (server, startup):
        url, pid = server.url.rstrip("/"), server.proc.pid
        log(f"load: {clients} clients for {seconds:.0f} s")
        loaded = load(url, png, clients, duration_s=seconds, expect="7").row()
        log(f"  {loaded['requests']} requests, {loaded['errors']} errors, p50 {loaded['p50_ms']:.0f} ms, "
            f"p99 {loaded['p99_ms']:.0f} ms, {loaded['requests_per_s']:.1f} req/s")
        log(f"overload: {burst} clients at once")
        burst_result = overload(url, png, burst)
        log(f"  {burst_result['outcomes']}, busy answers p50 {burst_result['busy_p50_ms']:.0f} ms; "
            f"server answers afterwards: {burst_result['server_answers_afterwards']}")
        log(f"memory: {memory_requests} requests after a warm-up")
        from digitzoo.apps.gradio_app import SESSION_CAPACITY

        # Warm-up: caches, allocator pools, and as many new sessions as the server keeps (steady state).
        load(url, png, 4, requests_per_client=SESSION_CAPACITY // 4 + 25, expect="7", reuse_session=False)
        before = rss_mb(pid)["rss_mb"]
        # A new session per request: the worst case for the server's per-session bookkeeping.
        mem_run = load(url, png, 4, requests_per_client=max(1, memory_requests // 4), expect="7",
                       reuse_session=False).row()
        after = rss_mb(pid)
        growth = after["rss_mb"] - before
        log(f"  resident {before:.0f} -> {after['rss_mb']:.0f} MB ({growth:+.1f} MB) over {mem_run['requests']} "
            f"requests ({mem_run['errors']} errors); peak {after['peak_rss_mb']:.0f} MB")
    checks = {
        "load_zero_failures": loaded["errors"] == 0 and loaded["requests"] > 0,
        "overload_answered_busy": burst_result["outcomes"].get("busy", 0) > 0
        and set(burst_result["outcomes"]) <= {"busy", "answered"},
        "overload_busy_is_fast": burst_result["busy_p99_ms"] < 1000,
        "server_up_after_overload": burst_result["server_answers_afterwards"],
        "memory_growth_under_50_mb": growth < 50 and mem_run["errors"] == 0,
    }
    return ReliabilityResult(startup, {"clients": clients, "seconds": seconds, **loaded}, burst_result,
                             {"requests": mem_run["requests"], "errors": mem_run["errors"], "rss_before_mb": before,
                              "rss_after_mb": after["rss_mb"], "growth_mb": growth, "peak_rss_mb": after["peak_rss_mb"]},
                             checks, all(checks.values()), Machine.now())


def report_reliability(result: ReliabilityResult) -> str:
    return "\n".join(f"{'PASS' if ok else 'FAIL'}  {check}" for check, ok in result.checks.items())
