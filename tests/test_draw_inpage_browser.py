"""The hub's Draw tab answers in the page (apps/web/gradio_draw.js, served by apps.draw_inpage): the
models run in Chromium with onnxruntime-web while the stroke is drawn, the page says so, Clear
resets, a tampered model file sends the page back to the server's answers, and a finger draws."""

from __future__ import annotations

import time

import pytest

from browser_support import ARTIFACTS, start_server  # skips this module without a browser
from digitzoo.apps.browser_bench import PAD_BOX

SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]
ONE = [(0.52, 0.15), (0.48, 0.85)]
STAR = [(0.50, 0.10), (0.62, 0.85), (0.15, 0.35), (0.85, 0.35), (0.38, 0.85), (0.50, 0.10)]
LIVE = "() => window.digitzooDraw && window.digitzooDraw.path === 'inpage'"


@pytest.fixture(scope="module")
def server():
    with start_server("--tab", "draw") as url:
        yield url


@pytest.fixture(scope="module")
def live_page(server, browser):
    """One desktop page answering in the page, shared by the tests that draw and clear on it."""
    page = goto(open_draw(browser, server), server)
    yield page
    page.context.close()


def open_draw(browser, url: str, width: int = 1280, height: int = 900, touch: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    return context.new_page()


def goto(page, url: str, live: bool = True):
    page.goto(url)
    page.wait_for_selector("#draw-pad canvas", timeout=60_000)
    if live:
        page.wait_for_function(LIVE, timeout=30_000)
    return page


def points_on(page, points):
    box = page.locator("#draw-pad canvas").first.bounding_box()
    return [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in points]


def press_and_move(page, points, steps: int = 15) -> None:
    """Press and move through the points in small steps; the mouse stays down."""
    at = points_on(page, points)
    page.mouse.move(*at[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(at, at[1:]):
        for i in range(1, steps + 1):
            page.mouse.move(ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps)


def shown(page) -> list[str] | None:
    return page.evaluate("() => window.digitzooDraw.shown")


def how(page) -> str:
    return page.locator("#draw-inpage .how").inner_text()


def test_the_answer_shows_while_the_digit_is_drawn_in_the_browser(live_page):
    page = live_page
    for points, digit in ((SEVEN, "7"), (ONE, "1")):
        page.click("#draw-clear")
        page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
        press_and_move(page, points)
        # Still pressed: the page has answered from the strokes so far, with no server round trip.
        page.wait_for_function("(d) => (window.digitzooDraw.shown || [])[0] === d", arg=digit, timeout=10_000)
        assert "in your browser (wasm)" in how(page)
        page.mouse.up()
        page.wait_for_function("() => window.digitzooDraw.upAnswerMs !== null", timeout=10_000)
        assert shown(page) == [digit, digit], shown(page)  # CNN and LSTM
        assert "in your browser (wasm)" in how(page) and " ms" in how(page)
    page.screenshot(path=str(ARTIFACTS / "draw-inpage.png"))


SEEN_PIXELS = """(selector) => { const source = document.querySelector(selector);
  const c = document.createElement('canvas'); c.width = c.height = 28;
  const ctx = c.getContext('2d'); ctx.drawImage(source, 0, 0, 28, 28);
  return [...ctx.getImageData(0, 0, 28, 28).data].filter((_, i) => i % 4 === 0); }"""
BELIEF_Y = "() => JSON.stringify(document.querySelector('#lstm-belief .js-plotly-plot')?.data?.map(t => t.y))"


def test_the_28x28_view_and_the_belief_chart_follow_the_stroke(live_page):
    page = live_page
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    press_and_move(page, SEVEN)
    # Still pressed: the page shows the 28x28 it read.
    page.wait_for_function("() => { const c = document.querySelector('#draw-inpage-seen'); return c && !c.hidden; }",
                           timeout=10_000)
    page.mouse.up()
    # The server's picture of the same drawing (the pad's own event) comes later: the two agree.
    page.wait_for_function("() => document.querySelector('#draw-seen img')?.complete", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('#lstm-belief .scatterlayer .trace').length === 10",
                           timeout=30_000)
    # Polled: under load the server's picture of an earlier state can still be on screen for a while.
    deadline = time.monotonic() + 30
    while True:
        mine, server = page.evaluate(SEEN_PIXELS, "#draw-inpage-seen"), page.evaluate(SEEN_PIXELS, "#draw-seen img")
        differ = sum(abs(a - b) for a, b in zip(mine, server)) / 784
        if differ < 16 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert sum(mine) > 28 * 255, "the page's 28x28 view is blank"
    assert differ < 16, f"the page's 28x28 differs from the server's ({differ:.1f} per pixel)"
    seen_box = page.locator("#draw-inpage-seen").bounding_box()
    img_box = page.locator("#draw-seen img").bounding_box()
    assert abs(seen_box["y"] - img_box["y"]) < 4 and abs(seen_box["height"] - min(img_box["width"], img_box["height"])) < 4
    # A second stroke: the chart's lines move while the mouse is still down (the pad's event waits for the mouse-up).
    before = page.evaluate(BELIEF_Y)
    press_and_move(page, [(0.35, 0.55), (0.65, 0.55)])
    page.wait_for_function(f"(old) => ({BELIEF_Y})() !== old", arg=before, timeout=10_000)
    widths = page.evaluate("() => document.querySelector('#lstm-belief .js-plotly-plot').data.map(t => t.line.width)")
    assert sorted(widths)[-1] > sorted(widths)[-2], f"no line stands out as the answer: {widths}"
    page.mouse.up()
    page.screenshot(path=str(ARTIFACTS / "draw-inpage-seen-and-chart.png"))


def test_clear_resets_the_answers_and_the_next_digit_is_read(live_page):
    page = live_page
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    press_and_move(page, SEVEN)
    page.mouse.up()
    page.wait_for_function("() => (window.digitzooDraw.shown || [])[0] === '7'", timeout=10_000)
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    assert "Draw a digit" in how(page)
    assert page.locator("#draw-inpage .answer").count() == 0
    press_and_move(page, ONE)  # the old 7 must not linger in the page's copy of the pad
    page.mouse.up()
    page.wait_for_function("() => (window.digitzooDraw.shown || [])[0] === '1'", timeout=10_000)


def test_a_star_is_not_sure(live_page):
    from digitzoo.hub.serving.manifest import parts_with_role, read_manifest

    if not parts_with_role(read_manifest(), "detector"):
        pytest.skip("the shipped exports have no not-a-digit detector yet")
    page = live_page
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    press_and_move(page, STAR, steps=8)
    page.mouse.up()
    page.wait_for_function("() => window.digitzooDraw.upAnswerMs !== null", timeout=10_000)
    assert all(s.startswith("not sure: looks most like") for s in shown(page)), shown(page)
    assert "Not sure this is a digit" in how(page)


def test_a_tampered_model_file_falls_back_to_the_server_and_says_so(server, browser):
    page = open_draw(browser, server)

    def flip(route):
        body = bytearray(route.fetch().body())
        body[len(body) // 2] ^= 0xFF
        route.fulfill(status=200, body=bytes(body), headers={"content-type": "application/octet-stream"})

    page.route("**/digitzoo/inpage/models/**/*.onnx", flip)
    goto(page, server, live=False)
    page.wait_for_function("() => window.digitzooDraw.why !== null", timeout=30_000)
    note = page.locator("#draw-inpage-note")
    note.wait_for(timeout=10_000)
    assert "sha256" in note.inner_text() and "server" in note.inner_text(), note.inner_text()
    assert page.evaluate("() => window.digitzooDraw.path") == "server"
    # The page asks the server with its copy of the drawing and shows the answer in the same panel.
    press_and_move(page, SEVEN)
    page.mouse.up()
    page.wait_for_function("() => window.digitzooDraw.upAnswerMs !== null", timeout=30_000)
    assert shown(page) == ["7", "7"], shown(page)
    assert "Answered by the server (onnxruntime-cpu" in how(page), how(page)
    # The pad's own event still runs (the 28x28 view, the chart): its Labels under the panel agree.
    page.wait_for_function("() => document.querySelector('#draw-left h2, #draw-left .output-class')"
                           "?.textContent.trim() === '7'", timeout=30_000)
    assert "onnxruntime" in page.locator("#draw-info").inner_text()
    assert page.locator("#draw-inpage-note").count() == 1  # said once
    page.context.close()


def test_server_path_follows_the_picked_pair_and_says_why_not(server, browser):
    page = goto(open_draw(browser, server), server + "?inpage=0", live=False)
    page.wait_for_function("() => window.digitzooDraw.path === 'server'", timeout=30_000)
    assert "?inpage=0" in page.locator("#draw-inpage-note").inner_text()
    page.locator("#pick-left input").click()
    page.get_by_role("option", name="MLP (mnist_mlp)").click()
    press_and_move(page, ONE)
    page.mouse.up()
    page.wait_for_function("() => window.digitzooDraw.upAnswerMs !== null", timeout=30_000)
    assert shown(page) == ["1", "1"], shown(page)
    assert page.locator("#draw-inpage .answer").first.get_attribute("data-model") == "mnist_mlp"
    assert "mnist_mlp" in how(page) and "ms in all" in how(page), how(page)
    # A star: the server's detector doubts it, and the panel says so as the in-page path does.
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    press_and_move(page, STAR, steps=8)
    page.mouse.up()
    page.wait_for_function("() => (window.digitzooDraw.shown || [''])[0].startsWith('not sure')", timeout=30_000)
    assert "Not sure this is a digit" in how(page) and "Answered by the server" in how(page), how(page)
    page.context.close()


def test_a_busy_server_is_asked_again_and_an_unreachable_one_leaves_the_pads_own_answers(server, browser):
    page = open_draw(browser, server)
    calls = []

    def busy_once(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    page.route("**/digitzoo/inpage/classify", busy_once)
    goto(page, server + "?inpage=0", live=False)
    press_and_move(page, SEVEN)
    page.mouse.up()
    page.wait_for_function("() => (window.digitzooDraw.shown || [])[0] === '7'", timeout=30_000)
    assert len(calls) >= 2 and page.evaluate("() => window.digitzooDraw.path") == "server"
    page.unroute("**/digitzoo/inpage/classify")
    page.route("**/digitzoo/inpage/classify", lambda route: route.abort())
    page.click("#draw-clear")
    page.wait_for_function("() => window.digitzooDraw.shown === null", timeout=10_000)
    press_and_move(page, ONE)
    page.mouse.up()
    page.wait_for_function("() => window.digitzooDraw.path === 'gradio'", timeout=30_000)
    assert page.locator("#draw-inpage").count() == 0
    assert "could not be asked" in page.locator("#draw-inpage-note").inner_text()
    page.wait_for_function("() => document.querySelector('#draw-left h2, #draw-left .output-class')"
                           "?.textContent.trim() === '1'", timeout=30_000)
    page.context.close()


def test_a_finger_draws_on_a_phone(server, browser):
    page = goto(open_draw(browser, server, 390, 844, touch=True), server)
    page.locator("#draw-pad canvas").first.scroll_into_view_if_needed()
    cdp = page.context.new_cdp_session(page)
    # On a phone the pad's canvas is taller than its image: the finger stays on the image.
    box = page.evaluate(PAD_BOX, "#draw-pad canvas")
    (ax, ay), (bx, by) = [(box["x"] + box["side"] * fx, box["y"] + box["side"] * fy) for fx, fy in ONE]
    touch = lambda kind, x, y: cdp.send("Input.dispatchTouchEvent", {  # noqa: E731
        "type": kind, "touchPoints": [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]})
    touch("touchStart", ax, ay)
    for i in range(1, 16):
        touch("touchMove", ax + (bx - ax) * i / 15, ay + (by - ay) * i / 15)
    page.wait_for_function("() => (window.digitzooDraw.shown || [])[0] === '1'", timeout=10_000)
    touch("touchEnd", bx, by)
    page.wait_for_function("() => window.digitzooDraw.upAnswerMs !== null", timeout=10_000)
    assert shown(page)[0] == "1" and "in your browser (wasm)" in how(page)
    # The pad itself drew the finger's stroke too: the server, reading the pad, also says 1.
    page.wait_for_function("() => document.querySelector('#draw-left h2, #draw-left .output-class')"
                           "?.textContent.trim() === '1'", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "draw-inpage-390x844.png"), full_page=True)
    page.context.close()
