"""The static site in a real browser: `digitzoo web build --vendor`, served by `python -m http.server`.

The pages are the project's own modules (apps/web/: draw.js, latent.js, gan.js through page.js and
main.js), the same files the hub serves; their state is read from each root's data-* attributes.

Needs Debian's Chromium, Playwright for Python and onnxruntime-web from npm (`npm ci` in apps/web;
.ci/run does it). Without them the module is skipped here, and fails in CI (DIGITZOO_REQUIRE_BROWSER).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import urllib.parse
import urllib.request
import zlib

import numpy as np
import pytest

from browser_support import (ARTIFACTS, DRAW, GAN, LATENT, draw_stroke,  # skips this module without a browser;
                             start_server, state, static_server)  # conftest has the browser fixture
from digitzoo.apps import web_build
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
    """Until the Draw page is mounted on what could be opened (its models checked and opened, or not)."""
    page.wait_for_function("(r) => document.querySelector(r)?.dataset.readyMs !== undefined", arg=DRAW, timeout=timeout)


def first_draw(site) -> dict:
    """models.json's first draw model: the left panel's."""
    return json.loads((site / "models.json").read_text())["draw"][0]


def top(model: str) -> str:
    return f'{DRAW} .dz-answer[data-model="{model}"] .dz-top'


def top_digit(page, model: str) -> str:
    return page.locator(top(model)).inner_text().strip()


def note(page, tab: str = "draw") -> str:
    return page.locator(f"#tab-{tab} .dz-note").inner_text()


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

def test_drawing_a_seven_is_read_while_drawing(page, url, site):
    """From navigation: the stroke starts as soon as the pad is there; the answer must show 7 before the
    mouse is released."""
    model = first_draw(site)["model"]
    page.goto(url)
    draw_stroke(page, SEVEN, steps=15, release=False)
    page.wait_for_function("(s) => document.querySelector(s).textContent === '7'", arg=top(model), timeout=60_000)
    timings = state(page, DRAW)
    shown = page.locator(f"{DRAW} .dz-timing").inner_text()
    page.mouse.up()  # released only now: the 7 above was read while drawing
    print(f"\nfirst answer {float(timings['firstAnswerMs']):.0f} ms after navigation (models checked and opened after "
          f"{float(timings['readyMs']):.0f} ms); the page says: {shown}")
    assert timings.get("firstAnswerMs") is not None and "in your browser (wasm):" in shown
    page.screenshot(path=str(ARTIFACTS / "web-draw-7.png"), full_page=True)
    page.click(f"{DRAW} [data-do=clear]")
    page.wait_for_function("(s) => document.querySelector(s).textContent === ''", arg=top(model), timeout=10_000)
    assert top_digit(page, model) == ""


def test_clear_undo_and_redo_sit_above_the_fold_and_change_the_answer(browser, url, site):
    """On a 1280x720 projector the pad and its buttons are on screen (Clear used to be below the fold);
    undo takes the stroke away (the page asks for a digit again), redo brings its answer back,
    and a Clear can be undone."""
    model = first_draw(site)["model"]
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    wait_ready(page)
    for element in ("[data-do=clear]", "[data-do=undo]", "[data-do=redo]", ".dz-pad"):  # the whole pad too: no stroke ends below the fold
        box = page.locator(f"{DRAW} {element}").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720, (element, box)
    read = "(s) => document.querySelector(s).textContent === '7'"
    asks = "(s) => document.querySelector(s).textContent === 'Draw a digit (0-9) on the pad.'"
    draw_stroke(page, SEVEN, steps=15)

    def shows(what: str, predicate: str, arg) -> None:
        try:
            page.wait_for_function(predicate, arg=arg, timeout=30_000)
        except Exception:
            raise AssertionError(f"after {what}: read {top_digit(page, model)!r}, the page says "
                                 f"{page.locator(f'{DRAW} .dz-timing').inner_text()!r}") from None

    timing = f"{DRAW} .dz-timing"
    shows("the stroke", read, top(model))
    page.click(f"{DRAW} [data-do=undo]")
    shows("Undo", asks, timing)
    assert top_digit(page, model) == "" and canvas_pixels(page, f"{DRAW} .dz-pad") == blank_pad(page)
    page.click(f"{DRAW} [data-do=redo]")
    shows("Redo", read, top(model))
    page.click(f"{DRAW} [data-do=clear]")
    shows("Clear", asks, timing)
    page.click(f"{DRAW} [data-do=undo]")  # the Clear is undone: the 7 is back
    shows("Undo after Clear", read, top(model))
    page.close()


def blank_pad(page) -> str:
    """The data URL of an empty canvas the size of the pad."""
    return page.evaluate("(s) => { const c = document.createElement('canvas'); const p = document.querySelector(s);"
                         " c.width = p.width; c.height = p.height; return c.toDataURL(); }", f"{DRAW} .dz-pad")


STAR = [(0.5 + 0.4 * math.cos(math.pi / 2 + i * 4 * math.pi / 5), 0.5 - 0.4 * math.sin(math.pi / 2 + i * 4 * math.pi / 5))
        for i in range(6)]  # a five-pointed star in one stroke


def test_a_star_is_answered_not_sure_in_the_page(page, url, site):
    """The not-a-digit detector runs in the page too: a star gets "not sure: looks most like N", and one
    verdict says so."""
    model = first_draw(site)["model"]
    assert json.loads((site / "models.json").read_text())["detector"] is not None  # the site has one to check and open
    page.goto(url)
    wait_ready(page)  # the detector is checked (sha256) and opened with the first draw models, before the page is ready
    assert state(page, DRAW)["path"] == "inpage"
    draw_stroke(page, STAR, steps=15)
    page.wait_for_function("(s) => document.querySelector(s).textContent.startsWith('not sure: looks most like ')",
                           arg=top(model), timeout=30_000)
    assert page.locator(f"{DRAW} .dz-verdict").count() == 1
    assert page.locator(f"{DRAW} .dz-verdict").inner_text().startswith("Not sure this is a digit")
    assert page.locator("#tab-draw").inner_text().count("Not sure this is a digit") == 1  # one verdict, said once
    page.click(f"{DRAW} [data-do=clear]")


def test_moving_a_latent_slider_decodes_another_digit(page, url):
    page.goto(url)
    page.click("nav [data-tab=latent]")
    page.wait_for_function("(r) => Number(document.querySelector(r)?.dataset.decodes) > 0 &&"
                           " document.querySelector(`${r} .dz-latent-timing`).textContent.includes('wasm')",
                           arg=LATENT, timeout=60_000)
    before, point = canvas_pixels(page, f"{LATENT} .dz-decoded"), state(page, LATENT)["point"]
    page.evaluate("(r) => { const s = document.querySelector(`${r} .dz-sliders input[type=range]`); s.value = s.max;"
                  " s.dispatchEvent(new Event('input', { bubbles: true })); }", LATENT)
    page.wait_for_function("([r, p]) => document.querySelector(r).dataset.point !== p", arg=[LATENT, point], timeout=30_000)
    assert canvas_pixels(page, f"{LATENT} .dz-decoded") != before
    page.screenshot(path=str(ARTIFACTS / "web-latent.png"), full_page=True)


def test_changing_the_gan_seed_draws_another_grid(page, url):
    page.goto(url)
    page.click("nav [data-tab=gan]")
    timing = f"{GAN} .dz-gan-timing"
    page.wait_for_function("(s) => document.querySelector(s)?.textContent.startsWith('seed 0')", arg=timing, timeout=60_000)
    before = canvas_pixels(page, f"{GAN} .dz-gan-grid")
    page.fill(f"{GAN} [data-in=seed]", "12345")
    page.wait_for_function("(s) => document.querySelector(s).textContent.startsWith('seed 12345')", arg=timing,
                           timeout=30_000)
    assert state(page, GAN)["seed"] == "12345"
    assert canvas_pixels(page, f"{GAN} .dz-gan-grid") != before
    page.screenshot(path=str(ARTIFACTS / "web-gan.png"), full_page=True)


def test_a_tampered_model_file_is_refused_with_a_message(page, site, tmp_path):
    tampered = shutil.copytree(site, tmp_path / "tampered")
    first = first_draw(tampered)
    data = bytearray((tampered / first["file"]).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    (tampered / first["file"]).write_bytes(bytes(data))
    with static_server(tampered) as served:
        page.goto(served)
        wait_ready(page)
        said = note(page)
        assert f"Refused {first['file']}" in said and "sha256" in said, said
        # The refused model's panel says so once a drawing is read (by the models that were not refused).
        draw_stroke(page, SEVEN, steps=15)
        page.wait_for_function("(s) => document.querySelector(s).textContent === 'refused'", arg=top(first["model"]),
                               timeout=30_000)
        page.wait_for_function("(s) => document.querySelector(s).textContent === '7'",
                               arg=f"{DRAW} .dz-answer[data-side=right] .dz-top", timeout=30_000)
        page.wait_for_function("(r) => document.querySelector(r).dataset.shown === 'refused'", arg=DRAW, timeout=10_000)
        timing = page.locator(f"{DRAW} .dz-timing").inner_text()
        assert timing.startswith("Answered in your browser (wasm)"), timing
        page.screenshot(path=str(ARTIFACTS / "web-tampered.png"), full_page=True)


def test_without_the_cdn_the_page_says_why(browser, tmp_path):
    """The default site loads onnxruntime-web from the CDN; offline, the page must say so, not go blank."""
    site = web_build.build_site(tmp_path / "cdn-site", exports_root(), vendor=False)
    page = browser.new_page()
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # no internet, here or in CI
    try:
        with static_server(site) as served:
            page.goto(served)
            page.wait_for_function("() => document.querySelector('#tab-draw .dz-note')?.textContent.length > 0",
                                   timeout=60_000)
            said = note(page)
            assert "onnxruntime-web could not be loaded" in said and "--vendor" in said, said
            assert state(page, DRAW)["path"] == "none"
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
        box = page.locator(f"{DRAW} .dz-pad").bounding_box()
        assert 0.9 * 390 <= box["width"] <= 390 and box["x"] >= 0, box  # the pad fills at least 90% of the width
        draw_stroke(page, SEVEN, steps=10, touch=True)
        page.wait_for_function("(s) => /^[0-9]$/.test(document.querySelector(s).textContent)",
                               arg=f"{DRAW} .dz-answer[data-side=left] .dz-top", timeout=60_000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=str(ARTIFACTS / "web-touch-390x844.png"), full_page=True)
    finally:
        context.close()


# ---- The hub and the static site run the same files ----------------------------------------------

def test_the_hub_serves_the_sites_own_page_modules_byte_for_byte(tmp_path):
    """A running hub's pages (apps/pages.py) are the static site's modules, not a copy or another version."""
    from digitzoo.apps import pages

    with start_server("--tab", "draw") as hub:
        site = web_build.build_site(tmp_path / "site", exports_root())  # built now: the files the hub serves now
        for name in web_build.PAGE_MODULES:
            with urllib.request.urlopen(urllib.parse.urljoin(hub, f"{pages.PREFIX}/{name}"), timeout=30) as answer:
                served = answer.read()
            assert served == (site / name).read_bytes() == (web_build.WEB_SOURCES / name).read_bytes(), name
