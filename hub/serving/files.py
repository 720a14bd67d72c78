"""Atomic writes and checksums (stdlib only: the serving path uses them without torch)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


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


def open_inside(root: str | os.PathLike, relative: str) -> BinaryIO:
    """``root / relative`` opened for reading, passing through no symbolic link below ``root``.

    ``inside`` checks a path when it is called; a file swapped for a link after that check (a served
    file replaced by a link to /etc/shadow while the server runs) would still be followed by the
    open that comes later. Here the check is the open itself: each folder, then the file, is opened
    relative to the one above it with O_NOFOLLOW, so no link is followed, whenever it appeared.
    ValueError for ``..``, an absolute path, a link, or anything that is not a regular file;
    FileNotFoundError for a file that is not there. The root itself is the operator's choice and
    may lie behind links.

    >>> with open_inside(Path(__file__).parent, "files.py") as f:
    ...     f.read(9)[3:]  # past the docstring's quotes
    b'Atomic'
    >>> open_inside(Path(__file__).parent, "../hub/serving/files.py")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: '../hub/serving/files.py' points outside ...: only plain relative paths are opened
    """
    names = relative.split("/")
    if relative.startswith("/") or any(name in ("", ".", "..") for name in names):
        raise ValueError(f"{relative!r} points outside {root}: only plain relative paths are opened")
    nofollow = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    folder_fd = os.open(Path(root).resolve(), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in names[:-1]:
            try:
                next_fd = os.open(name, nofollow | os.O_DIRECTORY, dir_fd=folder_fd)
            except OSError as exc:  # ELOOP / ENOTDIR: a link or a file where a folder should be
                raise ValueError(f"{relative!r} is not a file inside {root} ({exc.strerror})") from None
            os.close(folder_fd)
            folder_fd = next_fd
        try:
            # O_NONBLOCK: a FIFO planted in the folder must not hang the open; S_ISREG below refuses it.
            fd = os.open(names[-1], nofollow | os.O_NONBLOCK, dir_fd=folder_fd)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ValueError(f"{relative!r} is not a file inside {root} ({exc.strerror})") from None
    finally:
        os.close(folder_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{relative!r} is not a regular file inside {root}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_inside(root: str | os.PathLike, relative: str, sha256: str | None = None) -> bytes:
    """The bytes of ``root / relative`` (opened as ``open_inside`` does); with ``sha256``, ValueError
    unless they match it. The bytes checked are the bytes returned: nothing can change between the
    check and their use, as it could between checking a path and opening it again.

    >>> read_inside(Path(__file__).parent, "files.py", sha256_file(__file__))[3:9]
    b'Atomic'
    """
    with open_inside(root, relative) as f:
        data = f.read()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{relative!r} in {root} does not match its sha256")
    return data


def read_format_json(path: Path, expected_format: str, what: str, error: type[Exception], missing: str) -> dict:
    """A JSON object whose ``format`` field must be ``expected_format``; ``error`` for anything else.

    >>> read_format_json(Path("no/card.json"), "digitzoo-checkpoint/1", "checkpoint card", ValueError, "no card here")
    Traceback (most recent call last):
    ...
    ValueError: no card here
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
    from digitzoo.hub.serving.errors import DigitzooError

    out = Path(out_dir).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DigitzooError(f"{out} exists and is not empty: choose a new folder")
    return out


@contextlib.contextmanager
def folder_built_in_place(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out`` to build in; it becomes ``out`` when the block ends
    well and is removed when it fails, so a failed build leaves nothing half-written.

    >>> tmp = Path(tempfile.mkdtemp())
    >>> with folder_built_in_place(tmp / "site") as work:
    ...     _ = (work / "index.html").write_text("...")
    >>> [p.relative_to(tmp).as_posix() for p in tmp.rglob("*")]
    ['site', 'site/index.html']
    >>> shutil.rmtree(tmp)
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
