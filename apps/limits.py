"""Limits the web server enforces before the app sees a request."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.requests import ClientDisconnect

from digitzoo.apps.webserver import REFUSALS

# Any request body: an inline 10 MB image is 13.4 MB of base64 plus its JSON, so 16 MB refuses nothing
# a client needs. Gradio limits uploaded files but reads a JSON body of any size into memory
# (a 200 MB POST took 6.6 s and 430 MB of server memory here before this limit).
MAX_REQUEST_BYTES = 16 * 2**20
# A body must keep coming: no pause longer than BODY_IDLE_S, and after BODY_GRACE_S at least
# MIN_BODY_RATE bytes a second on average (a 10 MB photo over a 1 Mbit/s phone link is ~125 kB/s).
# A body sent at 1 byte a second otherwise held a connection and a worker for ever.
BODY_IDLE_S = 20.0
BODY_GRACE_S = 10.0
MIN_BODY_RATE = 1024


class RequestBodyLimit:
    """ASGI middleware: answer 413 to a request whose body is over ``max_bytes``, without reading it,
    and 408 to one whose body comes too slowly.

    A declared Content-Length over the limit is refused at once (the server enforces that a body
    is no longer than it declares). A body without one (chunked) is counted while the app reads it
    and the read fails with a 413 once it passes the limit. Every body also has a deadline
    (``_time_left``): a read that stalls, or a trickle, fails with a 408. Plain ASGI, not Starlette's
    BaseHTTPMiddleware, so that Gradio's event streams pass through untouched.
    """

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                return await self._answer(send, 400, "Invalid Content-Length header.")
            if too_large:
                return await self._answer(send, 413, self._message())
        received = 0
        began = time.monotonic()
        body_done = False

        async def counted_receive():
            nonlocal received, body_done, left
            if body_done:  # after the body: the app waits for the client to leave (event streams do)
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self._time_left(received, began))
            except asyncio.TimeoutError:
                raise self._error(408, "The request body came too slowly: send it at once.") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_bytes:  # a body without Content-Length, or longer than it said
                    raise self._error(413, self._message())
            else:  # http.disconnect: the client left before its body was complete
                body_done = left = True
            return message

        left = False
        try:
            return await self.app(scope, counted_receive, send)
        except ClientDisconnect:
            if not left:
                raise
            # Nobody is there to answer, and it is the client's doing: counted, not a traceback each
            # (Gradio's upload and API routes let it through as "Exception in ASGI application").
            REFUSALS.count("left mid-body", "requests whose client left before sending the whole body")

    @staticmethod
    def _time_left(received: int, began: float) -> float:
        """How long the next piece of the body may take: the idle limit, or less where the average
        rate would fall under MIN_BODY_RATE (after the grace period)."""
        due = began + max(BODY_GRACE_S, received / MIN_BODY_RATE)
        return max(0.01, min(BODY_IDLE_S, due - time.monotonic()))

    @staticmethod
    def _error(status: int, message: str):
        from fastapi import HTTPException  # FastAPI turns it into the answer

        return HTTPException(status, message)

    def _message(self) -> str:
        return f"Request body too large: at most {self.max_bytes // 2**20} MB."

    @staticmethod
    async def _answer(send, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode()  # a name a client sent may hold quotes
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class PublicApiOnly:
    """ASGI middleware: ``/gradio_api/call/NAME`` reaches only the endpoints the API page lists.

    Gradio's ``api_visibility="private"`` hides an event from the API page and its clients, but
    its REST route still answers it by name (``/gradio_api/call/classify_live`` did). The page's
    own events reach the queue by their index, as Gradio's front end calls them; their inputs are
    read as strictly as the public API's (apps.inputs), since a stranger can send those too.
    """

    PREFIX = "/gradio_api/call/"

    def __init__(self, app, blocks):
        self.app, self.blocks = app, blocks
        self.public: set[str] | None = None

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.PREFIX) and scope.get("method") == "POST":
            name = path[len(self.PREFIX):].strip("/")
            if self.public is None:  # the blocks are complete once the server runs
                self.public = {n.strip("/") for n in self.blocks.get_api_info(all_endpoints=True)["named_endpoints"]}
            if name not in self.public:
                return await RequestBodyLimit._answer(send, 404, f"No public API endpoint named {name[:60]!r}.")
        return await self.app(scope, receive, send)
