"""Admission to the Playground before Gradio sees the request: a crowd hears "busy" at once.

Gradio answers a queued event only after it has built the visitor's session (a copy of the
whole app's configuration, ~70 ms here), one session after another: 75 learners pressing
Start at once heard "busy" after 7.4 s, and the clients' own 5 s timeouts ran out first. So a
Start is admitted here, in front of Gradio, through the two public ways an event is called:
``POST /gradio_api/call/lesson_NAME`` (the REST API) and ``POST /gradio_api/queue/join`` with the
Start's ``fn_index`` (what Gradio's page and clients send). A Start that finds every running and
waiting place taken is answered 429 with the sentence (Gradio's page shows the ``detail`` of such
an answer; gradio_client raises with it); one that finds a place keeps it (``RunSlots.reserve``)
and goes on to Gradio, whose run then takes the kept place. Any other request passes untouched.
"""

from __future__ import annotations

import json

from digitzoo.apps.limits import RequestBodyLimit

CALL_PREFIX = "/gradio_api/call/"
JOIN_PATH = "/gradio_api/queue/join"
# A join body is the event's inputs (a seed and a few knobs): one larger than this is not a Start
# worth parsing here; Gradio reads it as usual and the run's own admission still holds.
MAX_JOIN_BYTES = 64 * 1024


class PlaygroundGate:
    """ASGI middleware in front of the hub: Starts of the Playground's lessons are admitted here."""

    def __init__(self, app, blocks, slots, start_api_names: set[str]):
        self.app, self.blocks, self.slots = app, blocks, slots
        self.start_api_names = start_api_names
        self.start_fn_ids: set[int] | None = None

    def _start_ids(self) -> set[int]:
        if self.start_fn_ids is None:  # the page's config, complete once the server runs
            self.start_fn_ids = {d["id"] for d in self.blocks.config["dependencies"]
                                 if d.get("api_name") in self.start_api_names}
        return self.start_fn_ids

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.startswith(CALL_PREFIX) and path[len(CALL_PREFIX):].strip("/") in self.start_api_names:
            return await self._admit(scope, receive, send)
        if path.rstrip("/") == JOIN_PATH:
            body, replay = await self._read_small_body(receive)
            if body is not None and self._fn_index(body) in self._start_ids():
                return await self._admit(scope, replay, send)
            return await self.app(scope, replay, send)
        return await self.app(scope, receive, send)

    async def _admit(self, scope, receive, send):
        if not self.slots.reserve(""):
            return await RequestBodyLimit._answer(send, 429, self.slots.busy())
        return await self.app(scope, receive, send)

    @staticmethod
    def _fn_index(body: bytes) -> int | None:
        try:
            index = json.loads(body).get("fn_index")
        except (ValueError, AttributeError, RecursionError):
            return None
        return index if isinstance(index, int) else None

    @staticmethod
    async def _read_small_body(receive):
        """(the body, or None when it is over MAX_JOIN_BYTES; a receive that hands the app what was read)."""
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > MAX_JOIN_BYTES or not message.get("more_body", False):
                break
        complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body", False)
        body = b"".join(m.get("body", b"") for m in messages) if complete and size <= MAX_JOIN_BYTES else None

        async def replay():
            return messages.pop(0) if messages else await receive()

        return body, replay
