"""The web server the hub runs on: uvicorn, configured for strangers on the internet.

``gr.Blocks.launch()`` starts uvicorn with its defaults and offers no setting for connections,
and uvicorn's defaults have no deadline for a request head: a client that opens a connection
and never finishes its headers holds a file descriptor for ever (20,000 such connections took
every descriptor of the landed hub, and the log grew by 120 MB of "Too many open files"
tracebacks in 45 s). So the hub is mounted with Gradio's public ``gr.mount_gradio_app`` on a
FastAPI app of its own and served by a uvicorn we configure:

- ``GuardedHttp`` wraps uvicorn's HTTP/1.1 protocol (composition, through asyncio's public
  Protocol interface): a connection must deliver its request head within ``HEAD_TIMEOUT_S``
  and at most ``MAX_CONNECTIONS`` are open at once (more are answered 503 and closed);
- the body of a request has its own deadline (``apps.limits.RequestBodyLimit``);
- idle keep-alive connections close after uvicorn's ``timeout_keep_alive``;
- each kind of refusal is logged once per ``LOG_EVERY_S`` with a count, never a traceback each.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT_S = 10.0  # a browser sends its headers in one packet; 10 s covers the slowest phone link
# Open at once: above what a flood of half-open connections reaches within the head deadline (2,000
# in `digitzoo bench hostile`; with 1,000 the visitor beside them was told busy), within the process's
# file descriptors (``_raise_file_limit``; the cap is halved where there are fewer).
MAX_CONNECTIONS = 4000
KEEP_ALIVE_S = 5  # uvicorn's default, said here: an idle connection closes after it
LOG_EVERY_S = 60.0
BUSY = b"The server is busy: try again in a moment."
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
                 b"content-length: %d\r\n\r\n%s" % (len(BUSY), BUSY))

log = logging.getLogger("digitzoo.apps")


class RefusalLog:
    """Counts refusals by kind and logs one line per kind per interval: a flood of bad clients
    costs a few lines, not a traceback each (the landed hub's log grew by 120 MB in 45 s)."""

    def __init__(self, every_s: float = LOG_EVERY_S):
        self.every_s = every_s
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}  # since the last line of each kind
        self.totals: dict[str, int] = {}  # since the start
        self.last: dict[str, float] = {}

    def total(self, kind: str) -> int:
        with self.lock:
            return self.totals.get(kind, 0)

    def count(self, kind: str, sentence: str) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.totals[kind] = self.totals.get(kind, 0) + 1
            now = time.monotonic()
            if now - self.last.get(kind, -self.every_s) < self.every_s:
                return
            self.last[kind], n = now, self.counts.pop(kind)
        log.warning("digitzoo: %s (%d in the last %g s)", sentence, n, self.every_s)


REFUSALS = RefusalLog()


class _OncePerInterval(logging.Filter):
    """Lets one record of a kind through per interval (asyncio's accept errors, uvicorn's bad requests)."""

    def __init__(self, kinds: dict[str, str]):
        super().__init__()
        self.kinds = kinds  # a phrase in the message -> the sentence to count it under

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for phrase, sentence in self.kinds.items():
            if phrase in message:
                REFUSALS.count(phrase, sentence)
                return False
        return True


@dataclass
class _Connections:
    """The open connections of one server, shared by its protocol instances (one event loop)."""

    open: set = field(default_factory=set)  # the GuardedHttp of each open connection
    limit: int = MAX_CONNECTIONS
    head_timeout_s: float = HEAD_TIMEOUT_S
    loop: asyncio.AbstractEventLoop | None = None


class GuardedHttp(asyncio.Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the first request head and a connection cap.

    Only the asyncio.Protocol methods are used, on both sides: the inner protocol is built with the
    arguments uvicorn gives any protocol class (``uvicorn.Config(http=...)``). The head is complete
    when the blank line that ends it arrives. Later requests on a kept-alive connection are bounded
    by uvicorn's keep-alive timeout while idle; their heads have no deadline of their own.
    """

    connections: _Connections  # set per server by ``guarded_protocol``

    def __init__(self, config, server_state, app_state, _loop=None):
        self.inner = H11Protocol(config=config, server_state=server_state, app_state=app_state, _loop=_loop)
        self.loop = _loop or asyncio.get_event_loop()
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.tail = b""  # the last bytes seen, to find a blank line split across two reads
        self.counted = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.connections.loop = self.loop
        if len(self.connections.open) >= self.connections.limit:
            REFUSALS.count("connections", f"refused connections over the limit of {self.connections.limit} open at once")
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        self.connections.open.add(self)
        self.counted = True
        self.deadline = self.loop.call_later(self.connections.head_timeout_s, self._too_slow)
        self.inner.connection_made(transport)

    def _too_slow(self) -> None:
        self.deadline = None
        REFUSALS.count("slow head", f"closed connections that sent no complete request head within {self.connections.head_timeout_s:g} s")
        self.transport.close()  # connection_lost follows, which tells the inner protocol

    def data_received(self, data: bytes) -> None:
        if self.deadline is not None:
            seen = self.tail + data
            if b"\r\n\r\n" in seen:
                self.deadline.cancel()
                self.deadline = None
            self.tail = seen[-3:]
        self.inner.data_received(data)

    def connection_lost(self, exc) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        if self.counted:
            self.connections.open.discard(self)
            self.counted = False
            self.inner.connection_lost(exc)

    def eof_received(self):
        return self.inner.eof_received() if self.counted else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def guarded_protocol(limit: int, head_timeout_s: float) -> type[GuardedHttp]:
    """A GuardedHttp class with its own connection count (one per server)."""
    return type("GuardedHttp", (GuardedHttp,), {"connections": _Connections(limit=limit, head_timeout_s=head_timeout_s)})


def _raise_file_limit() -> None:
    """Use every file descriptor the system allows this process: the soft limit is often 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))


def quiet_floods() -> None:
    """Count, don't print, the per-connection errors a flood makes (once per process)."""
    kinds = {"accept": "could not accept connections (out of file descriptors?)",
             "Invalid HTTP request": "refused requests that were not valid HTTP"}
    for name in ("asyncio", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OncePerInterval) for f in logger.filters):
            logger.addFilter(_OncePerInterval(kinds))


class WebServer(uvicorn.Server):
    """uvicorn in a thread of this process (the hub's ``serve(block=False)``), or in the foreground."""

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super().install_signal_handlers()

    def start_in_thread(self, wait_s: float = 30.0) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True, name="digitzoo-webserver")
        self.thread.start()
        began = time.monotonic()
        while not self.started:  # polled: uvicorn sets it once the socket listens
            if not self.thread.is_alive():
                raise OSError(f"The web server could not start on {self.config.host}:{self.config.port} (is the port free?)")
            if time.monotonic() - began > wait_s:
                raise OSError(f"The web server did not start within {wait_s:g} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop: open connections are closed first, so an event stream ends as a client that left
        (uvicorn would otherwise wait for it, then cancel it with a traceback)."""
        connections = self.config.http_protocol_class.connections
        if connections.loop is not None and connections.loop.is_running():
            connections.loop.call_soon_threadsafe(lambda: [c.transport.close() for c in list(connections.open)])
        self.should_exit = True
        if getattr(self, "thread", None) is not None:
            self.thread.join(timeout=10)


def make_server(asgi_app, host: str, port: int) -> WebServer:
    """A uvicorn server for ``asgi_app`` with the guards above (not started; the limits are read now)."""
    _raise_file_limit()
    quiet_floods()
    cap = min(MAX_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2)
    config = uvicorn.Config(asgi_app, host=host, port=port, http=guarded_protocol(cap, HEAD_TIMEOUT_S),
                            timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=2, log_level="warning",
                            lifespan="on")
    return WebServer(config)
