"""The classroom's store: sessions, the devices that joined them and their drawings, in one database.

A teacher ``start``s a session and gets a join code (for the students) and a secret teacher key (for
the dashboard's link); a device ``join``s with the code and gets a random token; each drawing it sends
is ``save``d in one transaction, and the answer "saved" is given only after that transaction committed.
Every read of a session's drawings goes through the teacher key.

- SQLite by default: one file in the store (``DIGITZOO_HOME``), WAL mode, ``synchronous=FULL`` (a
  committed drawing survives ``kill -9`` of the server and a power cut), a busy timeout so that writers
  from several threads queue. PostgreSQL (``postgresql://...``, through psycopg) where several server
  processes share one class.
- Bounded: at most ``MAX_OPEN_SESSIONS`` sessions at once; per session ``max_students`` devices and
  ``max_drawings`` drawings; per device one drawing per ``MIN_INTERVAL_S`` and ``MAX_PER_DEVICE`` in all.
  Each limit is checked inside the write that it guards (a conditional UPDATE), so concurrent
  requests cannot slip past it.
- Retention: a session is deleted with all its drawings ``retention_s`` after it started (default 4
  hours); ``purge`` runs at most once a minute from the store's own calls, and from
  ``digitzoo classroom purge``. To keep a class's drawings, the teacher exports them (an open dataset).
- The clock is a parameter, so tests move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitzoo.hub.classroom import schema
from digitzoo.hub.classroom.drawing import CLASSES, Drawing
from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError

RETENTION_S = 4 * 3600
MAX_OPEN_SESSIONS = 200
MAX_STUDENTS = 200
MAX_DRAWINGS = 20_000
MAX_PER_DEVICE = 500
MIN_INTERVAL_S = 1.0
PURGE_EVERY_S = 60.0
# Join codes: 6 characters from 31 that cannot be confused when read off a projector (no 0/O, 1/I/L):
# 31**6 = 887 million codes for at most MAX_OPEN_SESSIONS open sessions; with wrong codes limited per
# client (apps.classroom), guessing one takes years.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
PROMPT_ROUNDS = 10  # a device's prompts: each digit once per round of 10, in a shuffled order


class ClassroomError(DigitzooError):
    """A request the classroom refuses; the message is the sentence the page shows. ``status`` is the
    HTTP status the server answers with."""

    status = 400


class NotFound(ClassroomError):
    status = 404


class Full(ClassroomError):
    status = 409


class TooFast(ClassroomError):
    status = 429


def default_url() -> str:
    return f"sqlite:///{paths.store_dir() / 'classroom.sqlite3'}"


def _engine(url: str) -> sa.Engine:
    if url.startswith(("postgresql://", "postgres://")):  # the URL people copy; SQLAlchemy wants the driver named
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        database = sa.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (the dashboard) never block the writers
            cursor.execute("PRAGMA synchronous=FULL")  # "saved" means on disk
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    except (ImportError, sa.exc.ArgumentError) as exc:  # no psycopg, or a URL SQLAlchemy cannot read
        raise DigitzooError(f"Cannot use the classroom database {url.split('@')[-1]!r}: {exc}. For PostgreSQL: "
                            "pip install 'psycopg[binary]' and --db postgresql://USER:PASSWORD@HOST/DB") from exc


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def prompts(rng: random.Random, rounds: int = PROMPT_ROUNDS) -> list[int]:
    """The digits a device is asked for: each round holds 0-9 once, shuffled."""
    out = []
    for _ in range(rounds):
        block = list(range(CLASSES))
        rng.shuffle(block)
        out.extend(block)
    return out


@dataclass(frozen=True)
class Started:
    code: str
    teacher_key: str
    expires_at: float


@dataclass(frozen=True)
class Joined:
    token: str
    prompts: list[int]
    expires_at: float


@dataclass(frozen=True)
class Saved:
    id: int
    duplicate: bool  # True: the same drawing (same page id) was saved before; nothing new was written


@dataclass(frozen=True)
class StoredDrawing:
    """A drawing as the dashboard and the export read it back."""

    id: int
    student: int  # the device's number within the session (1, 2, ...), not its token
    label: int
    prompted: bool
    strokes: list
    pixels: bytes
    answers: dict[str, list[float]]
    not_digit: float
    created_at: float

    def reading(self, model: str) -> int | None:
        probs = self.answers.get(model)
        return None if probs is None else max(range(CLASSES), key=probs.__getitem__)


class ClassroomStore:
    """The classroom's database (see the module's docstring)."""

    def __init__(self, url: str | None = None, *, clock: Callable[[], float] = time.time,
                 retention_s: float = RETENTION_S, max_students: int = MAX_STUDENTS,
                 max_drawings: int = MAX_DRAWINGS, max_per_device: int = MAX_PER_DEVICE,
                 min_interval_s: float = MIN_INTERVAL_S, max_open_sessions: int = MAX_OPEN_SESSIONS):
        self.url = url or default_url()
        self.engine = _engine(self.url)
        self.clock = clock
        self.retention_s = retention_s
        self.max_students, self.max_drawings = max_students, max_drawings
        self.max_per_device, self.min_interval_s = max_per_device, min_interval_s
        self.max_open_sessions = max_open_sessions
        self._next_purge = float("-inf")
        schema.migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ---- retention -----------------------------------------------------------------------------

    def purge(self) -> int:
        """Delete every session past its retention time, with its devices and drawings; the count."""
        now = self.clock()
        self._next_purge = now + PURGE_EVERY_S
        with self.engine.begin() as conn:
            ids = [row.id for row in conn.execute(sa.select(schema.sessions.c.id).where(schema.sessions.c.expires_at <= now))]
            for session_id in ids:
                self._delete(conn, session_id)
        return len(ids)

    def _maybe_purge(self) -> None:
        if self.clock() >= self._next_purge:
            self.purge()

    @staticmethod
    def _delete(conn: Connection, session_id: int) -> None:
        conn.execute(schema.drawings.delete().where(schema.drawings.c.session_id == session_id))
        conn.execute(schema.students.delete().where(schema.students.c.session_id == session_id))
        conn.execute(schema.sessions.delete().where(schema.sessions.c.id == session_id))

    # ---- the teacher ---------------------------------------------------------------------------

    def start(self, retention_s: float | None = None) -> Started:
        """A new session: its join code, the teacher's key and when it will be deleted."""
        self._maybe_purge()
        retention = self.retention_s if retention_s is None else retention_s
        if not 60 <= retention <= 7 * 24 * 3600:
            raise ClassroomError("Keep a session between one minute and one week (export the drawings to keep them longer).")
        now = self.clock()
        teacher_key = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            open_now = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)
                                    .where(schema.sessions.c.expires_at > now)).scalar()
            if open_now >= self.max_open_sessions:
                raise Full("Too many classroom sessions are open on this server: try again later.")
            for _ in range(20):  # a clash among 887 million codes is rare; 20 in a row is a broken random source
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                if conn.execute(sa.select(schema.sessions.c.id).where(schema.sessions.c.code == code)).first() is None:
                    break
            else:
                raise ClassroomError("Could not find a free join code.")
            conn.execute(schema.sessions.insert().values(
                code=code, teacher_hash=_hash(teacher_key), created_at=now, expires_at=now + retention, closed=False,
                max_students=self.max_students, max_drawings=self.max_drawings, students=0, drawings=0))
        return Started(code, teacher_key, now + retention)

    def _teacher_session(self, conn: Connection, teacher_key: str):
        if not isinstance(teacher_key, str) or not teacher_key:
            raise NotFound("This teacher link is not valid (or its session was deleted).")
        row = conn.execute(sa.select(schema.sessions).where(schema.sessions.c.teacher_hash == _hash(teacher_key))).first()
        if row is None or row.expires_at <= self.clock():
            raise NotFound("This teacher link is not valid (or its session was deleted).")
        return row

    def session(self, teacher_key: str) -> dict:
        """The session's facts for its teacher."""
        with self.engine.connect() as conn:
            row = self._teacher_session(conn, teacher_key)
        return {"code": row.code, "created_at": row.created_at, "expires_at": row.expires_at, "closed": bool(row.closed),
                "students": row.students, "drawings": row.drawings,
                "max_students": row.max_students, "max_drawings": row.max_drawings}

    def close_session(self, teacher_key: str) -> None:
        """No more joins or drawings; the dashboard and the export still work until the session is deleted."""
        with self.engine.begin() as conn:
            row = self._teacher_session(conn, teacher_key)
            conn.execute(schema.sessions.update().where(schema.sessions.c.id == row.id).values(closed=True))

    def delete_session(self, teacher_key: str) -> None:
        with self.engine.begin() as conn:
            self._delete(conn, self._teacher_session(conn, teacher_key).id)

    def delete_drawing(self, teacher_key: str, drawing_id: int) -> None:
        with self.engine.begin() as conn:
            row = self._teacher_session(conn, teacher_key)
            gone = conn.execute(schema.drawings.delete().where(schema.drawings.c.session_id == row.id,
                                                               schema.drawings.c.id == int(drawing_id))).rowcount
            if not gone:
                raise NotFound("There is no such drawing in this session.")
            conn.execute(schema.sessions.update().where(schema.sessions.c.id == row.id)
                         .values(drawings=schema.sessions.c.drawings - 1))

    def drawings(self, teacher_key: str, after: int = 0, strokes: bool = True) -> list[StoredDrawing]:
        """The session's drawings with an id above ``after``, oldest first; ``strokes=False`` leaves the
        strokes out (empty lists): the dashboard needs only readings and pixels, every second."""
        with self.engine.connect() as conn:
            row = self._teacher_session(conn, teacher_key)
            numbers = {s.id: i for i, s in enumerate(conn.execute(
                sa.select(schema.students.c.id).where(schema.students.c.session_id == row.id)
                .order_by(schema.students.c.id)), start=1)}
            columns = [c for c in schema.drawings.c if strokes or c.name != "strokes"]
            rows = conn.execute(sa.select(*columns).where(schema.drawings.c.session_id == row.id,
                                                          schema.drawings.c.id > after)
                                .order_by(schema.drawings.c.id)).all()
        return [StoredDrawing(r.id, numbers.get(r.student_id, 0), r.label, bool(r.prompted),
                              json.loads(r.strokes) if strokes else [],
                              bytes(r.pixels), json.loads(r.answers), r.not_digit, r.created_at) for r in rows]

    def count_up_to(self, teacher_key: str, last_id: int) -> int:
        """How many of the session's drawings have an id up to ``last_id``: a reader that kept the drawings
        it saw compares this with their number to learn whether any went since (an index-only count)."""
        with self.engine.connect() as conn:
            row = self._teacher_session(conn, teacher_key)
            return conn.execute(sa.select(sa.func.count()).select_from(schema.drawings).where(
                schema.drawings.c.session_id == row.id, schema.drawings.c.id <= last_id)).scalar()

    # ---- the students --------------------------------------------------------------------------

    def _open_session(self, conn: Connection, code: str):
        code = code.strip().upper() if isinstance(code, str) else ""
        row = conn.execute(sa.select(schema.sessions).where(schema.sessions.c.code == code)).first() if code else None
        if row is None or row.expires_at <= self.clock():
            raise NotFound("There is no class with this code: check it on the projector.")
        if row.closed:
            raise ClassroomError("This class is closed: the teacher stopped taking drawings.")
        return row

    def join(self, code: str) -> Joined:
        """A device joins the session of ``code``: its token (the page keeps it) and its prompts."""
        self._maybe_purge()
        token = secrets.token_urlsafe(18)
        with self.engine.begin() as conn:
            row = self._open_session(conn, code)
            taken = conn.execute(schema.sessions.update()
                                 .where(schema.sessions.c.id == row.id, schema.sessions.c.students < row.max_students)
                                 .values(students=schema.sessions.c.students + 1)).rowcount
            if not taken:
                raise Full(f"This class is full ({row.max_students} devices).")
            conn.execute(schema.students.insert().values(session_id=row.id, token_hash=_hash(token),
                                                         joined_at=self.clock(), drawings=0))
        return Joined(token, prompts(random.Random(secrets.randbits(64))), row.expires_at)

    def save(self, code: str, token: str, drawing: Drawing) -> Saved:
        """Keep ``drawing`` from the device of ``token``; returns once it is committed."""
        self._maybe_purge()
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                return self._save(conn, code, token, drawing, now)
        except sa.exc.IntegrityError:  # the same drawing, sent twice at once: the other send saved it
            with self.engine.connect() as conn:
                session = self._open_session(conn, code)
                saved = self._saved(conn, session.id, drawing.id)
            if saved is None:
                raise
            return saved

    @staticmethod
    def _saved(conn: Connection, session_id: int, client_id: str) -> Saved | None:
        row = conn.execute(sa.select(schema.drawings.c.id).where(schema.drawings.c.session_id == session_id,
                                                                  schema.drawings.c.client_id == client_id)).first()
        return None if row is None else Saved(row.id, duplicate=True)

    def _save(self, conn: Connection, code: str, token: str, drawing: Drawing, now: float) -> Saved:
        session = self._open_session(conn, code)
        student = conn.execute(sa.select(schema.students).where(
            schema.students.c.token_hash == _hash(token if isinstance(token, str) else ""),
            schema.students.c.session_id == session.id)).first()
        if student is None:
            raise NotFound("This device has not joined this class: open the join link again.")
        saved = self._saved(conn, session.id, drawing.id)
        if saved is not None:
            return saved
        s = schema.students.c
        allowed = conn.execute(schema.students.update().where(
            s.id == student.id, s.drawings < self.max_per_device,
            sa.or_(s.last_drawing_at.is_(None), s.last_drawing_at <= now - self.min_interval_s),
        ).values(drawings=s.drawings + 1, last_drawing_at=now)).rowcount
        if not allowed:
            if student.drawings >= self.max_per_device:
                raise Full(f"This device has sent {self.max_per_device} drawings, the most one device may.")
            raise TooFast("One drawing a second at most: wait a moment and send again.")
        room = conn.execute(schema.sessions.update().where(
            schema.sessions.c.id == session.id, schema.sessions.c.drawings < session.max_drawings,
        ).values(drawings=schema.sessions.c.drawings + 1)).rowcount
        if not room:
            raise Full(f"This class has {session.max_drawings} drawings, the most a session keeps.")
        new_id = conn.execute(schema.drawings.insert().values(
            session_id=session.id, student_id=student.id, client_id=drawing.id, label=drawing.label,
            prompted=drawing.prompted, strokes=json.dumps(drawing.strokes, separators=(",", ":")),
            pixels=drawing.pixels, answers=json.dumps(drawing.answers, separators=(",", ":")),
            not_digit=drawing.not_digit, created_at=now)).inserted_primary_key[0]
        return Saved(int(new_id), duplicate=False)

    # ---- the server's owner --------------------------------------------------------------------

    def drawings_by_code(self, code: str) -> tuple[dict, list[StoredDrawing]]:
        """A session's facts (as ``session`` gives them) and its drawings with their strokes, oldest first,
        found by its join code, closed or not: for ``digitzoo classroom export``, which runs where the
        database is (whoever runs it can read every session anyway), so it needs no teacher link."""
        code = code.strip().upper() if isinstance(code, str) else ""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.sessions).where(schema.sessions.c.code == code)).first() if code else None
            if row is None or row.expires_at <= self.clock():
                raise NotFound(f"There is no session with the join code {code!r} in this database (or it was deleted).")
            numbers = {s.id: i for i, s in enumerate(conn.execute(
                sa.select(schema.students.c.id).where(schema.students.c.session_id == row.id)
                .order_by(schema.students.c.id)), start=1)}
            rows = conn.execute(sa.select(schema.drawings).where(schema.drawings.c.session_id == row.id)
                                .order_by(schema.drawings.c.id)).all()
        facts = {"code": row.code, "created_at": row.created_at, "expires_at": row.expires_at, "closed": bool(row.closed),
                 "students": row.students, "drawings": row.drawings,
                 "max_students": row.max_students, "max_drawings": row.max_drawings}
        return facts, [StoredDrawing(r.id, numbers.get(r.student_id, 0), r.label, bool(r.prompted), json.loads(r.strokes),
                                     bytes(r.pixels), json.loads(r.answers), r.not_digit, r.created_at) for r in rows]
