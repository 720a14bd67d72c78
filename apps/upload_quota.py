"""A quota on uploads: bytes per client, and bytes of all clients together, over the time Gradio keeps them.

Gradio 6.31 limits the size of each uploaded file (``max_file_size``) but not how many a client
sends: every POST to /gradio_api/upload lands in Gradio's cache and stays until ``delete_cache``
removes it (up to its age plus one cleanup interval later). One client filled the disk at ~78 MB/s.
Gradio has no per-client or total upload setting (``launch``/``mount_gradio_app`` take only
``max_file_size``; ``gr.Request`` reaches event handlers, not the upload route), so this ASGI
middleware counts the bytes of upload bodies instead.

Privacy by default: a client is a keyed hash of its address, with a key made at random when the
process starts, kept in memory and dropped once its window has passed; no address is stored, on
disk or in memory.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import defaultdict

UPLOAD_PATH = "/gradio_api/upload"
# One visitor: ten photos at the 10 MB upload limit per window, far above what drawing digits needs.
PER_CLIENT_BYTES = 100 * 2**20
# Everybody together: what the cache may hold of uploads at once (a window's worth), whatever the
# number of clients (addresses are cheap to a determined sender).
CACHE_BUDGET_BYTES = 2 * 2**30
# Counts are kept per slot of this many seconds: a client's memory is one number per slot.
SLOT_S = 60


class UploadQuota:
    """ASGI middleware: 429 with a sentence for an upload that would take a client over
    ``PER_CLIENT_BYTES``, or all clients over ``CACHE_BUDGET_BYTES``, within ``window_s``.

    A declared Content-Length is charged before the body is read, so a refused upload costs no disk;
    a body without one is counted as it arrives and refused once it goes over. ``window_s`` should be
    how long Gradio keeps an upload (``delete_cache``: its age plus its interval), so the budget bounds
    what the cache holds. The limits are read per request (a test can tighten them).
    """

    def __init__(self, app, window_s: float):
        self.app, self.window_s = app, window_s
        self._key = secrets.token_bytes(16)
        self._slots: dict[bytes, dict[int, int]] = defaultdict(dict)  # client -> {slot: bytes}
        self._total: dict[int, int] = {}  # slot -> bytes, all clients

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != UPLOAD_PATH:
            return await self.app(scope, receive, send)
        client = self._client(scope)
        self._forget_old()
        declared = dict(scope["headers"]).get(b"content-length", b"")
        charged = int(declared) if declared.isdigit() else 0
        if refusal := self._charge(client, charged):
            return await self._answer(send, refusal)
        received = 0

        async def counted_receive():
            nonlocal received, charged
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > charged:  # more than it declared, or no declaration: charge as it comes
                    refusal = self._charge(client, received - charged)
                    charged = received
                    if refusal:
                        raise self._error(refusal)
            return message

        return await self.app(scope, counted_receive, send)

    def _client(self, scope) -> bytes:
        address = (scope.get("client") or ("unknown", 0))[0]
        return hashlib.blake2b(address.encode(), key=self._key, digest_size=16).digest()

    def _forget_old(self) -> None:
        oldest = self._slot() - int(self.window_s // SLOT_S)
        for counts in (self._total, *self._slots.values()):
            for slot in [s for s in counts if s < oldest]:
                del counts[slot]
        for client in [c for c, counts in self._slots.items() if not counts]:
            del self._slots[client]

    def _charge(self, client: bytes, size: int) -> str | None:
        """Count ``size`` more bytes for ``client``; a sentence instead when that would pass a limit."""
        used, total = sum(self._slots[client].values()), sum(self._total.values())
        if used + size > PER_CLIENT_BYTES:
            return (f"Upload limit reached: at most {PER_CLIENT_BYTES // 2**20} MB per visitor in "
                    f"{self.window_s / 60:.0f} minutes. Try again later.")
        if total + size > CACHE_BUDGET_BYTES:
            return "The server has no room for more uploads right now. Try again in a while."
        slot = self._slot()
        self._slots[client][slot] = self._slots[client].get(slot, 0) + size
        self._total[slot] = self._total.get(slot, 0) + size
        return None

    @staticmethod
    def _slot() -> int:
        return int(time.monotonic() // SLOT_S)

    @staticmethod
    def _error(message: str):
        from fastapi import HTTPException  # FastAPI turns it into the answer

        return HTTPException(429, message)

    @staticmethod
    async def _answer(send, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
