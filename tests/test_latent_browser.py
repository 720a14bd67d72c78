"""The Latent space tab in Chromium, used the way a newcomer does: turn the scatter, click a dot,
type a number into a slider's box, drag a slider, draw a digit to place it, on a projector
(1280x720) and on a phone (390x844, touch).

The page is apps/web/latent.js (a canvas scatter, sliders, the decoded 28x28). The image shown is
checked against the decoder run here: it must be the decoding of the point the sliders show. The
page's state is read from its root's data-* attributes (path, decodes, point, probe). Screenshots
land in test-artifacts/.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

from browser_support import ARTIFACTS, LATENT, draw_stroke, start_server, state  # skips this module without a browser

SCATTER = f"{LATENT} .dz-scatter"
TIMING = f"{LATENT} .dz-latent-timing"
SMALL_PAD = f"{LATENT} .dz-small-pad"
SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]
SLIDERS_ARE = ("(p) => ['x', 'y', 'z'].every((a, i) =>"
               " Number(document.querySelector(`.dz-latent input[type=number][data-axis=${a}]`).value) === p[i])")


def box_of(axis: str) -> str:
    return f"{LATENT} input[type=number][data-axis={axis}]"


def range_of(axis: str) -> str:
    return f"{LATENT} .dz-sliders label:has(input[data-axis={axis}]) input[type=range]"


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


@pytest.fixture(scope="module")
def latent():
    from digitzoo.apps import latent, parts

    parts.configure("onnx", "cpu")
    return latent


@pytest.fixture(scope="module")
def ranges(server) -> list[tuple[float, float]]:
    """The sliders' (min, max) as the hub gives them to the page (models.json)."""
    with urllib.request.urlopen(urllib.parse.urljoin(server, "/digitzoo/pages/models.json"), timeout=30) as answer:
        return [tuple(r) for r in json.load(answer)["latent"]["ranges"]]


def open_latent(browser, url: str, width: int = 1280, height: int = 720, touch: bool = False, query: str = ""):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.goto(url + query)
    page.get_by_role("tab", name="Latent space").click()
    # Mounted, the first point decoded, and the scatter painted where it is shown (its probe dot).
    page.wait_for_function("() => { const d = document.querySelector('.dz-latent')?.dataset;"
                           " return d && Number(d.decodes) > 0 && d.probe && document.querySelector('.dz-latent .dz-scatter')"
                           ".getBoundingClientRect().width > 0; }", timeout=90_000)
    return page


def sliders(page) -> list[float]:
    return [float(page.locator(box_of(axis)).input_value()) for axis in "xyz"]


def probe(page) -> dict:
    return json.loads(state(page, LATENT)["probe"])


def on_slider(code, ranges) -> list[float]:
    """A code as the sliders show it: within their range, two decimals."""
    return [float(f"{min(max(v, lo), hi):.2f}") for v, (lo, hi) in zip(code, ranges)]


def shown_image(page) -> np.ndarray:
    """The decoded 28x28 the page shows, 0..255."""
    pixels = page.evaluate("(s) => [...document.querySelector(s).getContext('2d').getImageData(0, 0, 28, 28).data]"
                           ".filter((_, i) => i % 4 === 0)", f"{LATENT} .dz-decoded")
    return np.asarray(pixels, float).reshape(28, 28)


def decoder_image(latent, point) -> np.ndarray:
    return np.asarray(latent.decode_for_page({"codes": [list(point)]})["images"], float).reshape(28, 28) * 255


def wait_for_image_of(page, latent, point, timeout: float = 30_000) -> None:
    """Until the page has decoded ``point`` (its data-point), then: the image shown is the decoder's image
    of that point, as run here (the page paints it in the same step that sets data-point)."""
    page.wait_for_function("(p) => document.querySelector('.dz-latent').dataset.point === p",
                           arg=",".join(f"{v:.2f}" for v in point), timeout=timeout)
    diff = np.abs(shown_image(page) - decoder_image(latent, point)).mean()
    # The same point: under 1 (rounding); another point, even 1.5 units away: 10 or more.
    assert diff < 4, f"the image shown is not the decoding of {point} (mean difference {diff:.1f})"


def rotate(page) -> dict:
    """Drag across the scatter, as a hand does, and return the probe it leaves (a dot's place on screen)."""
    box = page.locator(SCATTER).bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75
    before = probe(page)
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x + 8 * i, y - 2 * i, steps=2)
    page.mouse.up()
    page.wait_for_function("(b) => { const p = JSON.parse(document.querySelector('.dz-latent').dataset.probe);"
                           " return Math.hypot(p.x - b.x, p.y - b.y) > 1 || p.code.some((v, i) => v !== b.code[i]); }",
                           arg=before, timeout=10_000)
    return probe(page)


def same_view(page, view: dict) -> bool:
    now = probe(page)
    return abs(now["x"] - view["x"]) < 1e-6 and abs(now["y"] - view["y"]) < 1e-6 and now["code"] == view["code"]


def click_probe(page, view: dict, hold_s: float = 0.0) -> None:
    box = page.locator(SCATTER).bounding_box()
    page.mouse.move(box["x"] + view["x"], box["y"] + view["y"])
    page.mouse.down()
    time.sleep(hold_s)  # a hand holding the button, not a wait for the page
    page.mouse.up()


def test_dragging_the_scatter_turns_it_and_picks_no_dot(server, browser, latent):
    page = open_latent(browser, server)
    before, point = sliders(page), state(page, LATENT)["point"]
    first = probe(page)
    view = rotate(page)
    assert (view["x"], view["y"]) != (first["x"], first["y"]) or view["code"] != first["code"]
    # A drag is not a click: the sliders (moved at once by a pick) and the decoded point stay.
    assert sliders(page) == before
    assert state(page, LATENT)["point"] == point
    page.screenshot(path=str(ARTIFACTS / "latent-turned.png"))
    page.context.close()


# A hand holds the button a moment; a quick click presses and releases in one go. Both pick the dot.
@pytest.mark.parametrize("hold_s", [0.3, 0.0], ids=["hand-click", "quick-click"])
def test_clicking_a_dot_sets_the_sliders_to_its_code_and_decodes_it(server, browser, latent, ranges, hold_s):
    page = open_latent(browser, server)
    view = rotate(page)
    canvas = page.evaluate_handle("(s) => document.querySelector(s)", SCATTER)
    before, image_before = state(page, LATENT), shown_image(page)
    click_probe(page, view, hold_s)
    point = on_slider(view["code"], ranges)
    page.wait_for_function(SLIDERS_ARE, arg=point, timeout=10_000)
    assert sliders(page) == point
    wait_for_image_of(page, latent, point)
    after = state(page, LATENT)
    assert after["point"] != before["point"] and int(after["decodes"]) > int(before["decodes"])
    assert np.abs(shown_image(page) - image_before).mean() > 4, "the image did not change"
    assert "Point ({:.2f}, {:.2f}, {:.2f})".format(*point) in page.locator(TIMING).inner_text()
    # The visitor's view stays: the same canvas, not turned back to the first view.
    assert page.evaluate("([c, s]) => c === document.querySelector(s)", [canvas, SCATTER])
    assert same_view(page, view)
    page.screenshot(path=str(ARTIFACTS / "latent-clicked.png"))
    page.context.close()


def test_a_number_out_of_range_is_clamped_and_the_box_shows_the_point_decoded(server, browser, latent, ranges):
    page = open_latent(browser, server)
    (x_lo, x_hi), _, (z_lo, _) = ranges
    box = page.locator(box_of("x"))
    box.click()
    box.press("Control+a")
    box.press_sequentially("999", delay=50)
    # While the box still shows 999, the page says which point it decoded instead.
    page.wait_for_function("([s, t]) => document.querySelector(s).textContent.includes(t)",
                           arg=[TIMING, f"x = 999 is outside the slider ({x_lo:.2f} to {x_hi:.2f}): decoded at x = {x_hi:.2f}."],
                           timeout=10_000)
    assert box.input_value() == "999"
    _, y, z = sliders(page)
    wait_for_image_of(page, latent, (x_hi, y, z))  # data-point too: the clamped point, not 999
    box.press("Enter")
    # Once typed, the box shows the value decoded, and no error.
    page.wait_for_function(f"(s) => Number(document.querySelector(s).value) === {x_hi}", arg=box_of("x"), timeout=10_000)
    assert f"Point ({x_hi:.2f}, {y:.2f}, {z:.2f})." in page.locator(TIMING).inner_text()
    wait_for_image_of(page, latent, (x_hi, y, z))
    # Below the minimum, and left by a click elsewhere rather than Enter.
    box = page.locator(box_of("z"))
    box.click()
    box.press("Control+a")
    box.press_sequentially("-999", delay=50)
    page.wait_for_function("([s, t]) => document.querySelector(s).textContent.includes(t)",
                           arg=[TIMING, f"decoded at z = {z_lo:.2f}."], timeout=10_000)
    page.locator(TIMING).click()
    page.wait_for_function(f"(s) => Number(document.querySelector(s).value) === {z_lo}", arg=box_of("z"), timeout=10_000)
    wait_for_image_of(page, latent, (x_hi, y, z_lo))
    assert sliders(page) == [x_hi, y, z_lo]
    assert "Not decoded" not in page.locator(TIMING).inner_text()
    page.context.close()


def drag_slider(page, axis: str, start: float, step: float, moves: int) -> tuple[int, float]:
    """Drag the ``axis`` range slider in ``moves`` steps, waiting after each for the page to decode
    the value it shows; returns the decodes counted before the mouse is released, and the seconds."""
    track = page.locator(range_of(axis)).bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] * start, y)
    page.mouse.down()
    before, began = int(state(page, LATENT)["decodes"]), time.monotonic()
    index = "xyz".index(axis)
    for i in range(1, moves + 1):
        page.mouse.move(track["x"] + track["width"] * (start + step * i), y)
        # The value under the mouse decoded while the button is still down (data-point follows the slider).
        page.wait_for_function("([s, i]) => { const d = document.querySelector('.dz-latent').dataset;"
                               " return d.point && d.point.split(',')[i] === Number(document.querySelector(s).value).toFixed(2); }",
                               arg=[range_of(axis), index], timeout=10_000)
    during = int(state(page, LATENT)["decodes"]) - before
    seconds = time.monotonic() - began
    page.mouse.up()
    return during, seconds


def test_dragging_a_slider_decodes_all_the_way_not_only_on_release(server, browser, latent):
    page = open_latent(browser, server)
    view = rotate(page)
    during, seconds = drag_slider(page, "y", 0.2, 0.015, 40)
    print(f"drag: {during} decoded images shown in {seconds:.2f} s before mouse-up ({during / seconds:.1f}/s)")
    assert during >= 5, f"only {during} decodes while dragging for {seconds:.1f} s"
    point = sliders(page)
    wait_for_image_of(page, latent, point)  # and the last one is where the slider stopped
    assert same_view(page, view)
    page.context.close()


def test_the_page_decodes_the_point_itself_while_a_slider_is_dragged(server, browser, latent):
    page = open_latent(browser, server)
    assert state(page, LATENT)["path"] == "inpage"
    during, _ = drag_slider(page, "x", 0.3, 0.02, 20)
    assert during >= 5, f"only {during} decodes in the page while dragging"
    assert "Decoded by the autoencoder decoder in your browser (wasm)" in page.locator(TIMING).inner_text()
    point = sliders(page)
    # The page's picture of where the slider stopped is the server's decoder's (run here).
    wait_for_image_of(page, latent, point)
    page.screenshot(path=str(ARTIFACTS / "latent-inpage.png"))
    page.context.close()


def test_with_inpage_off_the_server_decodes_and_the_page_says_so(server, browser, latent):
    page = open_latent(browser, server, query="?inpage=0")
    assert state(page, LATENT)["path"] == "server"
    assert page.locator("#latent-page .dz-note").inner_text() == \
        "The server decodes. Running the models in the page is off (?inpage=0 in the address)."
    timing = page.locator(TIMING).inner_text()
    assert "on the server" in timing and "wasm" not in timing, timing
    wait_for_image_of(page, latent, sliders(page))
    page.context.close()


@pytest.mark.parametrize("query", ["", "?inpage=0"], ids=["inpage", "server"])
def test_drawing_a_digit_places_it(server, browser, latent, ranges, query):
    page = open_latent(browser, server, query=query)
    page.locator(SMALL_PAD).scroll_into_view_if_needed()
    before = sliders(page)
    draw_stroke(page, SEVEN, pad=SMALL_PAD)
    page.wait_for_function("(s) => document.querySelector(s).textContent.startsWith(\"Your drawing's code: (\")",
                           arg=f"{LATENT} .dz-code", timeout=30_000)
    shown = page.locator(f"{LATENT} .dz-code").inner_text()
    code = [float(v) for v in shown.split("(", 1)[1].rstrip(")").split(",")]
    point = on_slider(code, ranges)
    page.wait_for_function(SLIDERS_ARE, arg=point, timeout=10_000)
    assert sliders(page) != before
    wait_for_image_of(page, latent, point)
    # The encoder run here places the same drawing at the same code.
    drawing = page.evaluate("(s) => document.querySelector(s).toDataURL('image/png')", SMALL_PAD)
    here = latent.encode_for_page({"image": drawing})["code"]
    assert np.allclose(code, here, atol=0.02), (code, here)
    assert state(page, LATENT)["path"] == ("server" if query else "inpage")
    page.context.close()


@pytest.mark.parametrize("width, height, touch", [(1280, 720, False), (390, 844, True)])
def test_the_tab_fits_a_projector_and_a_phone(server, browser, latent, ranges, width, height, touch):
    page = open_latent(browser, server, width, height, touch)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    if not touch:
        # A projector: the whole scatter, the sliders and the decoded digit without scrolling.
        for selector in (SCATTER, f"{LATENT} .dz-sliders label:first-child", f"{LATENT} .dz-sliders label:last-child",
                         f"{LATENT} .dz-decoded"):
            box = page.locator(selector).bounding_box()
            assert 0 <= box["y"] and box["y"] + box["height"] <= height, f"{selector} ends at {box['y'] + box['height']:.0f} px"
            assert 0 <= box["x"] and box["x"] + box["width"] <= width, f"{selector} ends at x {box['x'] + box['width']:.0f} px"
    else:
        # A phone: the sliders start on the first screen, under the scatter; a tapped dot is decoded.
        scatter, sliders_box = page.locator(SCATTER).bounding_box(), page.locator(f"{LATENT} .dz-sliders").bounding_box()
        assert scatter["y"] + scatter["height"] <= sliders_box["y"] < height, (scatter, sliders_box)
        before = sliders(page)
        view = probe(page)
        page.touchscreen.tap(scatter["x"] + view["x"], scatter["y"] + view["y"])
        point = on_slider(view["code"], ranges)
        page.wait_for_function(SLIDERS_ARE, arg=point, timeout=10_000)
        assert sliders(page) != before
        wait_for_image_of(page, latent, point)
        page.evaluate("(s) => document.querySelector(s).scrollIntoView({block: 'center'})", f"{LATENT} .dz-decoded")  # reachable
        decoded = page.locator(f"{LATENT} .dz-decoded").bounding_box()
        assert 0 <= decoded["y"] and decoded["y"] + decoded["height"] <= height
    page.screenshot(path=str(ARTIFACTS / f"layout-latent-{width}x{height}.png"))
    page.screenshot(path=str(ARTIFACTS / f"layout-latent-{width}x{height}-full.png"), full_page=True)
    page.context.close()
