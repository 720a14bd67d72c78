"""Atomic writes and checksums (stdlib only: the serving path uses them without torch)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    >>> len(sha256_file(__file__))
    64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary readable file
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def atomic_write_partials(folder: str | os.PathLike, names: tuple[str, ...]) -> list[Path]:
    """The temporaries an ``atomic_write`` of one of ``names`` left in ``folder`` when killed before its rename."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    prefixes = tuple(f".{name}." for name in names)
    return [p for p in folder.iterdir() if p.name.startswith(prefixes) and p.name.endswith(".tmp")]


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def inside(root: str | os.PathLike, relative: str) -> Path:
    """``root / relative`` resolved, or ValueError when it would leave ``root`` (``..``, absolute, links)."""
    root = Path(root).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"{relative!r} points outside {root}")
    return target


def read_format_json(path: Path, expected_format: str, what: str, error: type[Exception], missing: str) -> dict:
    """A JSON object whose ``format`` field must be ``expected_format``; ``error`` for anything else.

    >>> read_format_json(Path("card.json"), "digitzoo-checkpoint/1", "checkpoint card", ValueError, "absent")  # doctest: +SKIP
    """
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(missing) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path} is not a valid {what} ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise error(f"{path} is not a digitzoo {what} ({expected_format})")
    return data


def temp_dir_beside(target: str | os.PathLike) -> Path:
    """A new empty folder next to ``target`` (same filesystem, so it can be renamed onto it).

    Made with the permissions a plain mkdir would give, not mkdtemp's owner-only 0700: the
    folder becomes ``target`` once complete.
    """
    target = Path(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    work.chmod(0o777 & ~umask)
    return work


def new_folder_path(out_dir: str | os.PathLike) -> Path:
    """``out_dir`` resolved, when it does not exist or is an empty folder; else one clear error."""
    from digitzoo.hub.errors import DigitzooError

    out = Path(out_dir).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DigitzooError(f"{out} exists and is not empty: choose a new folder")
    return out


@contextlib.contextmanager
def folder_built_in_place(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out`` to build in; it becomes ``out`` when the block ends
    well and is removed when it fails, so a failed build leaves nothing half-written.

    >>> with folder_built_in_place(tmp / "site") as work:  # doctest: +SKIP
    ...     (work / "index.html").write_text("...")
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    work = temp_dir_beside(out)
    try:
        yield work
        if out.exists():
            out.rmdir()  # empty: new_folder_path checked
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
