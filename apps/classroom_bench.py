"""`digitzoo bench classroom`: a class of simulated students over HTTP, and the teacher's dashboard beside them.

The hub runs as ``processes`` real ``digitzoo serve`` processes sharing one database (``db``: a SQLite
file by default; PostgreSQL for several processes as deployed), optionally behind nginx
(``nginx_binary``: the upstream with ``ip_hash``, as Gradio's deployment guide asks for replicas).
A teacher starts a class; ``students`` devices join (spread over the processes) and each sends a
drawing every ``every_s`` seconds (a random phase each, so they do not all send at once) for
``seconds``: the JSON a phone sends, with its strokes, its 28x28 and seven models' answers. A send
that fails is sent again with the same id, as the page does. Meanwhile the dashboard is read once
a second from the last process (a student on one process is seen on the dashboard of another).

Measured: send -> "saved" latency, dashboard latency, and, from the database at the end, whether
every drawing told "saved" is there exactly once (lost, duplicated).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from digitzoo.apps import parts
from digitzoo.hub.benchmarking import Machine, Result, free_port, serving
from digitzoo.hub.classroom.store import ClassroomStore

GOALS = {"saved_p95_ms": 300.0, "dashboard_p95_ms": 500.0}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 1)


def drawing(rng: random.Random, student: int, i: int, models: list[str]) -> dict:
    """A phone's drawing: a few strokes of ~40 points each, the 28x28, the Draw page's models' answers."""
    label = rng.randrange(10)
    strokes = [[[round(rng.uniform(100, 460), 1), round(rng.uniform(80, 480), 1), t * 16] for t in range(40)]
               for _ in range(rng.randint(1, 3))]
    pixels = [round(rng.random(), 3) if rng.random() < 0.2 else 0.0 for _ in range(784)]
    pixels[400] = 1.0
    answers = {}
    for model in models:
        probs = [rng.random() * 0.02 for _ in range(10)]
        probs[label if rng.random() < 0.9 else rng.randrange(10)] += 0.8
        answers[model] = [round(p / sum(probs), 5) for p in probs]
    return {"id": f"s{student:03d}-{i:05d}-{rng.getrandbits(32):08x}", "label": label, "prompted": True,
            "strokes": strokes, "pixels": pixels, "answers": answers, "not_digit": round(rng.random() * 0.2, 4)}


NGINX_CONF = """worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream digitzoo {{
    ip_hash;  # sticky sessions: each client stays on one process (Gradio's guide for replicas)
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 16m;
    location / {{
      proxy_pass http://digitzoo;
      proxy_http_version 1.1;
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $remote_addr;  # uvicorn trusts it from loopback: the app sees the phone's address
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_buffering off;
    }}
  }}
}}
"""


@contextmanager
def nginx_in_front(binary: str, ports: list[int]):
    """nginx on a free port, proxying to ``ports`` with ``ip_hash``; yields its port."""
    folder = Path(tempfile.mkdtemp(prefix="digitzoo-nginx-"))
    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
    (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, servers=servers, port=port))
    subprocess.run([binary, "-p", str(folder), "-c", str(folder / "nginx.conf")], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/digitzoo/classroom/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield port
    finally:
        subprocess.run([binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-s", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class ClassroomBench(Result):
    machine: Machine
    students: int
    seconds: float
    every_s: float
    processes: int
    database: str  # "sqlite" or "postgresql"
    nginx: bool
    told_saved: int
    stored: int
    lost: int  # told "saved", not in the database
    duplicated: int  # stored more than once
    resent: int  # sends that failed and were sent again with the same id
    refused: dict  # HTTP status -> count of sends the server refused
    saved_p50_ms: float | None
    saved_p95_ms: float | None
    saved_max_ms: float | None
    dashboard_reads: int
    dashboard_p50_ms: float | None
    dashboard_p95_ms: float | None
    dashboard_saw_other_process: bool  # the dashboard (last process) counted drawings sent to the others
    goals: dict


def run(students: int = 40, seconds: float = 120.0, every_s: float = 2.0, processes: int = 1, db: str | None = None,
        nginx_binary: str | None = None, seed: int = 0, log=print) -> ClassroomBench:
    folder = Path(tempfile.mkdtemp(prefix="digitzoo-classroom-bench-"))
    models = parts.shown_on("draw")  # what a phone's page runs and sends the answers of
    db = db or f"sqlite:///{folder}/classroom.sqlite3"
    ClassroomStore(db).close()  # made and migrated once, before the servers race to do it
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(
            [sys.executable, "-m", "digitzoo.hub", "serve", "--port", "{port}", "--tab", "draw", "--db", db],
            path="/digitzoo/classroom/", env={"DIGITZOO_HOME": str(folder), **_inherited()}, timeout_s=180,
            what=f"digitzoo serve #{k + 1}")) for k in range(processes)]
        bases = [f"http://127.0.0.1:{s.port}/digitzoo/classroom" for s in servers]
        if nginx_binary:
            port = stack.enter_context(nginx_in_front(nginx_binary, [s.port for s in servers]))
            entry = [f"http://127.0.0.1:{port}/digitzoo/classroom"] * processes
        else:
            entry = bases
        log(f"bench classroom: {students} students, {processes} process(es), {db.split(':')[0]}"
            f"{' behind nginx' if nginx_binary else ''}, {seconds:.0f} s")
        started = httpx.post(f"{entry[0]}/api/start", json={"hours": 4}, timeout=30).json()
        code, key = started["code"], started["teacher_key"]
        tokens = []
        for k in range(students):
            transport = httpx.HTTPTransport(local_address=f"127.0.{k % 250 + 1}.1") if nginx_binary else None
            with httpx.Client(timeout=30, transport=transport) as http:
                answer = http.post(f"{entry[k % processes]}/api/join", json={"code": code})
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        lock = threading.Lock()
        saved_ms, saved_ids, refused, resent = [], [], {}, [0]
        board_ms, saw_other = [], [False]
        stop_at = time.perf_counter() + seconds

        def student(k: int) -> None:
            rng = random.Random(seed * 100_003 + k)
            base = entry[k % processes]
            # Behind nginx, each device from an address of its own (127.0.X.1: ip_hash keys on the first three
            # parts of an IPv4 address), as phones on a class's network are: ip_hash spreads them over the processes.
            transport = httpx.HTTPTransport(local_address=f"127.0.{k % 250 + 1}.1") if nginx_binary else None
            with httpx.Client(timeout=30, transport=transport) as http:
                next_send = time.perf_counter() + rng.uniform(0, every_s)
                i = 0
                while True:
                    time.sleep(max(0.0, next_send - time.perf_counter()))
                    if time.perf_counter() >= stop_at:
                        return
                    body = {"code": code, "token": tokens[k], "drawing": drawing(rng, k, i, models)}
                    began = time.perf_counter()
                    for attempt in range(5):
                        try:
                            answer = http.post(f"{base}/api/drawings", json=body)
                        except httpx.HTTPError:
                            with lock:
                                resent[0] += 1
                            time.sleep(0.2 * (attempt + 1))
                            continue
                        with lock:
                            if answer.status_code == 200:
                                saved_ms.append((time.perf_counter() - began) * 1000)
                                saved_ids.append(answer.json()["saved"])
                            else:
                                refused[answer.status_code] = refused.get(answer.status_code, 0) + 1
                        break
                    i += 1
                    next_send += every_s

        def teacher() -> None:
            with httpx.Client(timeout=30, headers={"X-Teacher-Key": key}) as http:
                while time.perf_counter() < stop_at:
                    began = time.perf_counter()
                    answer = http.get(f"{bases[-1]}/api/dashboard")
                    took = (time.perf_counter() - began) * 1000
                    if answer.status_code == 200:
                        board_ms.append(took)
                        if processes > 1 and answer.json()["students"] == students:
                            saw_other[0] = True
                    time.sleep(max(0.0, 1.0 - took / 1000))

        threads = [threading.Thread(target=student, args=(k,)) for k in range(students)] + [threading.Thread(target=teacher)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store = ClassroomStore(db)
        stored = [d.id for d in store.drawings(key, strokes=False)]
        store.close()
    shutil.rmtree(folder, ignore_errors=True)
    told = set(saved_ids)
    result = ClassroomBench(
        machine=Machine.now(), students=students, seconds=seconds, every_s=every_s, processes=processes,
        database=db.split(":")[0].split("+")[0], nginx=bool(nginx_binary), told_saved=len(told), stored=len(stored),
        lost=len(told - set(stored)), duplicated=len(stored) - len(set(stored)), resent=resent[0],
        refused={str(k): v for k, v in sorted(refused.items())},
        saved_p50_ms=percentile(saved_ms, 50), saved_p95_ms=percentile(saved_ms, 95),
        saved_max_ms=round(max(saved_ms), 1) if saved_ms else None, dashboard_reads=len(board_ms),
        dashboard_p50_ms=percentile(board_ms, 50), dashboard_p95_ms=percentile(board_ms, 95),
        dashboard_saw_other_process=saw_other[0] if processes > 1 else True, goals={})
    result.goals = {
        "none_lost_or_duplicated": result.lost == 0 and result.duplicated == 0 and result.stored == result.told_saved > 0,
        "saved_p95": result.saved_p95_ms is not None and result.saved_p95_ms <= GOALS["saved_p95_ms"],
        "dashboard_p95": result.dashboard_p95_ms is not None and result.dashboard_p95_ms <= GOALS["dashboard_p95_ms"],
    }
    return result


def _inherited() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "DIGITZOO_HOME"}


def report(r: ClassroomBench) -> str:
    where = f"{r.processes} process(es) on {r.database}" + (" behind nginx (ip_hash)" if r.nginx else "")
    goals = ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in r.goals.items())
    return "\n".join([
        f"Classroom: {r.students} students, a drawing every {r.every_s:g} s each for {r.seconds:.0f} s, {where} ({r.machine}).",
        f"  told saved {r.told_saved}, in the database {r.stored}: lost {r.lost}, duplicated {r.duplicated}; "
        f"resent {r.resent}; refused {r.refused or 'none'}",
        f"  send -> saved: p50 {r.saved_p50_ms} ms, p95 {r.saved_p95_ms} ms, max {r.saved_max_ms} ms "
        f"(goal p95 <= {GOALS['saved_p95_ms']:.0f} ms)",
        f"  dashboard ({r.dashboard_reads} reads): p50 {r.dashboard_p50_ms} ms, p95 {r.dashboard_p95_ms} ms "
        f"(goal p95 <= {GOALS['dashboard_p95_ms']:.0f} ms)"
        + ("; it counted the students of the other process(es)" if r.processes > 1 and r.dashboard_saw_other_process else ""),
        f"  goals: {goals}",
    ])
