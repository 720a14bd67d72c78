"""The classroom database's tables and its numbered migrations (SQLAlchemy Core; SQLite or PostgreSQL).

A database records its version in ``schema_version``; ``migrate`` brings it from whatever version it
is at (0: empty) to ``len(STEPS)``, one step per transaction, each step under a lock, so two servers
that start at once against one PostgreSQL do not both run a step. A database made by a newer
digitzoo (a version past ``len(STEPS)``) is refused with a sentence, never altered.

Why our own numbered steps, not alembic: the schema is three tables, and a step is a function of a
connection that tests can run from any earlier version; alembic would add a config file, a script
folder and an environment module to get the same.

What is stored: no names, no IP addresses, no user agents. A device is a random token, kept only as
its sha256 (so a copy of the database cannot be used to send drawings as a student); the teacher's
link likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digitzoo.hub.serving.errors import DigitzooError

metadata = sa.MetaData()

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

sessions = sa.Table(
    "classroom_sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),  # the join code students type
    sa.Column("teacher_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the teacher link's key
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # deleted then, with every drawing (export to keep)
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
    sa.Column("max_students", sa.Integer, nullable=False),
    sa.Column("max_drawings", sa.Integer, nullable=False),
    sa.Column("students", sa.Integer, nullable=False, default=0),
    sa.Column("drawings", sa.Integer, nullable=False, default=0),
)

students = sa.Table(
    "classroom_students", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("classroom_sessions.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the device's random token
    sa.Column("joined_at", sa.Float, nullable=False),
    sa.Column("last_drawing_at", sa.Float, nullable=True),
    sa.Column("drawings", sa.Integer, nullable=False, default=0),
)

drawings = sa.Table(
    "classroom_drawings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("classroom_sessions.id"), nullable=False),
    sa.Column("student_id", sa.Integer, sa.ForeignKey("classroom_students.id"), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),  # the page's id: a retried send is saved once
    sa.Column("label", sa.Integer, nullable=False),
    sa.Column("prompted", sa.Boolean, nullable=False),
    sa.Column("strokes", sa.Text, nullable=False),  # JSON: [[[x, y, t], ...], ...]
    sa.Column("pixels", sa.LargeBinary, nullable=False),  # 784 bytes, 0-255, MNIST layout
    sa.Column("answers", sa.Text, nullable=False),  # JSON: {model: [10 probabilities]}
    sa.Column("not_digit", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("session_id", "client_id", name="uq_classroom_drawing_client"),
    sa.Index("ix_classroom_drawings_session", "session_id", "id"),
)


def _step1_tables(conn: Connection) -> None:
    """Version 1: sessions, students, drawings."""
    metadata.create_all(conn, tables=[sessions, students, drawings])


def _step2_expiry_index(conn: Connection) -> None:
    """Version 2: an index on the sessions' expiry, which the retention purge scans on every start."""
    # Plain DDL, not an sa.Index: an Index object joins the table's metadata, and step 1's create_all
    # would then make it too, on a database that starts empty.
    conn.execute(sa.text("CREATE INDEX ix_classroom_sessions_expires ON classroom_sessions (expires_at)"))


Step = Callable[[Connection], None]
STEPS: tuple[Step, ...] = (_step1_tables, _step2_expiry_index)


def _lock(conn: Connection) -> None:
    """Hold the migration lock until this transaction ends (PostgreSQL: an advisory lock; SQLite: the
    database's write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7305)"))  # 7305: digitzoo's classroom, any constant
    elif conn.dialect.name == "sqlite":
        conn.execute(sa.text("UPDATE schema_version SET version = version"))  # takes the write lock now


def version(conn: Connection) -> int:
    """The database's schema version; 0 for an empty database."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    row = conn.execute(sa.select(schema_version.c.version)).first()
    return 0 if row is None else int(row[0])


def migrate(engine: sa.Engine, steps: Sequence[Step] = STEPS) -> int:
    """Bring the database to ``len(steps)``; returns the version it was at."""
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        if conn.execute(sa.select(sa.func.count()).select_from(schema_version)).scalar() == 0:
            conn.execute(schema_version.insert().values(version=0))
    with engine.connect() as conn:
        found = version(conn)
    if found > len(steps):
        raise DigitzooError(f"The classroom database is at version {found}, made by a newer digitzoo "
                            f"(this one knows up to {len(steps)}): upgrade digitzoo or use another --db.")
    for number, step in enumerate(steps, start=1):
        with engine.begin() as conn:
            _lock(conn)
            if version(conn) >= number:  # another process ran it while we waited for the lock
                continue
            step(conn)
            conn.execute(schema_version.update().values(version=number))
    return found
