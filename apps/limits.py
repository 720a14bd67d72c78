"""Limits the web server enforces before the app sees a request."""

from __future__ import annotations

# Any request body: an inline 10 MB image is 13.4 MB of base64 plus its JSON, so 16 MB refuses nothing
# a client needs. Gradio limits uploaded files but reads a JSON body of any size into memory
# (a 200 MB POST took 6.6 s and 430 MB of server memory here before this limit).
MAX_REQUEST_BYTES = 16 * 2**20


class RequestBodyLimit:
    """ASGI middleware: answer 413 to a request whose body is over ``max_bytes``, without reading it.

    A declared Content-Length over the limit is refused at once (the server enforces that a body
    is no longer than it declares). A body without one (chunked) is counted while the app reads it
    and the read fails with a 413 once it passes the limit. Plain ASGI, not Starlette's
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
            return await self.app(scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    from fastapi import HTTPException  # FastAPI turns it into the 413 answer

                    raise HTTPException(413, self._message())
            return message

        return await self.app(scope, counted_receive, send)

    def _message(self) -> str:
        return f"Request body too large: at most {self.max_bytes // 2**20} MB."

    @staticmethod
    async def _answer(send, status: int, message: str) -> None:
        body = ('{"detail": "%s"}' % message).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
