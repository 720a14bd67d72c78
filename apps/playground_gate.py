"""Admission to the Playground before Gradio sees the request: a crowd hears "busy" at once.

Gradio answers a queued event only after it has built the visitor's session (a copy of the
whole app's configuration, ~70 ms here), one session after another: 75 learners pressing
Start at once heard "busy" after 7.4 s, and the clients' own 5 s timeouts ran out first. So a
Start is admitted here, in front of Gradio, through the two public ways an event is called:
``POST /gradio_api/call/lesson_NAME`` (the REST API) and ``POST /gradio_api/queue/join`` with the
Start's ``fn_index`` (what Gradio's page and clients send). A well-formed Start that finds every
running and waiting place taken is answered 429 with the sentence (Gradio's page shows the
``detail`` of such an answer; gradio_client raises an HTTP 429 error); one that finds a place
keeps it (``RunSlots.reserve``) and goes on to Gradio, whose run then takes the kept place (a
place Gradio's run never takes is given back when Gradio refuses the call, or after
``RESERVATION_S``). Any other request passes untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from digitzoo.apps.limits import RequestBodyLimit

CALL_PREFIX = "/gradio_api/call/"
JOIN_PATH = "/gradio_api/queue/join"
# A join body is the event's inputs (a seed and a few knobs): one larger than this is not a Start
# worth parsing here; Gradio reads it as usual and the run's own admission still holds.
MAX_JOIN_BYTES = 64 * 1024


class PlaygroundGate:
    """ASGI middleware in front of the hub: Starts of the Playground's lessons are admitted here.

    ``starts`` maps each Start's API name to a check of its inputs (raising on bad ones). Only a
    well-formed Start keeps a place: a malformed one goes on to Gradio, which answers it with the
    lesson's sentence, and can never hold a place a learner needs (sent at a second's intervals,
    bad Starts would otherwise keep every place taken).
    """

    def __init__(self, app, blocks, slots, starts: dict[str, Callable[[list], object]]):
        self.app, self.blocks, self.slots, self.starts = app, blocks, slots, starts
        self.start_by_fn_id: dict[int, str] | None = None

    def _start_ids(self) -> dict[int, str]:
        if self.start_by_fn_id is None:  # the page's config, complete once the server runs
            self.start_by_fn_id = {d["id"]: d["api_name"] for d in self.blocks.config["dependencies"]
                                   if d.get("api_name") in self.starts}
        return self.start_by_fn_id

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        path = scope.get("path", "").rstrip("/")
        if path.startswith(CALL_PREFIX):
            api_name = path[len(CALL_PREFIX):]
        elif path == JOIN_PATH:
            api_name = None
        else:
            return await self.app(scope, receive, send)
        if api_name is not None and api_name not in self.starts:
            return await self.app(scope, receive, send)
        body, replay = await self._read_small_body(receive)
        payload = self._json(body)
        if api_name is None:  # a join: which event?
            fn_index = payload.get("fn_index")
            api_name = self._start_ids().get(fn_index) if isinstance(fn_index, int) else None
            if api_name is None:
                return await self.app(scope, replay, send)
        if not self._well_formed(api_name, payload.get("data")):
            return await self.app(scope, replay, send)
        if not self.slots.reserve(""):
            return await RequestBodyLimit._answer(send, 429, self.slots.busy())
        answered = False

        async def watched_send(message):
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                if message["status"] != 200:  # Gradio did not queue it (its queue was full, say): give the place back
                    self.slots.unreserve()
            await send(message)

        return await self.app(scope, replay, watched_send)

    def _well_formed(self, api_name: str, data) -> bool:
        try:
            self.starts[api_name](data)
        except Exception:  # noqa: BLE001 - any refusal: Gradio and the lesson answer it with their sentence
            return False
        return True

    @staticmethod
    def _json(body: bytes | None) -> dict:
        try:
            payload = json.loads(body) if body is not None else {}
        except (ValueError, RecursionError):
            return {}
        return payload if isinstance(payload, dict) else {}

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
