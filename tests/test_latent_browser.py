"""The Latent space tab in Chromium, used the way a newcomer does: click a dot, type a number into a
slider's box, drag a slider, on a projector (1280x720) and on a phone (390x844, touch).

The image shown is checked against the decoder run here: it must be the decoding of the point the
sliders show. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import io
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from browser_support import ARTIFACTS, start_server  # skips this module without a browser

MARKER = "() => { const gd = document.querySelector('#latent-plot .js-plotly-plot');" \
         " const t = gd.data.find((t) => t.name === \"the sliders' point\"); return [t.x[0], t.y[0], t.z[0]]; }"
CAMERA = "() => { const eye = document.querySelector('#latent-plot .js-plotly-plot')._fullLayout.scene._scene.getCamera().eye;" \
         " return [eye.x, eye.y, eye.z]; }"


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


@pytest.fixture(scope="module")
def latent():
    from digitzoo.apps import latent, parts

    parts.configure("onnx", "cpu")
    return latent


def open_latent(browser, url: str, width: int = 1280, height: int = 720, touch: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("tab", name="Latent space").click()
    page.wait_for_selector("#latent-plot .js-plotly-plot #scene", timeout=60_000)
    page.wait_for_function("() => window.digitzooLatent && document.querySelector('#latent-info')?.innerText.includes('Point (')",
                           timeout=60_000)
    return page


def sliders(page) -> list[float]:
    return [float(page.locator(f"#latent-{axis} input[type=number]").input_value()) for axis in "xyz"]


def shown_image(page) -> np.ndarray:
    src = page.locator("#latent-decoded img").get_attribute("src")
    with urllib.request.urlopen(src, timeout=10) as answer:
        return np.asarray(Image.open(io.BytesIO(answer.read())).convert("L"), float)


def wait_for_image_of(page, latent, point, timeout: float = 20) -> None:
    """Until the decoded image is the decoder's image of ``point`` (up to WebP's small loss)."""
    want = latent.decode(*point).astype(float)
    deadline = time.monotonic() + timeout
    while True:
        try:
            diff = np.abs(shown_image(page) - want).mean()
        except (OSError, ValueError):  # caught while Gradio swaps the picture: its old file, half there or gone
            diff = float("inf")
        if diff < 4:  # the same point: ~1 (WebP); another point, even 1.5 units away: 10 or more
            return
        assert time.monotonic() < deadline, f"the image shown is not the decoding of {point} (mean difference {diff:.1f})"
        time.sleep(0.2)


def wait_for_marker_at(page, point) -> None:
    page.wait_for_function(f"(p) => ({MARKER})().every((v, i) => Math.abs(v - p[i]) < 1e-6)", arg=list(point),
                           timeout=10_000)


def rotate(page) -> list[float]:
    """Drag across the scene, as a hand does, and return the camera it leaves."""
    box = page.locator("#latent-plot .js-plotly-plot").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75
    before = page.evaluate(CAMERA)
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x + 8 * i, y - 2 * i, steps=2)
        time.sleep(0.03)
    page.mouse.up()
    page.wait_for_function(f"(b) => ({CAMERA})().some((v, i) => Math.abs(v - b[i]) > 0.1)", arg=before, timeout=10_000)
    return page.evaluate(CAMERA)


def same_camera(page, camera) -> bool:
    return np.allclose(page.evaluate(CAMERA), camera, atol=1e-6)


def find_dot(page) -> tuple[float, float, dict]:
    """Screen coordinates where the mouse hovers a test digit's dot (searched around the cloud's middle)."""
    page.evaluate("() => { window.hovered = null; const gd = document.querySelector('#latent-plot .js-plotly-plot');"
                  " gd.on('plotly_hover', (e) => { const p = e.points[0]; window.hovered = {x: p.x, y: p.y, z: p.z, name: p.data.name}; });"
                  " gd.on('plotly_unhover', () => { window.hovered = null; }); }")
    box = page.locator("#latent-plot .js-plotly-plot").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45
    for r in range(0, 200, 5):
        for dx, dy in [(r, 0), (-r, 0), (0, r), (0, -r), (r, r), (-r, -r), (r, -r), (-r, r)]:
            page.mouse.move(cx + dx, cy + dy)
            time.sleep(0.05)
            hovered = page.evaluate("() => window.hovered")
            if hovered and hovered["name"] in "0123456789":
                return cx + dx, cy + dy, hovered
    raise AssertionError("no test digit under the mouse anywhere near the middle of the plot")


# A hand holds the button for a frame or so; a quick click (mouse down and up in the same task)
# is shorter than a frame in software WebGL, where Plotly's own click event never fires.
@pytest.mark.parametrize("hold_s", [0.15, 0.0], ids=["hand-click", "quick-click"])
def test_clicking_a_dot_sets_the_sliders_to_its_code_and_decodes_it(server, browser, latent, hold_s):
    page = open_latent(browser, server)
    camera = rotate(page)
    plot = page.evaluate_handle("() => document.querySelector('#latent-plot .js-plotly-plot')")
    x, y, dot = find_dot(page)
    # The hover names the digit and where it is, and says what a click does.
    label = f"a test {dot['name']} at ({dot['x']:.2f}, {dot['y']:.2f}, {dot['z']:.2f})click to decode it"
    page.wait_for_function("(t) => [...document.querySelectorAll('#latent-plot .hovertext')].some((e) => e.textContent.includes(t))",
                           arg=label, timeout=10_000)
    before = shown_image(page)
    page.mouse.down()
    time.sleep(hold_s)
    page.mouse.up()
    point = [round(dot[axis], 2) for axis in "xyz"]
    page.wait_for_function("(p) => ['x', 'y', 'z'].every((a, i) =>"
                           " Number(document.querySelector(`#latent-${a} input[type=number]`).value) === p[i])",
                           arg=point, timeout=10_000)
    assert sliders(page) == point
    wait_for_image_of(page, latent, point)
    assert np.abs(shown_image(page) - before).mean() > 4, "the image did not change"
    page.wait_for_function("(t) => document.querySelector('#latent-info').innerText.includes(t)",
                           arg="Point ({:.2f}, {:.2f}, {:.2f})".format(*point), timeout=10_000)
    wait_for_marker_at(page, point)
    # The visitor's camera stays: the same plot, not redrawn from the figure's default view.
    assert page.evaluate("(p) => p === document.querySelector('#latent-plot .js-plotly-plot')", plot)
    assert same_camera(page, camera)
    page.screenshot(path=str(ARTIFACTS / "latent-clicked.png"))
    page.context.close()


def test_a_number_out_of_range_is_clamped_and_the_box_shows_the_point_decoded(server, browser, latent):
    page = open_latent(browser, server)
    (x_lo, x_hi), _, (z_lo, _) = latent.slider_ranges()
    box = page.locator("#latent-x input[type=number]")
    box.click()
    box.press("Control+a")
    box.press_sequentially("999", delay=50)
    # While the box still shows 999, the page says which point it decoded instead.
    page.wait_for_function("(t) => document.querySelector('#latent-info').innerText.includes(t)",
                           arg=f"x = 999 is outside the slider ({x_lo:.2f} to {x_hi:.2f}): decoded at x = {x_hi:.2f}.",
                           timeout=10_000)
    _, y, z = sliders(page)
    wait_for_image_of(page, latent, (x_hi, y, z))
    wait_for_marker_at(page, (x_hi, y, z))  # the marker too, not 999 (off the axes)
    box.press("Enter")
    # Once typed, the box shows the value decoded, the note is gone, and no error.
    page.wait_for_function(f"() => Number(document.querySelector('#latent-x input[type=number]').value) === {x_hi}",
                           timeout=10_000)
    page.wait_for_function("(t) => document.querySelector('#latent-info').innerText.startsWith(t)",
                           arg=f"Point ({x_hi:.2f}, {y:.2f}, {z:.2f}).", timeout=10_000)
    wait_for_image_of(page, latent, (x_hi, y, z))
    # Below the minimum, and left by a click elsewhere rather than Enter.
    box = page.locator("#latent-z input[type=number]")
    box.click()
    box.press("Control+a")
    box.press_sequentially("-999", delay=50)
    page.locator("#latent-info").click()
    page.wait_for_function(f"() => Number(document.querySelector('#latent-z input[type=number]').value) === {z_lo}",
                           timeout=10_000)
    wait_for_image_of(page, latent, (x_hi, y, z_lo))
    wait_for_marker_at(page, (x_hi, y, z_lo))
    assert sliders(page) == [x_hi, y, z_lo]
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    page.context.close()


def test_dragging_a_slider_decodes_all_the_way_not_only_on_release(server, browser, latent):
    page = open_latent(browser, server)
    camera = rotate(page)
    # Each new image shown, with when: counted while the mouse button is still down.
    page.evaluate("() => { window.shown = []; const root = document.querySelector('#latent-decoded'); let last = null;"
                  " new MutationObserver(() => { const src = root.querySelector('img')?.src;"
                  "   if (src && src !== last) { last = src; window.shown.push(performance.now()); } })"
                  " .observe(root, {subtree: true, childList: true, attributes: true}); }")
    track = page.locator("#latent-y input[type=range]").bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] * 0.2, y)
    page.mouse.down()
    began = page.evaluate("() => performance.now()")
    for i in range(1, 41):
        page.mouse.move(track["x"] + track["width"] * (0.2 + 0.015 * i), y)
        time.sleep(0.03)
    ended = page.evaluate("() => performance.now()")
    during = [t for t in page.evaluate("() => window.shown") if began <= t <= ended]
    page.mouse.up()
    seconds = (ended - began) / 1000
    print(f"drag: {len(during)} decoded images shown in {seconds:.2f} s before mouse-up ({len(during) / seconds:.1f}/s)")
    assert len(during) >= 5, f"only {len(during)} decodes while dragging for {seconds:.1f} s"
    point = sliders(page)
    wait_for_image_of(page, latent, point)  # and the last one is where the slider stopped
    wait_for_marker_at(page, point)
    assert same_camera(page, camera)
    page.context.close()


def test_the_page_decodes_the_point_itself_while_a_slider_is_dragged(server, browser, latent):
    page = open_latent(browser, server)
    page.wait_for_function("() => window.digitzooLatentPage?.path === 'inpage'", timeout=30_000)
    track = page.locator("#latent-x input[type=range]").bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] * 0.3, y)
    page.mouse.down()
    before = page.evaluate("() => window.digitzooLatentPage.decodes")
    for i in range(1, 21):
        page.mouse.move(track["x"] + track["width"] * (0.3 + 0.02 * i), y)
        time.sleep(0.03)
    during = page.evaluate("() => window.digitzooLatentPage.decodes") - before
    assert during >= 5, f"only {during} decodes in the page while dragging"
    assert "decoded in your browser (wasm)" in page.locator("#latent-inpage-note").inner_text()
    page.mouse.up()
    point = sliders(page)
    wait_for_image_of(page, latent, point)  # the server's picture of where the slider stopped...
    page.wait_for_function("(p) => { const s = window.digitzooLatentPage.point;"
                           " return s && s.every((v, i) => Math.abs(v - p[i]) < 1e-6); }", arg=point, timeout=10_000)
    # ...and the page's, laid over it: the same digit, in the same place.
    mine = np.array(page.evaluate("""() => { const c = document.querySelector('#latent-inpage-decoded');
        return [...c.getContext('2d').getImageData(0, 0, 28, 28).data].filter((_, i) => i % 4 === 0); }""")).reshape(28, 28)
    server_image = shown_image(page)[::6, ::6][:28, :28]  # the server's 168x168 is the 28x28 at 6x
    assert np.abs(mine - server_image).mean() < 6, np.abs(mine - server_image).mean()
    overlay, picture = page.locator("#latent-inpage-decoded").bounding_box(), page.locator("#latent-decoded img").bounding_box()
    assert abs(overlay["y"] - picture["y"]) < 4 and abs(overlay["height"] - min(picture["width"], picture["height"])) < 4
    page.screenshot(path=str(ARTIFACTS / "latent-inpage.png"))
    page.context.close()


def test_with_inpage_off_the_server_decodes_and_the_page_says_so(server, browser, latent):
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.goto(server + "?inpage=0")
    page.get_by_role("tab", name="Latent space").click()
    page.wait_for_function("() => window.digitzooLatentPage?.path === 'server'", timeout=30_000)
    assert "The server decodes" in page.locator("#latent-inpage-note").inner_text()
    assert page.evaluate("() => window.digitzooLatentPage.decodes") == 0
    page.context.close()


@pytest.mark.parametrize("width, height, touch", [(1280, 720, False), (390, 844, True)])
def test_the_tab_fits_a_projector_and_a_phone(server, browser, latent, width, height, touch):
    page = open_latent(browser, server, width, height, touch)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    plot = page.locator("#latent-plot").bounding_box()
    scene = page.locator("#latent-plot #scene").bounding_box()
    # The scene has the plot's width (the legend is under it, not beside it).
    assert scene["width"] >= 0.95 * plot["width"], (scene, plot)
    # Plotly's toolbar does not hide under the component's label.
    label = page.locator("#latent-plot [data-testid=block-label]").bounding_box()
    tools = page.locator("#latent-plot .modebar").bounding_box()
    assert tools["x"] >= label["x"] + label["width"] or tools["y"] >= label["y"] + label["height"], (label, tools)
    if not touch:
        # A projector: the whole plot, the sliders and the decoded digit without scrolling.
        for selector in ("#latent-plot", "#latent-x", "#latent-z", "#latent-decoded"):
            box = page.locator(selector).bounding_box()
            assert 0 <= box["y"] and box["y"] + box["height"] <= height, f"{selector} ends at {box['y'] + box['height']:.0f} px"
    else:
        # A phone: the sliders start on the first screen, under the plot; a tapped dot is decoded.
        assert page.locator("#latent-x").bounding_box()["y"] < height
        before = sliders(page)
        page.evaluate("() => { window.tapped = null; document.querySelector('#latent-plot .js-plotly-plot')"
                      ".on('plotly_click', (e) => { const p = e.points[0]; window.tapped = [p.x, p.y, p.z, p.data.name]; }); }")
        for dx in range(0, 200, 6):  # tap along the middle of the cloud until a test digit's dot is hit
            page.touchscreen.tap(scene["x"] + scene["width"] * 0.25 + dx, scene["y"] + scene["height"] * 0.5)
            time.sleep(0.2)
            tapped = page.evaluate("() => window.tapped")
            if tapped and tapped[3] in "0123456789":
                break
        else:
            raise AssertionError("no test digit's dot answered a tap")
        point = [round(v, 2) for v in tapped[:3]]
        page.wait_for_function("(p) => ['x', 'y', 'z'].every((a, i) =>"
                               " Number(document.querySelector(`#latent-${a} input[type=number]`).value) === p[i])",
                               arg=point, timeout=10_000)
        assert sliders(page) != before
        wait_for_image_of(page, latent, point)
    page.screenshot(path=str(ARTIFACTS / f"layout-latent-{width}x{height}.png"))
    page.screenshot(path=str(ARTIFACTS / f"layout-latent-{width}x{height}-full.png"), full_page=True)
    page.context.close()
