"""A real browser against a real `digitzoo serve`: draw, latent plot, GAN grid, download.

Needs Debian's Chromium (`.ci/run` installs it with apt-get) and Playwright for Python.
Screenshots of every tab are kept in test-artifacts/ (the README shows copies of them).
"""

from __future__ import annotations

import hashlib
import io
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_support import ARTIFACTS, CHROMIUM, start_server


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.goto(server)
        page.wait_for_selector("#draw-pad canvas", timeout=60_000)
        yield page
        browser.close()


SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]
ONE = [(0.52, 0.15), (0.48, 0.85)]


def stroke(page, selector: str, points) -> None:
    """Press, move through the points in small steps, release: what a hand does."""
    box = page.locator(selector).first.bounding_box()
    at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for i in range(1, 16):
            page.mouse.move(*at(ax + (bx - ax) * i / 15, ay + (by - ay) * i / 15))
    page.mouse.up()


LEFT_HEADLINE = "() => document.querySelector('#draw-left h2, #draw-left .output-class')?.textContent.trim() ?? ''"


def clear_the_pad(page) -> None:
    """Clear, and wait until the page says so before the next stroke.

    Stroking at once after a click on Clear raced the pad's own reset once in CI (the "1" after the
    "7" never read as 1); the answer to the empty pad is the sign that the reset is done.
    """
    page.click("#draw-clear")
    page.wait_for_function("() => document.querySelector('#draw-info')?.innerText.includes('Draw a digit')",
                           timeout=30_000)


def wait_for_headline(page, digit: str) -> None:
    """Wait until the left answer reads `digit`; on a timeout, say what it read and keep a screenshot."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(d) => ({LEFT_HEADLINE})() === d", arg=digit, timeout=30_000)
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / f"draw-{digit}-not-read.png"), full_page=True)
        read = page.evaluate(LEFT_HEADLINE)
        info = page.locator("#draw-info").inner_text()
        pytest.fail(f"drew a {digit}; after 30 s the left answer reads {read!r}, the info line {info!r}")


@pytest.mark.parametrize("points, digit", [(SEVEN, "7"), (ONE, "1")])
def test_draw_a_digit_and_the_cnn_reads_it(page, points, digit):
    """By default the left answer is the CNN's (the right one the LSTM's)."""
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    stroke(page, "#draw-pad canvas", points)
    # The label's headline is the top class; wait until it shows the intended digit.
    wait_for_headline(page, digit)
    assert "onnxruntime" in page.locator("#draw-info").inner_text()
    # The LSTM's belief chart: one line per digit, drawn by plotly.js in the page.
    page.wait_for_function("() => document.querySelectorAll('#lstm-belief .scatterlayer .trace').length === 10",
                           timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"draw-{digit}.png"), full_page=True)


def test_clear_leaves_the_pad_ready_for_the_next_digit(page):
    """Clear empties pad and answers at once, and the next stroke is read (no pad stuck on "processing")."""
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    stroke(page, "#draw-pad canvas", SEVEN)
    wait_for_headline(page, "7")
    clear_the_pad(page)
    assert "processing" not in page.locator("#draw-pad").inner_text()
    stroke(page, "#draw-pad canvas", ONE)
    wait_for_headline(page, "1")


def test_uploading_a_file_that_is_not_an_image_says_so_in_the_page(page, tmp_path):
    """A sentence under the answers (and a toast), no "Error" badges, no traceback; the last answers stay."""
    page.get_by_role("tab", name="Draw").click()
    before = page.locator("#draw-left").inner_text()
    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture")  # named .png: only the bytes tell
    page.locator("#draw-upload input[type=file]").set_input_files(str(notes))
    page.wait_for_function("() => document.querySelector('#draw-info')?.innerText.startsWith('Not read:')",
                           timeout=30_000)
    info = page.locator("#draw-info").inner_text()
    assert "image" in info.lower() and "Traceback" not in info, info
    assert page.locator("#draw-left").inner_text() == before
    page.screenshot(path=str(ARTIFACTS / "draw-upload-not-an-image.png"), full_page=True)


def test_latent_tab_shows_the_3d_plot(page):
    page.get_by_role("tab", name="Latent space").click()
    page.wait_for_selector("#latent-plot .js-plotly-plot .gl-container canvas, #latent-plot .js-plotly-plot",
                           timeout=60_000)
    assert page.locator("#latent-plot .js-plotly-plot").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "latent.png"), full_page=True)


def test_gan_sampler_shows_a_grid(page):
    page.get_by_role("tab", name="GAN sampler").click()
    page.get_by_role("button", name="Sample").click()
    page.wait_for_selector("#gan-grid img", timeout=30_000)
    page.wait_for_function("() => /16 digits \\(([0-9] ){15}[0-9]\\) in .* ms/.test(document.querySelector('#gan-info')?.innerText)")
    page.screenshot(path=str(ARTIFACTS / "gan.png"), full_page=True)
    grid = page.locator("#gan-grid img").get_attribute("src")
    seed = page.get_by_label("seed (-1: random)")
    seed.fill("-5")  # bad input: a sentence, and the last grid stays on screen
    page.get_by_role("button", name="Sample", exact=True).click()
    page.wait_for_function("() => document.querySelector('#gan-info')?.innerText.startsWith('Not sampled: seed must be')")
    assert page.locator("#gan-grid img").get_attribute("src") == grid
    seed.fill("-1")


def test_gan_regenerates_as_the_digit_or_a_seed_changes(page):
    page.get_by_role("tab", name="GAN sampler").click()
    seed = page.get_by_label("seed (-1: random)")
    seed.fill("7")
    seed.press("Enter")
    page.wait_for_function("() => /^seed 7: 16 digits \\(/.test(document.querySelector('#gan-info')?.innerText)",
                           timeout=30_000)
    grid = page.locator("#gan-grid img").get_attribute("src")
    # A digit picked: a new grid of that digit, with no button pressed.
    page.get_by_label("digit", exact=True).click()
    page.get_by_role("option", name="5", exact=True).click()
    page.wait_for_function("() => /^seed 7: 16 digits in /.test(document.querySelector('#gan-info')?.innerText)",
                           timeout=30_000)
    page.wait_for_function("(old) => document.querySelector('#gan-grid img')?.getAttribute('src') !== old",
                           arg=grid, timeout=30_000)
    # The walk follows its seeds the same way.
    seed_b = page.get_by_label("seed B")
    seed_b.fill("4")
    seed_b.press("Enter")
    page.wait_for_selector("#gan-walk img", timeout=30_000)
    first = page.locator("#gan-walk img").get_attribute("src")
    seed_b.fill("9")
    seed_b.press("Enter")
    page.wait_for_function("(old) => document.querySelector('#gan-walk img')?.getAttribute('src') !== old",
                           arg=first, timeout=30_000)
    seed.fill("-1")
    seed.press("Enter")


OVERLAY = """(id) => { const c = document.getElementById(id);
  return [c.width, c.height, [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].filter((_, i) => i % 4 === 0)]; }"""


def served_picture(page, selector: str) -> np.ndarray:
    src = page.locator(selector).get_attribute("src")
    with urllib.request.urlopen(src, timeout=10) as answer:
        return np.asarray(Image.open(io.BytesIO(answer.read())).convert("L"), float)


def picture_difference(page, canvas_id: str, served_selector: str) -> float:
    """Mean absolute difference between the page's canvas and the server's picture (scaled up k times)."""
    width, height, mine = page.evaluate(OVERLAY, canvas_id)
    served = served_picture(page, served_selector)
    k = max(1, served.shape[1] // width)
    return float(np.abs(np.array(mine, float).reshape(height, width) - served[::k, ::k][:height, :width]).mean())


def until_alike(page, canvas_id: str, served_selector: str, seconds: float = 30) -> float:
    """Poll until the two pictures agree (or time runs out): the server's picture may still be the last one."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            difference = picture_difference(page, canvas_id, served_selector)
        except (ValueError, OSError):  # a picture still loading or being swapped
            difference = float("inf")
        if difference < 4 or time.monotonic() > deadline:
            return difference
        page.wait_for_timeout(100)


def test_gan_is_drawn_in_the_page_with_the_servers_digits(page):
    page.get_by_role("tab", name="GAN sampler").click()
    page.wait_for_function("() => window.digitzooGanPage?.path === 'inpage'", timeout=30_000)
    # Seed -1: the page picks the seed, draws the grid, and the server draws the same one.
    page.get_by_label("digit", exact=True).click()
    page.get_by_role("option", name="any", exact=True).click()
    page.get_by_role("button", name="Sample", exact=True).click()
    page.wait_for_function("() => window.digitzooGanPage.grids > 0", timeout=30_000)
    seed = page.evaluate("() => window.digitzooGanPage.seed")
    digits = page.evaluate("() => window.digitzooGanPage.digits")
    assert "drawn in your browser (wasm)" in page.locator("#gan-inpage-note").inner_text()
    page.wait_for_function("(s) => document.querySelector('#gan-info')?.innerText.startsWith(`seed ${s}: `)", arg=seed,
                           timeout=30_000)
    assert f"({' '.join(map(str, digits))})" in page.locator("#gan-info").inner_text()
    difference = until_alike(page, "gan-inpage-grid", "#gan-grid img")
    assert difference < 4, f"the page's grid differs from the server's by {difference:.1f} on average"
    # The walk too.
    seed_b = page.get_by_label("seed B")
    seed_b.fill("5")
    seed_b.press("Enter")
    page.wait_for_function("() => window.digitzooGanPage.walks > 0", timeout=30_000)
    difference = until_alike(page, "gan-inpage-walk", "#gan-walk img")
    assert difference < 4, f"the page's walk differs from the server's by {difference:.1f} on average"
    page.screenshot(path=str(ARTIFACTS / "gan-inpage.png"), full_page=True)


def test_download_an_onnx_file_and_check_its_sha256(page):
    from digitzoo.hub.serving.manifest import artifact, exports_root, read_manifest

    page.get_by_role("tab", name="Models").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="mnist_cnn.onnx").first.click()
    path = info.value.path()
    expected = artifact(read_manifest(), "mnist_cnn", "model", "onnx").sha256
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == expected
    assert exports_root().is_dir()
    page.screenshot(path=str(ARTIFACTS / "models.png"), full_page=True)


HEADLINE = "(sel) => { const el = document.querySelector(sel + ' h2, ' + sel + ' .output-class');" \
           " return el ? el.textContent.trim() : ''; }"


def _classifiers() -> list[tuple[str, str]]:
    """(model, label on screen) of every classifier in the served manifest, the draw tab's first."""
    from digitzoo.hub.serving.manifest import demo_models, read_manifest

    manifest = read_manifest()
    names = demo_models(manifest, "draw")
    return [(n, manifest.models[n].demo["label"]) for n in names if manifest.models[n].task == "classifier"]


def _pick(page, dropdown: str, option: str) -> None:
    page.locator(f"#{dropdown} input").click()
    page.locator(f"#{dropdown}").get_by_role("option", name=option, exact=True).click()


def test_pick_two_other_classifiers_and_see_both_answers(page):
    classifiers = _classifiers()
    assert len(classifiers) >= 4, classifiers
    (left, left_label), (right, right_label) = classifiers[2], classifiers[-1]  # neither the CNN nor the LSTM
    page.get_by_role("tab", name="Draw").click()
    page.locator("#draw-pad button[aria-label='Clear canvas']").first.click()
    page.wait_for_function(f"() => ({HEADLINE})('#draw-left') === '' && ({HEADLINE})('#draw-right') === ''",
                           timeout=30_000)  # the last test's answers are gone
    _pick(page, "pick-left", f"{left_label} ({left})")
    _pick(page, "pick-right", f"{right_label} ({right})")
    page.wait_for_function("(t) => document.querySelector('#draw-left').innerText.includes(t[0])"
                           " && document.querySelector('#draw-right').innerText.includes(t[1])",
                           arg=[f"{left_label} reads", f"{right_label} reads"], timeout=30_000)
    stroke(page, "#draw-pad canvas", SEVEN)
    page.wait_for_function(f"() => ({HEADLINE})('#draw-left') !== '' && ({HEADLINE})('#draw-right') !== ''",
                           timeout=30_000)
    answers = [page.evaluate(f"({HEADLINE})('#draw-{side}')") for side in ("left", "right")]
    assert all(a in "0123456789" and len(a) == 1 for a in answers), answers
    assert "7" in answers, answers  # two good classifiers read a clear 7 (at least one of them must)
    assert f"{left_label} reads" in page.locator("#draw-left").inner_text()
    assert f"{right_label} reads" in page.locator("#draw-right").inner_text()
    info = page.locator("#draw-info").inner_text()
    assert left in info and right in info, info  # the answers came from the picked models' files
    page.screenshot(path=str(ARTIFACTS / "draw-picked.png"), full_page=True)


def test_pick_all_and_see_a_row_per_classifier(page):
    classifiers = _classifiers()
    page.get_by_role("tab", name="Draw").click()
    page.locator("#draw-pad button[aria-label='Clear canvas']").first.click()
    page.wait_for_function(f"() => ({HEADLINE})('#draw-left') === ''", timeout=30_000)  # the last drawing is gone
    page.get_by_label("all classifiers").check()
    stroke(page, "#draw-pad canvas", ONE)
    # Gradio's table draws its data rows as div[role=row] of [role=gridcell]s (the header is a <tr>).
    # Wait for a row per classifier, (nearly) all of them reading the 1 just drawn.
    page.wait_for_function(
        "(n) => { const rows = [...document.querySelectorAll('#draw-all div[role=row]')];"
        " const ones = rows.filter(r => r.querySelectorAll('[role=gridcell]')[1]?.innerText.trim() === '1');"
        " return rows.length === n && ones.length >= n - 1; }", arg=len(classifiers), timeout=30_000)
    rows = [row.locator("[role=gridcell]").all_inner_texts() for row in page.locator("#draw-all div[role=row]").all()]
    assert [row[0].strip() for row in rows] == [label for _, label in classifiers]  # in the draw tab's order
    assert sum(row[1].strip() == "1" for row in rows) >= len(rows) - 1, rows  # (nearly) all read the 1
    page.screenshot(path=str(ARTIFACTS / "draw-all.png"), full_page=True)
    page.get_by_label("two side by side").check()  # back to the default view for whatever runs next
