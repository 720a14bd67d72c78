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
import time
import urllib.request
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


@contextlib.contextmanager
def static_server(folder):
    """`python -m http.server` on a free loopback port until it answers; yields its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        began = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() - began < 30, "http.server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)



# The pages' own markup (apps/web/draw.js, latent.js, gan.js): the same in the hub and the static site.
DRAW, LATENT, GAN = ".dz-draw", ".dz-latent", ".dz-gan"


def state(page, root: str = DRAW) -> dict:
    """A page's state as it keeps it in its root's data-* attributes (strings; absent = not yet)."""
    return page.evaluate("(sel) => ({...(document.querySelector(sel)?.dataset ?? {})})", root)


def pad_points(page, points, pad: str = f"{DRAW} .dz-pad") -> list[tuple[float, float]]:
    """Fractions of the pad (0..1 across and down) as points on screen."""
    box = page.locator(pad).bounding_box()
    return [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in points]


def draw_stroke(page, points, pad: str = f"{DRAW} .dz-pad", steps: int = 8, release: bool = True, touch: bool = False) -> None:
    """One stroke through ``points`` (fractions of the pad) with the mouse, in small moves; or, with
    ``touch``, as a finger (pointer events of type touch, dispatched on the pad)."""
    at = pad_points(page, points, pad)
    path = [at[0]] + [(ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps)
                      for (ax, ay), (bx, by) in zip(at, at[1:]) for i in range(1, steps + 1)]
    if touch:  # a finger through Chromium's own touch input (it becomes pointer events of type "touch")
        cdp = page.context.new_cdp_session(page)
        for kind, (x, y) in [("touchStart", path[0]), *(("touchMove", p) for p in path[1:])]:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
        return
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point)
    if release:
        page.mouse.up()
