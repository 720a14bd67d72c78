"""Shared by the browser tests: Debian's Chromium, the artifacts folder, a real server to drive.

Importing this skips the importing test module when no browser is installed, except in CI
(DIGITZOO_REQUIRE_BROWSER), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

from digitzoo.hub.benchmarking import free_port, serving

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
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    with serving([sys.executable, "-m", "digitzoo.apps", "--port", "{port}", *serve_args], port=port,
                 log_path=ARTIFACTS / f"server-{port}.log", what=f"digitzoo serve {' '.join(serve_args)}") as server:
        print(f"digitzoo serve {' '.join(serve_args)} answered after {server.answered_s:.1f} s")
        yield server.url
    server.log_path.unlink(missing_ok=True)
