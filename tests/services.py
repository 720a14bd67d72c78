"""Real PostgreSQL and nginx for the tests that need them (Debian's packages; scripts/test.sh installs
them where it can). Each helper yields what it started and stops it after; where the binaries are not
installed, ``why_not`` says so and the tests skip with that reason."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from digitzoo.hub.benchmarking import free_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def why_not() -> str | None:
    """Why the PostgreSQL + nginx tests cannot run here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL's server is not installed (apt-get install postgresql)"
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx-light)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL refuses to run as root"
    return None


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres():
    """A fresh PostgreSQL cluster on a free port (trust auth, loopback only); yields its URL."""
    bin_dir = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="digitzoo-pg-"))
    data, port = folder / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "digitzoo", "--no-sync"]),
                   check=True, capture_output=True)
    ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
           "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on"]
    subprocess.run(_as_postgres([*ctl, "start"]), check=True, capture_output=True)
    try:
        subprocess.run(_as_postgres([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "digitzoo",
                                     "classroom"]), check=True, capture_output=True)
        yield f"postgresql://digitzoo@127.0.0.1:{port}/classroom"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def wait_until(check, timeout_s: float = 10.0, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every_s)
