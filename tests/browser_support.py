"""Shared by the browser tests: Debian's Chromium, the artifacts folder, a real server to drive.

Importing this skips the importing test module when no browser is installed, except in CI
(DIGITZOO_REQUIRE_BROWSER), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from digitzoo.apps.bench import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (root in CI), no GPU, and none of Chromium's own network traffic (refused here).
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

if not Path(CHROMIUM).exists() or not importlib.util.find_spec("playwright"):
    if os.environ.get("DIGITZOO_REQUIRE_BROWSER"):
        raise RuntimeError("browser tests required (DIGITZOO_REQUIRE_BROWSER) but Chromium or Playwright is missing")
    pytest.skip("Chromium (apt-get install chromium) and playwright are needed", allow_module_level=True)


@contextlib.contextmanager
def start_server(*serve_args: str):
    """`python -m digitzoo.apps --port P ARGS` until it answers; yields its URL, stops it after.

    The server's output goes to a log file, not a pipe: a pipe nobody reads fills up and stalls
    a chatty server mid-test.
    """
    port = free_port()
    began = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"server-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "digitzoo.apps", "--port", str(port), *serve_args],
                                stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() - began < 120, "server did not start"
                time.sleep(0.1)
        print(f"digitzoo serve {' '.join(serve_args)} answered after {time.monotonic() - began:.1f} s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log_path.unlink(missing_ok=True)
