"""What every benchmark shares: the machine it ran on, a server to measure, a result to print.

- ``Machine``: one record of where figures were taken (CPU model and count, pinned threads, load
  average, Python, torch and ONNX Runtime versions), in every benchmark's JSON as ``machine``.
- ``serving``: a command that serves HTTP, started on a free port, polled until a URL answers,
  stopped after; its output goes to a log file (a pipe nobody reads fills up and stalls a chatty
  server), and a server that dies or never answers raises with the log's tail.
- ``Result``: the base of the benchmarks' typed results: ``to_json()`` is the dict their ``--json``
  prints (the keys people read), ``report(result) -> str`` lives beside each benchmark.
- ``ServerMemory``: a process's resident size sampled while a block runs (the peak less the start),
  for a server in its own process (by pid) or in this one (the tests).

Torch-free, like the rest of the serving core: versions are read from the installed metadata.
The stages (train, export, apps) and the tests import this; it imports none of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Machine", "Result", "Server", "ServerDidNotStart", "ServerMemory", "free_port", "serving", "plain"]


def _version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return None


def _cpu_model() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        return cpu


@dataclass(frozen=True)
class Machine:
    """Where a benchmark ran, read when it was made (``Machine.now()``).

    cpu: the CPU model ("model name" of /proc/cpuinfo); cpus: ``os.cpu_count()``; threads: the
    threads the benchmark pinned torch / ONNX Runtime to (per rank for train-scaling; None where
    it pins none); loadavg: the 1, 5 and 15 minute load averages; python, torch, onnxruntime: the
    versions installed (None when not installed; onnxruntime-gpu counts as onnxruntime).
    In JSON (``to_json``) also ``loadavg_1m``, the first load average rounded to 2 places.
    """

    cpu: str
    cpus: int | None
    threads: int | None
    loadavg: tuple[float, float, float]
    python: str
    torch: str | None
    onnxruntime: str | None

    @classmethod
    def now(cls, threads: int | None = None) -> Machine:
        return cls(cpu=_cpu_model(), cpus=os.cpu_count(), threads=threads,
                   loadavg=tuple(round(x, 2) for x in os.getloadavg()), python=platform.python_version(),
                   torch=_version("torch"), onnxruntime=_version("onnxruntime", "onnxruntime-gpu"))

    @property
    def loadavg_1m(self) -> float:
        return round(self.loadavg[0], 2)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "loadavg": list(self.loadavg), "loadavg_1m": self.loadavg_1m}

    def __str__(self) -> str:
        threads = f", {self.threads} thread(s)" if self.threads else ""
        return f"{self.cpus} cores{threads}, load average {' '.join(f'{x:.2f}' for x in self.loadavg)}"


def plain(value: Any) -> Any:
    """Dataclasses (a ``to_json`` of their own first), dicts, lists and tuples as JSON-ready values."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Result:
    """Base of a benchmark's typed result (a dataclass): its JSON, field by field, in field order."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


# ---- a server to measure -----------------------------------------------------------------------

def free_port() -> int:
    """A TCP port nothing listens on right now (the OS's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerDidNotStart(RuntimeError):
    """The served command died, or did not answer in time; the message ends with its log's tail."""


@dataclass
class Server:
    """A running server: its base URL (``http://127.0.0.1:PORT`` + path), process, port and log file."""

    url: str
    proc: subprocess.Popen
    port: int
    log_path: Path
    started: float = field(default_factory=time.perf_counter)  # perf_counter() when the process started
    answered_s: float = 0.0  # seconds from the start until the URL first answered

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _answers(url: str, timeout: float) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the server is up; what it said is the caller's business
    except OSError:
        return False


@contextlib.contextmanager
def serving(command: Sequence[str], *, path: str = "/", port: int | None = None, env: Mapping[str, str] | None = None,
            cwd: str | Path | None = None, log_path: str | Path | None = None, keep_log: bool = False,
            timeout_s: float = 120.0, what: str | None = None) -> Iterator[Server]:
    """Run ``command`` (``{port}`` in its words or in ``env``'s values becomes a free port) until
    ``http://127.0.0.1:PORT{path}`` answers; yield the ``Server``; terminate it after.

    Polls the URL, waiting on the process between tries (so a crash is seen at once, and there is
    no fixed sleep). Output goes to ``log_path`` (default: a file in the temporary folder, removed
    after unless ``keep_log``). Raises ``ServerDidNotStart`` with the log's last 3,000 characters
    when the process exits or the URL does not answer within ``timeout_s``.
    """
    port = port or free_port()
    fill = lambda s: str(s).replace("{port}", str(port))  # noqa: E731
    args = [fill(word) for word in command]
    own_log = log_path is None
    log_file = Path(log_path) if log_path else Path(tempfile.gettempdir()) / f"digitzoo-serve-{port}-{os.getpid()}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    what = what or " ".join(Path(args[0]).name if i == 0 else a for i, a in enumerate(args[:4]))
    began = time.perf_counter()
    with open(log_file, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                env=None if env is None else {k: fill(v) for k, v in env.items()})
    server = Server(f"http://127.0.0.1:{port}{path}", proc, port, log_file, started=began)
    try:
        wait = 0.02
        while not _answers(server.url, timeout=2):
            elapsed = time.perf_counter() - server.started
            if proc.poll() is not None or elapsed > timeout_s:
                why = f"exited with status {proc.returncode}" if proc.poll() is not None else f"no answer in {timeout_s:.0f} s"
                raise ServerDidNotStart(f"{what} did not start ({why}); its log ends:\n{server.log_text()[-3000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)  # returns at once if it dies
            wait = min(wait * 2, 0.2)
        server.answered_s = time.perf_counter() - server.started
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if own_log and not keep_log:
            log_file.unlink(missing_ok=True)


class ServerMemory:
    """A process's resident size, sampled every 5 ms while the block runs; after it, ``growth`` (bytes)
    and ``growth_mb`` (rounded to 0.1) are the highest size seen less the size at the start.

    ``ServerMemory(server.proc.pid)`` watches a server in its own process; ``ServerMemory()`` this
    process (a server the tests run in-process). Linux: read from /proc/PID/statm.
    """

    def __init__(self, pid: int | None = None):
        self.pid = os.getpid() if pid is None else pid

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self) -> ServerMemory:
        self.base = self.peak = self.rss()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.rss())
        self.growth = self.peak - self.base
        self.growth_mb = round(self.growth / 2**20, 1)
