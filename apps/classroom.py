"""The classroom's web side: a teacher's session, students' phones sending drawings, a live dashboard.

Routes under ``PREFIX`` (added to the hub's FastAPI app by ``apps.gradio_app.serve``; JSON in and
out, a refusal is ``{"error": sentence}`` with a 4xx status, "busy" is 503):

- ``GET PREFIX/`` the teacher's page (apps/web/classroom_teacher.html): start a class, then the
  dashboard, whose key is in the address's fragment (``#key=...``: a fragment never reaches a server's
  log); ``GET PREFIX/join`` the students' page; ``GET PREFIX/files/<name>`` their modules.
- ``POST PREFIX/api/start`` ``{"hours"}`` -> join code, teacher key, join URL, QR (SVG), expiry.
- ``POST PREFIX/api/join`` ``{"code"}`` -> a device token, its prompts, the consent sentence.
- ``POST PREFIX/api/drawings`` ``{"code", "token", "drawing"}`` -> ``{"saved": id, "duplicate"}``,
  answered only after the database committed it (hub.classroom.drawing says what a drawing holds).
- With the header ``X-Teacher-Key``: ``GET api/dashboard?model=``, ``GET api/cell?model=&label=&read=``,
  ``POST api/delete-drawing {"id"}``, ``POST api/close``, ``POST api/delete``, ``GET api/export`` (a zip).

Bounded: database calls run in threads, ``CONCURRENCY`` at a time and ``WAITING`` more waiting (past
that: busy); a request body is read up to ``MAX_BODY`` bytes; wrong join codes and classes started
are limited per client address, held in memory only for their window (nothing about a visitor is
stored): one address cannot take all of the store's open sessions.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable
from pathlib import Path

import anyio
import segno
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digitzoo.apps import parts
from digitzoo.apps.reading import NOT_A_DIGIT_ABOVE
from digitzoo.apps.web_build import WEB_SOURCES
from digitzoo.hub.classroom import dashboard as board
from digitzoo.hub.classroom.drawing import Drawing, DrawingRefused
from digitzoo.hub.classroom.store import ClassroomError, ClassroomStore

PREFIX = "/digitzoo/classroom"
PAGES = {"": "classroom_teacher.html", "join": "classroom_student.html"}
CLASSROOM_FILES = ("classroom_student.js", "classroom_teacher.js", "classroom.js", "classroom.css")
CONCURRENCY = 8
WAITING = 256  # 80 students sending at once is 80 requests; a dashboard or two beside them
MAX_BODY = 512 * 1024  # a drawing is ~10-40 kB of JSON (784 pixels, a few hundred points, 7 models' answers)
GUESS_LIMIT = 20  # wrong join codes per client address per window
GUESS_WINDOW_S = 600.0
START_LIMIT = 20  # classes started per client address per window: a teacher starts one or two a lesson
START_WINDOW_S = 3600.0
MAX_HOURS = 168
CONSENT = ("Your drawings (no name, nothing about you or this device) go to your teacher's class and are deleted "
           "within {hours} unless the teacher keeps them as an open data set of drawn digits (CC BY 4.0).")
BUSY = "The classroom is busy: try again in a moment."


class TooMany(ClassroomError):
    status = 429


class RecentTries:
    """Tries of one kind (a wrong join code, a class started) per client address in the last
    ``window_s`` seconds: memory only, never stored."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self.lock = threading.Lock()
        self.wrong: dict[str, deque] = {}

    def blocked(self, client: str) -> bool:
        with self.lock:
            times = self.wrong.get(client)
            now = self.clock()
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if times is not None and not times:
                del self.wrong[client]
            return bool(times) and len(times) >= self.limit

    def count(self, client: str) -> None:
        with self.lock:
            if len(self.wrong) > 100_000:  # a flood of addresses: forget the oldest rather than grow
                self.wrong.pop(next(iter(self.wrong)))
            self.wrong.setdefault(client, deque()).append(self.clock())


def _models() -> dict[str, dict]:
    """The Draw page's classifiers in order, with what the dashboard says of each."""
    manifest = parts.manifest()
    return {name: {"title": manifest.models[name].title,
                   "mnist_accuracy": manifest.models[name].metrics.get("test_accuracy")} for name in parts.shown_on("draw")}


def qr_svg(url: str) -> str:
    """The join URL as a QR code: a standalone SVG (with its namespace, so a page can show it as an image)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=8, border=2)
    return out.getvalue().decode("utf-8")


def export_zip(store: ClassroomStore, key: str) -> bytes:
    """The session's open dataset (hub.classroom.dataset) as a zip."""
    facts = store.session(key)  # first: a wrong key is refused before anything else
    from digitzoo.hub.classroom.dataset import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"digitzoo-classroom-{facts['code']}"
        write_dataset(store.drawings(key), folder, session=facts, models=list(_models()))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(folder.parent))
    return out.getvalue()


class SeenDrawings:
    """The drawings of the sessions whose dashboards are open, kept between reads: a read fetches only the
    drawings newer than the last it saw (a dashboard is read every second, and reading a class's 5,000
    drawings whole each time took most of its time). When the session's count says a drawing went (the
    teacher deleted one, on any process: fewer of its drawings are left up to the newest seen than are
    kept), the session is read whole again. At most ``SESSIONS`` kept."""

    SESSIONS = 8

    def __init__(self):
        self.lock = threading.Lock()
        self.kept: dict[str, list] = {}  # session code -> its drawings, oldest first (no strokes)

    def drawings(self, store: ClassroomStore, key: str, code: str) -> list:
        with self.lock:
            kept = self.kept.pop(code, [])
        if kept and store.count_up_to(key, kept[-1].id) != len(kept):  # one went: read the session whole
            kept = []
        fresh = kept + store.drawings(key, after=kept[-1].id if kept else 0, strokes=False)
        with self.lock:
            self.kept[code] = fresh  # the most recent last
            while len(self.kept) > self.SESSIONS:
                self.kept.pop(next(iter(self.kept)))
        return fresh


class OpenedOnFirstUse:
    """The store, opened (and its database made or migrated) on the first classroom request, not at the
    hub's start: a hub nobody runs a class on makes no database."""

    def __init__(self, open_store: Callable[[], ClassroomStore]):
        self.open_store, self.store, self.lock = open_store, None, threading.Lock()

    def __getattr__(self, name):
        if self.store is None:
            with self.lock:
                if self.store is None:
                    self.store = self.open_store()
        return getattr(self.store, name)


def routes(store: ClassroomStore | Callable[[], ClassroomStore], guesses: RecentTries | None = None,
           starts: RecentTries | None = None) -> list[Route]:
    """The classroom's routes on ``store`` (or on the store a callable opens at the first request)."""
    if callable(store):
        store = OpenedOnFirstUse(store)
    guesses = guesses or RecentTries(GUESS_LIMIT, GUESS_WINDOW_S)
    starts = starts or RecentTries(START_LIMIT, START_WINDOW_S)
    seen = SeenDrawings()
    limiter = anyio.CapacityLimiter(CONCURRENCY)
    admitted = 0

    async def body_of(request: Request) -> dict:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise ClassroomError(f"A request is at most {MAX_BODY // 1024} kB.")
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ClassroomError("Send JSON.") from None
        if not isinstance(payload, dict):
            raise ClassroomError("Send a JSON object.")
        return payload

    def answer(handler):
        """``handler(request) -> dict | Response`` run with the bounds; refusals as sentences."""
        async def endpoint(request: Request):
            nonlocal admitted
            if admitted >= CONCURRENCY + WAITING:
                return JSONResponse({"error": BUSY}, status_code=503)
            admitted += 1
            try:
                result = await handler(request)
            except ClassroomError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except ClientDisconnect:
                return Response(status_code=499)
            finally:
                admitted -= 1
            if isinstance(result, Response):
                return result
            return JSONResponse(result, headers={"Cache-Control": "no-store"})
        return endpoint

    def run(fn, *args):
        return anyio.to_thread.run_sync(lambda: fn(*args), limiter=limiter)

    def key_of(request: Request) -> str:
        return request.headers.get("x-teacher-key", "")

    def join_url(request: Request, code: str) -> str:
        return str(request.base_url).rstrip("/") + f"{PREFIX}/join?code={code}"

    def page(name: str):
        async def endpoint(request: Request):
            return FileResponse(WEB_SOURCES / name, media_type="text/html", headers={"Cache-Control": "no-cache"})
        return endpoint

    async def file(request: Request):
        name = request.path_params["name"]
        if name not in CLASSROOM_FILES or not (WEB_SOURCES / name).is_file():
            return PlainTextResponse("not found", status_code=404)
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(WEB_SOURCES / name, media_type=media, headers={"Cache-Control": "no-cache"})

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def start(request: Request):
        client = client_of(request)
        if starts.blocked(client):
            raise TooMany(f"{starts.limit} classes were started from here in the last hour: use one of them, or wait.")
        payload = await body_of(request)
        hours = payload.get("hours", store.retention_s / 3600)
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0.02 <= hours <= MAX_HOURS:
            raise ClassroomError(f"Keep the drawings between a few minutes and {MAX_HOURS} hours (export to keep them longer).")
        started = await run(store.start, float(hours) * 3600)
        starts.count(client)
        url = join_url(request, started.code)
        return {"code": started.code, "teacher_key": started.teacher_key, "join_url": url,
                "expires_at": started.expires_at, "qr_svg": qr_svg(url)}

    async def join(request: Request):
        client = client_of(request)
        if guesses.blocked(client):
            raise ClassroomError("Too many wrong codes from here: wait ten minutes, then check the code on the projector.")
        payload = await body_of(request)
        try:
            joined = await run(store.join, payload.get("code"))
        except ClassroomError as exc:
            if exc.status == 404:
                guesses.count(client)
            raise
        hours = max(1, round((joined.expires_at - store.clock()) / 3600))
        return {"token": joined.token, "prompts": joined.prompts, "expires_at": joined.expires_at,
                "consent": CONSENT.format(hours=f"{hours} hour" + ("s" if hours != 1 else ""))}

    async def drawings(request: Request):
        payload = await body_of(request)
        try:
            drawing = Drawing.from_payload(payload.get("drawing"))
        except DrawingRefused as exc:
            raise ClassroomError(str(exc)) from None
        saved = await run(store.save, payload.get("code"), payload.get("token"), drawing)
        return {"saved": saved.id, "duplicate": saved.duplicate}

    async def dashboard(request: Request):
        key = key_of(request)
        facts = await run(store.session, key)
        shown = await run(seen.drawings, store, key, facts["code"])
        figures = board.dashboard(shown, _models(), request.query_params.get("model"), NOT_A_DIGIT_ABOVE)
        url = join_url(request, facts["code"])
        return {**facts, **figures, "join_url": url, "qr_svg": qr_svg(url)}

    async def cell(request: Request):
        q = request.query_params
        try:
            label, read = int(q.get("label", "")), int(q.get("read", ""))
        except ValueError:
            raise ClassroomError("A cell is a label and a reading, each a digit 0-9.") from None
        key = key_of(request)
        shown = await run(seen.drawings, store, key, (await run(store.session, key))["code"])
        return {"drawings": board.in_cell(shown, q.get("model", ""), label, read)}

    async def delete_drawing(request: Request):
        payload = await body_of(request)
        drawing_id = payload.get("id")
        if isinstance(drawing_id, bool) or not isinstance(drawing_id, int):
            raise ClassroomError("Which drawing? Its id, a number.")
        await run(store.delete_drawing, key_of(request), drawing_id)
        return {"deleted": drawing_id}

    async def close(request: Request):
        await run(store.close_session, key_of(request))
        return {"closed": True}

    async def delete(request: Request):
        await run(store.delete_session, key_of(request))
        return {"deleted": True}

    async def export(request: Request):
        key = key_of(request)
        data = await run(export_zip, store, key)
        code = (await run(store.session, key))["code"]
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="digitzoo-classroom-{code}.zip"', "Cache-Control": "no-store"})

    api = {"start": (start, "POST"), "join": (join, "POST"), "drawings": (drawings, "POST"),
           "dashboard": (dashboard, "GET"), "cell": (cell, "GET"), "delete-drawing": (delete_drawing, "POST"),
           "close": (close, "POST"), "delete": (delete, "POST"), "export": (export, "GET")}
    return [*(Route(f"{PREFIX}/{path}", page(name)) for path, name in PAGES.items()),
            Route(f"{PREFIX}/files/{{name}}", file),
            *(Route(f"{PREFIX}/api/{name}", answer(handler), methods=[method]) for name, (handler, method) in api.items())]
