"""The static site in a real browser: `digitzoo web build --vendor`, served by `python -m http.server`.

Needs Debian's Chromium, Playwright for Python and onnxruntime-web from npm (`npm ci` in apps/web;
.ci/run does it). Without them the module is skipped here, and fails in CI (DIGITZOO_REQUIRE_BROWSER).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zlib

import numpy as np
import pytest

from browser_support import ARTIFACTS  # skips this module without a browser; conftest has the browser fixture
from digitzoo.apps import web_build
from digitzoo.apps.bench import free_port
from digitzoo.hub.serving import sketch
from digitzoo.hub.serving.manifest import artifact, demo_models, exports_root, part_with_role, read_manifest, verified_path

if not web_build.ORT_NPM_DIST.is_dir():
    if os.environ.get("DIGITZOO_REQUIRE_BROWSER"):
        raise RuntimeError(f"the static-site tests need onnxruntime-web from npm: {web_build.NPM_HINT}")
    pytest.skip(f"onnxruntime-web is not installed: {web_build.NPM_HINT}", allow_module_level=True)

PARITY_DRAWINGS = 300
# The page's preprocessing follows hub/serving/sketch.py operation by operation in float32 (see apps/web/sketch.js);
# what remains is float rounding, so the tolerance is a rounding error, not a pixel's worth.
PARITY_TOLERANCE = 1e-5
SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]


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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return web_build.build_site(tmp_path_factory.mktemp("web") / "site", exports_root(), vendor=True)


@pytest.fixture(scope="module")
def url(site):
    with static_server(site) as served:
        yield served


@pytest.fixture()
def page(browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, errors


def wait_ready(page, timeout=60_000):
    page.wait_for_function("() => window.digitzoo && window.digitzoo.readyMs !== null", timeout=timeout)


def top_digit(page, label: str) -> str:
    return page.locator(f'.answer[data-label="{label}"] .top-digit').inner_text().strip()


def first_draw_label() -> str:
    manifest = read_manifest()
    return manifest.models[demo_models(manifest, "draw")[0]].demo["label"]


def stroke_points(box, points, steps=15):
    at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    yield at(*points[0])
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            yield at(ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps)


def draw_stroke(page, points) -> None:
    """One mouse stroke through ``points`` (page coordinates): press, move, release."""
    points = list(points)
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y)
    page.mouse.up()


def canvas_pixels(page, selector: str) -> str:
    return page.evaluate("(s) => document.querySelector(s).toDataURL()", selector)


# ---- The page's preprocessing against hub/serving/sketch.py ------------------------------------------------

PREPROCESS_IN_PAGE = """async ({ packed, width, height }) => {
  const { preprocess } = await import('./sketch.js');
  const compressed = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream('deflate'));
  const rgba = new Uint8Array(await new Response(stream).arrayBuffer());
  const began = performance.now();
  const x = preprocess(rgba, width, height);
  return { x: Array.from(x), ms: performance.now() - began };
}"""


def test_the_pages_preprocessing_matches_hub_sketch(page, url, mnist_test):
    """Test digits re-drawn as browser sketches (train/sketches.py: size, position, pen width,
    rotation, white or transparent paper): the same RGBA pixels through both, and the CNN's answer."""
    from digitzoo.train.sketches import render_sketch

    images, _ = mnist_test
    rng = np.random.default_rng(11)
    page.goto(url)
    python, browser, js_ms = [], [], []
    for digit in images[:PARITY_DRAWINGS].numpy():
        drawing = render_sketch(digit, rng)
        rgba = np.asarray(drawing.convert("RGBA"))  # what a canvas's getImageData gives
        python.append(sketch.preprocess(drawing))
        out = page.evaluate(PREPROCESS_IN_PAGE, {"packed": base64.b64encode(zlib.compress(rgba.tobytes(), 1)).decode(),
                                                 "width": rgba.shape[1], "height": rgba.shape[0]})
        browser.append(np.asarray(out["x"], np.float32).reshape(28, 28))
        js_ms.append(out["ms"])
    python, browser = np.stack(python), np.stack(browser)
    worst = float(np.abs(python - browser).max())

    import onnxruntime as ort

    manifest = read_manifest()
    cnn = demo_models(manifest, "draw")[0]
    item = artifact(manifest, cnn, part_with_role(manifest, cnn, "classifier"), "onnx")
    session = ort.InferenceSession(str(verified_path(exports_root(), item)), providers=["CPUExecutionProvider"])
    feed = item.inputs[0].name
    py_answer = session.run(None, {feed: python[:, None]})[0].argmax(1)
    js_answer = session.run(None, {feed: browser[:, None]})[0].argmax(1)
    print(f"\nparity on {len(python)} drawings: max |JS - Python| = {worst:.3g} on the 28x28; "
          f"CNN answers differ on {int((py_answer != js_answer).sum())}; JS preprocessing of an 800x800 canvas "
          f"{np.median(js_ms):.1f} ms (median)")
    assert worst <= PARITY_TOLERANCE
    assert (py_answer == js_answer).all()


# ---- The site at work ----------------------------------------------------------------------------

def test_drawing_a_seven_is_read_while_drawing(page, url):
    """From navigation: the stroke starts at once; the answer must show 7 before the mouse is released."""
    label = first_draw_label()
    page.goto(url)
    box = page.locator("#pad").bounding_box()
    points = list(stroke_points(box, SEVEN))
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y)
    page.wait_for_function("(l) => document.querySelector(`.answer[data-label=\"${l}\"] .top-digit`).textContent === '7'",
                           arg=label, timeout=60_000)
    timings = page.evaluate("() => window.digitzoo")
    shown = page.locator("#draw-timing").inner_text()
    page.mouse.up()  # released only now: the 7 above was read while drawing
    print(f"\nfirst answer {timings['firstAnswerMs']:.0f} ms after navigation (models checked and opened after "
          f"{timings['readyMs']:.0f} ms); the page says: {shown}")
    assert timings["firstAnswerMs"] is not None and "in your browser (wasm):" in shown
    page.screenshot(path=str(ARTIFACTS / "web-draw-7.png"), full_page=True)
    page.click("#clear")
    assert top_digit(page, label) == ""


def test_clear_undo_and_redo_sit_above_the_fold_and_change_the_answer(browser, url):
    """On a 1280x720 projector the pad and its buttons are on screen (Clear used to be below the fold);
    undo takes the stroke away (the page asks for a digit again), redo brings its answer back,
    and a Clear can be undone."""
    label = first_draw_label()
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    for element in ("#clear", "#undo", "#redo", "#pad"):  # the whole pad too: no stroke ends below the fold
        box = page.locator(element).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720, (element, box)
    read = "(l) => document.querySelector(`.answer[data-label=\"${l}\"] .top-digit`).textContent === '7'"
    asks = "() => document.querySelector('#draw-timing').textContent === 'Draw a digit (0-9) on the pad.'"
    page.wait_for_function("() => window.digitzoo.readyMs !== null", timeout=60_000)
    draw_stroke(page, stroke_points(page.locator("#pad").bounding_box(), SEVEN))
    def shows(what: str, predicate: str, arg=None) -> None:
        try:
            page.wait_for_function(predicate, arg=arg, timeout=30_000)
        except Exception:
            raise AssertionError(f"after {what}: read {top_digit(page, label)!r}, the page says "
                                 f"{page.locator('#draw-timing').inner_text()!r}") from None

    shows("the stroke", read, label)
    page.click("#undo")
    shows("Undo", asks)
    assert top_digit(page, label) == "" and canvas_pixels(page, "#pad") == blank_pad(page)
    page.click("#redo")
    shows("Redo", read, label)
    page.click("#clear")
    shows("Clear", asks)
    page.click("#undo")  # the Clear is undone: the 7 is back
    shows("Undo after Clear", read, label)
    page.close()


def blank_pad(page) -> str:
    """The data URL of an empty canvas the size of the pad."""
    return page.evaluate("() => { const c = document.createElement('canvas'); const p = document.querySelector('#pad');"
                         " c.width = p.width; c.height = p.height; return c.toDataURL(); }")


STAR = [(0.5 + 0.4 * math.cos(math.pi / 2 + i * 4 * math.pi / 5), 0.5 - 0.4 * math.sin(math.pi / 2 + i * 4 * math.pi / 5))
        for i in range(6)]  # a five-pointed star in one stroke


def test_a_star_is_answered_not_sure_in_the_page(page, url):
    """The not-a-digit detector runs in the page too: a star gets "not sure: looks most like N"."""
    label = first_draw_label()
    page.goto(url)
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('not-a-digit detector')",
                           timeout=60_000)  # checked (sha256) and opened beside the draw models
    draw_stroke(page, stroke_points(page.locator("#pad").bounding_box(), STAR))
    page.wait_for_function("(l) => document.querySelector(`.answer[data-label=\"${l}\"] .top-digit`).textContent"
                           ".startsWith('not sure: looks most like ')", arg=label, timeout=30_000)
    assert page.locator("#draw-timing").inner_text().startswith("Not sure this is a digit")
    page.click("#clear")


def test_moving_a_latent_slider_decodes_another_digit(page, url):
    page.goto(url)
    page.click("nav [data-tab=latent]")
    page.wait_for_function("() => document.querySelector('#latent-timing').textContent.includes('wasm')", timeout=60_000)
    before = canvas_pixels(page, "#decoded")
    page.evaluate("() => { const s = document.querySelector('#latent-x'); s.value = s.max;"
                  " s.dispatchEvent(new Event('input', { bubbles: true })); }")
    page.wait_for_function("(b) => document.querySelector('#decoded').toDataURL() !== b", arg=before, timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "web-latent.png"), full_page=True)


def test_changing_the_gan_seed_draws_another_grid(page, url):
    page.goto(url)
    page.click("nav [data-tab=gan]")
    page.wait_for_function("() => document.querySelector('#gan-timing').textContent.startsWith('seed 0')", timeout=60_000)
    before = canvas_pixels(page, "#gan-grid")
    page.fill("#gan-seed", "12345")
    page.wait_for_function("() => document.querySelector('#gan-timing').textContent.startsWith('seed 12345')",
                           timeout=30_000)
    assert canvas_pixels(page, "#gan-grid") != before
    page.screenshot(path=str(ARTIFACTS / "web-gan.png"), full_page=True)


def test_a_tampered_model_file_is_refused_with_a_message(page, site, tmp_path):
    tampered = shutil.copytree(site, tmp_path / "tampered")
    first = json.loads((tampered / "models.json").read_text())["draw"][0]
    data = bytearray((tampered / first["file"]).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    (tampered / first["file"]).write_bytes(bytes(data))
    with static_server(tampered) as served:
        page.goto(served)
        wait_ready(page)
        problems = page.locator("#problems").inner_text()
        assert f"Refused {first['file']}" in problems and "sha256" in problems, problems
        assert top_digit(page, first["label"]) == "refused"
        page.screenshot(path=str(ARTIFACTS / "web-tampered.png"), full_page=True)


def test_without_the_cdn_the_page_says_why(browser, tmp_path):
    """The default site loads onnxruntime-web from the CDN; offline, the page must say so, not go blank."""
    site = web_build.build_site(tmp_path / "cdn-site", exports_root(), vendor=False)
    page = browser.new_page()
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # no internet, here or in CI
    try:
        with static_server(site) as served:
            page.goto(served)
            page.wait_for_function("() => document.querySelector('#problems').textContent.length > 0", timeout=60_000)
            problems = page.locator("#problems").inner_text()
            assert "onnxruntime-web could not be loaded" in problems and "--vendor" in problems, problems
    finally:
        page.close()


def test_a_phone_draws_with_a_finger(browser, url):
    """390x844 with touch: the pad fits the screen and a finger stroke (touch events) is read."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(url)
        wait_ready(page)
        box = page.locator("#pad").bounding_box()
        assert 0.9 * 390 <= box["width"] <= 390 and box["x"] >= 0, box  # the pad fills at least 90% of the width
        touch = context.new_cdp_session(page)
        points = list(stroke_points(box, SEVEN, steps=10))
        send = lambda kind, pts: touch.send("Input.dispatchTouchEvent", {  # noqa: E731
            "type": kind, "touchPoints": [{"x": x, "y": y} for x, y in pts]})
        send("touchStart", points[:1])
        for point in points[1:]:
            send("touchMove", [point])
        page.wait_for_function("() => /^[0-9]$/.test(document.querySelector('.answer .top-digit').textContent)",
                               timeout=60_000)
        send("touchEnd", [])
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=str(ARTIFACTS / "web-touch-390x844.png"), full_page=True)
    finally:
        context.close()
