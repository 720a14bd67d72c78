"""`digitzoo classroom ...`: the classroom's database, from the server it lives on (``export`` a session as
an open data set, ``purge`` the sessions past their retention time); and ``push_dataset``, what
`digitzoo push-dataset` runs to publish such a data set as a Hugging Face dataset repository.

These commands run where the database is: whoever runs them can read it anyway, so a session is named by
its join code, not by the teacher's link. As in the rest of the command line, every stage is imported
inside the command that needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from digitzoo.hub.serving.errors import DigitzooError

classroom_app = typer.Typer(no_args_is_help=True, help="The classroom's database, on the server it lives on: "
                            "start a class, export a session's drawings as an open data set, purge expired sessions.")

DB_HELP = ("the classroom's database (default: the SQLite file in the store that `digitzoo serve` uses), or "
           "postgresql://USER:PASSWORD@HOST/DB")
CARD_LINES = 30  # of the dataset card, in a dry run's plan


def _where(url: str) -> str:
    """The database's URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@')[-1]}"


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    import sqlalchemy as sa

    database = sa.make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def database_url(db: str | None) -> str:
    from digitzoo.hub.classroom.store import default_url

    return db or default_url()


def open_store(url: str):
    """The store at ``url``; for a SQLite file that does not exist, a DigitzooError rather than a new empty
    database (a mistyped --db)."""
    from digitzoo.hub.classroom.store import ClassroomStore

    file = _sqlite_file(url)
    if file is not None and not file.is_file():
        raise DigitzooError(f"there is no classroom database at {file}: give the one `digitzoo serve` used with --db")
    return ClassroomStore(url)


@classroom_app.command("start")
def classroom_start(
    url: str = typer.Option("http://127.0.0.1:7860", help="the address the students reach the hub at (`digitzoo serve "
                            "--host 0.0.0.0` and this machine's address on the class's network)"),
    hours: float = typer.Option(4.0, help="the drawings are deleted this long after the start, unless exported"),
    db: Optional[str] = typer.Option(None, help=DB_HELP),
) -> None:
    """Start a class in the hub's database: prints the join code, the join URL with its QR code (for the
    projector), and the teacher's secret dashboard link."""
    import segno

    from digitzoo.hub.classroom.store import ClassroomStore

    if not 0.02 <= hours <= 168:
        raise DigitzooError("--hours is between 0.02 (a few minutes) and 168 (a week)")
    base = url.rstrip("/")
    store = ClassroomStore(database_url(db))
    try:
        started = store.start(retention_s=hours * 3600)
    finally:
        store.close()
    join = f"{base}/digitzoo/classroom/join?code={started.code}"
    segno.make(join, error="m").terminal(compact=True)
    print(f"join code: {started.code}\njoin URL:  {join}\n"
          f"teacher:   {base}/digitzoo/classroom/#key={started.teacher_key}  (keep this link to yourself)\n"
          f"The drawings are deleted after {hours:g} hours unless you export them "
          f"(`digitzoo classroom export {started.code} DIR`, or Export on the dashboard).")


@classroom_app.command("export")
def classroom_export(
    code: str = typer.Argument(..., help="the session's join code (the one on the projector)"),
    out_dir: str = typer.Argument(..., help="new folder to write the data set into"),
    db: Optional[str] = typer.Option(None, help=DB_HELP),
) -> None:
    """Write a session's drawings as an open data set (CC BY 4.0): drawings.ndjson, images/, digits.npz, README.md."""
    from digitzoo.hub.classroom.dataset import write_dataset
    from digitzoo.hub.serving.manifest import demo_models, read_manifest

    store = open_store(database_url(db))
    try:
        facts, drawings = store.drawings_by_code(code)
    finally:
        store.close()
    try:
        models = demo_models(read_manifest(), "draw")  # the card lists the page's classifiers in its order
    except DigitzooError:
        models = None
    summary = write_dataset(drawings, out_dir, session=facts, models=models)
    print(summary.line())


@classroom_app.command("purge")
def classroom_purge(db: Optional[str] = typer.Option(None, help=DB_HELP)) -> None:
    """Delete every session past its retention time, with its drawings (the server also does it as it runs)."""
    url = database_url(db)
    file = _sqlite_file(url)
    if file is not None and not file.is_file():  # no class was ever held here
        print(f"no classroom database at {file}: nothing to purge")
        return
    store = open_store(url)
    try:
        deleted = store.purge()
    finally:
        store.close()
    print(f"{deleted} expired session{'s' if deleted != 1 else ''} deleted, with {'their' if deleted != 1 else 'its'} "
          f"drawings, from {_where(store.url)}")


# ---- `digitzoo push-dataset` (a command of the top level, in digitzoo.cli) ----------------------------

def dataset_files(folder: Path):
    """The data set's own files in ``folder`` (card, ndjson, npz, images/*.png) as repository files, and the
    paths of anything else there, which is not uploaded."""
    from digitzoo.hub.classroom.dataset import CARD, IMAGES, NDJSON, NPZ
    from digitzoo.hub.publish.hfclient import folder_files

    def ours(path: str) -> bool:
        return path in (CARD, NDJSON, NPZ) or (path.startswith(f"{IMAGES}/") and path.count("/") == 1 and path.endswith(".png"))

    files = folder_files(folder)
    return [f for f in files if ours(f.path)], [f.path for f in files if not ours(f.path)]


def push_dataset(folder: str | Path, repo_id: str, *, private: bool, dry_run: bool, out=print) -> str | None:
    """Publish a data set folder (``digitzoo classroom export``) as a Hugging Face dataset repository in one
    commit; ``dry_run``: print the plan (files, sizes, the card's first lines) and send nothing."""
    from digitzoo.hub.classroom.dataset import CARD, read_dataset
    from digitzoo.hub.publish.hfclient import check_repo_id, describe_plan, endpoint, push_files

    check_repo_id(repo_id)
    folder = Path(folder)
    x, _ = read_dataset(folder)  # refuses a folder that is not a whole data set
    files, left_out = dataset_files(folder)
    message = f"digitzoo push-dataset: {len(x)} drawn digits"
    if left_out:
        out(f"Not uploaded (not part of a classroom data set): {', '.join(left_out[:10])}"
            + (f" and {len(left_out) - 10} more" if len(left_out) > 10 else ""))
    if dry_run:
        lines = (folder / CARD).read_text(encoding="utf-8").splitlines()
        head = "\n".join(lines[:CARD_LINES]) + (f"\n... ({len(lines) - CARD_LINES} more lines)" if len(lines) > CARD_LINES else "")
        describe_plan(f"Would create (if needed) the {'private' if private else 'public'} dataset repository "
                      f"{endpoint()}/datasets/{repo_id} and commit to main: {message!r}", files, head, out)
        out("\n(dry run: nothing was sent)")
        return None
    return push_files(repo_id, files, repo_type="dataset", private=private, revision=None, message=message,
                      dry_run=False, out=out)
