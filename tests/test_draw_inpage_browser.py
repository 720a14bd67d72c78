"""The hub's Draw tab answers in the page (apps/web/draw.js, mounted by hub.js, served by apps.pages):
the models run in Chromium with onnxruntime-web while the stroke is drawn, the page says so, Clear
resets, one drawing gets one verdict, a tampered model file sends the page to the server's answers,
the server path (?inpage=0) follows the picked pair and asks again when busy, and a finger draws."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from browser_support import ARTIFACTS, DRAW, draw_stroke, pad_points, state, start_server  # skips without a browser

SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]
ONE = [(0.52, 0.15), (0.48, 0.85)]
STAR = [(0.50, 0.10), (0.62, 0.85), (0.15, 0.35), (0.85, 0.35), (0.38, 0.85), (0.50, 0.10)]
ASK = "/digitzoo/pages/ask/"
CNN_FILE = "**/digitzoo/pages/models/mnist_cnn/mnist_cnn.onnx"
SERVER_ANSWER = 30_000  # ms: the server path on a loaded 2-core machine


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


def wait_state(page, condition: str, arg=None, timeout: int = 30_000) -> None:
    """Wait until ``condition`` (a JS expression over ``s``, the Draw root's data-*, and ``arg``) holds."""
    page.wait_for_function(f"([sel, arg]) => {{ const s = document.querySelector(sel)?.dataset; return !!s && ({condition}); }}",
                           arg=[DRAW, arg], timeout=timeout)


def goto(page, url: str, live: bool = True):
    page.goto(url)
    page.wait_for_selector(f"{DRAW} .dz-pad", timeout=60_000)
    wait_state(page, "s.readyMs !== undefined", timeout=60_000)
    if live:
        assert state(page)["path"] == "inpage", (state(page), note(page))
    return page


def press_and_move(page, points, steps: int = 15) -> None:
    """Press and move through the points in small steps; the mouse stays down."""
    draw_stroke(page, points, steps=steps, release=False)


def tops(page) -> list[str]:
    """The headlines of the two answer panels, left then right."""
    return [page.locator(f"{DRAW} .dz-answer[data-side={side}] .dz-top").inner_text().strip() for side in ("left", "right")]


def how(page) -> str:
    return page.locator(f"{DRAW} .dz-timing").inner_text()


def verdict(page) -> str:
    return page.locator(f"{DRAW} .dz-verdict").inner_text().strip()


def note(page) -> str:
    return page.locator("#draw-page .dz-note").inner_text()


def clear(page) -> None:
    page.click(f"{DRAW} [data-do=clear]")
    wait_state(page, "s.shown === ''", timeout=10_000)


def test_the_answer_shows_while_the_digit_is_drawn_in_the_browser(live_page):
    page = live_page
    for points, digit in ((SEVEN, "7"), (ONE, "1")):
        clear(page)
        press_and_move(page, points)
        # Still pressed: the page has answered from the strokes so far, with no server round trip.
        wait_state(page, "s.shown === arg", digit, timeout=10_000)
        assert "in your browser (wasm)" in how(page)
        page.mouse.up()
        wait_state(page, "s.upAnswerMs !== undefined", timeout=10_000)
        assert tops(page) == [digit, digit], tops(page)  # CNN and LSTM
        assert "in your browser (wasm)" in how(page) and " ms" in how(page)
    page.screenshot(path=str(ARTIFACTS / "draw-inpage.png"))


SEEN_PIXELS = """(selector) => { const source = document.querySelector(selector);
  const c = document.createElement('canvas'); c.width = c.height = 28;
  const ctx = c.getContext('2d'); ctx.drawImage(source, 0, 0, 28, 28);
  return [...ctx.getImageData(0, 0, 28, 28).data].filter((_, i) => i % 4 === 0); }"""
BELIEF = f"() => document.querySelector('{DRAW} .dz-belief').toDataURL()"
BELIEF_TOP = f"() => document.querySelector('{DRAW} .dz-belief').dataset.top"


def ask_server(url: str, kind: str, body: dict) -> dict:
    """The server path's answer to ``body`` (what the page would get with ?inpage=0)."""
    request = urllib.request.Request(url.rstrip("/") + ASK + kind, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def test_the_28x28_view_and_the_belief_chart_follow_the_stroke(server, live_page):
    page = live_page
    clear(page)
    assert page.evaluate(BELIEF_TOP) == ""  # nothing charted
    press_and_move(page, SEVEN)
    # Still pressed: the page shows the 28x28 it read.
    page.wait_for_function(f"(s) => ({SEEN_PIXELS})(s).some(v => v > 0)", arg=f"{DRAW} .dz-seen", timeout=10_000)
    page.mouse.up()
    wait_state(page, "s.upAnswerMs !== undefined", timeout=10_000)
    # The server reads the same drawing (the pad's picture) into the same 28x28.
    picture = page.evaluate(f"() => document.querySelector('{DRAW} .dz-pad').toDataURL('image/png')")
    served = [round(v * 255) for v in ask_server(server, "classify", {"image": picture, "left": None, "right": None})["seen"]]
    mine = page.evaluate(SEEN_PIXELS, f"{DRAW} .dz-seen")
    differ = sum(abs(a - b) for a, b in zip(mine, served)) / 784
    assert sum(mine) > 28 * 255, "the page's 28x28 view is blank"
    assert differ < 16, f"the page's 28x28 differs from the server's ({differ:.1f} per pixel)"
    seen_box = page.locator(f"{DRAW} .dz-seen").bounding_box()
    assert seen_box["width"] >= 56 and abs(seen_box["width"] - seen_box["height"]) < 1, seen_box  # shown square
    # The LSTM's belief chart is drawn, its thick line the digit it believes after the last row.
    assert page.evaluate(BELIEF_TOP) == tops(page)[1] == "7", (page.evaluate(BELIEF_TOP), tops(page))
    # A second stroke: the chart's lines move while the mouse is still down.
    before = page.evaluate(BELIEF)
    press_and_move(page, [(0.35, 0.55), (0.65, 0.55)])
    page.wait_for_function(f"(old) => ({BELIEF})() !== old", arg=before, timeout=10_000)
    assert re.fullmatch("[0-9]", page.evaluate(BELIEF_TOP)), f"no line stands out as the answer: {page.evaluate(BELIEF_TOP)!r}"
    page.mouse.up()
    page.screenshot(path=str(ARTIFACTS / "draw-inpage-seen-and-chart.png"))


def test_clear_resets_the_answers_and_the_next_digit_is_read(live_page):
    page = live_page
    clear(page)
    press_and_move(page, SEVEN)
    page.mouse.up()
    wait_state(page, "s.shown === '7'", timeout=10_000)
    clear(page)
    assert "Draw a digit" in how(page)
    assert tops(page) == ["", ""] and page.locator(f"{DRAW} .dz-answer li").count() == 0
    assert page.evaluate(BELIEF_TOP) == "" and verdict(page) == ""
    press_and_move(page, ONE)  # the old 7 must not linger in the page's copy of the pad
    page.mouse.up()
    wait_state(page, "s.shown === '1'", timeout=10_000)


def test_one_drawing_gets_one_verdict(live_page):
    """A star: both panels and the one verdict line say "not sure"; a 7: all say digit, nothing says "not sure"."""
    from digitzoo.hub.serving.manifest import parts_with_role, read_manifest

    if not parts_with_role(read_manifest(), "detector"):
        pytest.skip("the shipped exports have no not-a-digit detector yet")
    page = live_page
    clear(page)
    press_and_move(page, STAR, steps=8)
    page.mouse.up()
    wait_state(page, "s.upAnswerMs !== undefined", timeout=10_000)
    assert all(s.startswith("not sure: looks most like") for s in tops(page)), tops(page)
    assert verdict(page).startswith("Not sure this is a digit"), verdict(page)
    assert page.locator(f"{DRAW} .dz-answer.dz-doubt").count() == 2
    clear(page)
    press_and_move(page, SEVEN)
    page.mouse.up()
    wait_state(page, "s.upAnswerMs !== undefined", timeout=10_000)
    assert tops(page) == ["7", "7"] and verdict(page) == "", (tops(page), verdict(page))
    assert "not sure" not in page.locator(DRAW).inner_text().lower()
    assert page.locator(f"{DRAW} .dz-answer.dz-doubt").count() == 0


def test_a_tampered_model_file_falls_back_to_the_server_and_says_so(server, browser):
    page = open_draw(browser, server)

    def flip(route):
        body = bytearray(route.fetch().body())
        body[len(body) // 2] ^= 0xFF
        route.fulfill(status=200, body=bytes(body), headers={"content-type": "application/octet-stream"})

    page.route(CNN_FILE, flip)
    goto(page, server, live=False)
    said = note(page)
    assert "mnist_cnn.onnx" in said and "sha256" in said and "The server answers" in said, said
    assert state(page)["path"] == "server"
    # The page asks the server with its copy of the drawing and shows the answer in the same panels.
    press_and_move(page, SEVEN)
    page.mouse.up()
    wait_state(page, "s.upAnswerMs !== undefined", timeout=SERVER_ANSWER)
    assert tops(page) == ["7", "7"], tops(page)
    assert "Answered on the server (onnxruntime-cpu" in how(page), how(page)
    # The 28x28 view and the chart come from the server's answer too.
    assert sum(page.evaluate(SEEN_PIXELS, f"{DRAW} .dz-seen")) > 28 * 255
    assert page.evaluate(BELIEF_TOP) == "7"
    assert page.locator("#draw-page .dz-note").count() == 1  # said once
    page.context.close()


def test_server_path_follows_the_picked_pair_and_says_why_not(server, browser):
    page = open_draw(browser, server)
    asked = []
    page.on("request", lambda r: asked.append(r.post_data_json) if ASK + "classify" in r.url else None)
    goto(page, server + "?inpage=0", live=False)
    assert state(page)["path"] == "server"
    assert "?inpage=0" in note(page), note(page)
    page.locator(f"{DRAW} select[data-side=left]").select_option("mnist_mlp")
    wait_state(page, "document.querySelector(arg).dataset.model === 'mnist_mlp'", f"{DRAW} .dz-answer[data-side=left]")
    press_and_move(page, ONE)
    page.mouse.up()
    wait_state(page, "s.upAnswerMs !== undefined", timeout=SERVER_ANSWER)
    assert tops(page) == ["1", "1"], tops(page)
    assert page.locator(f"{DRAW} .dz-answer").first.get_attribute("data-model") == "mnist_mlp"
    assert asked and asked[-1]["left"] == "mnist_mlp" and asked[-1]["right"] == "mnist_lstm", asked[-1:]
    assert "mnist_mlp" in how(page) and re.search(r"preprocessing and all [0-9.]+ ms", how(page)), how(page)
    # A star: the server's detector doubts it, and the panels and the verdict say so as the in-page path does.
    clear(page)
    press_and_move(page, STAR, steps=8)
    page.mouse.up()
    wait_state(page, "s.shown.startsWith('not sure')", timeout=SERVER_ANSWER)
    assert all(s.startswith("not sure: looks most like") for s in tops(page)), tops(page)
    assert verdict(page).startswith("Not sure this is a digit") and "Answered on the server" in how(page), how(page)
    page.context.close()


def test_a_busy_server_is_asked_again_and_an_unreachable_one_leaves_the_last_answers(server, browser):
    page = open_draw(browser, server)
    calls = []

    def busy_once(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(status=503, body=json.dumps({"error": "The server is busy: try again in a moment."}),
                          headers={"content-type": "application/json"})
        else:
            route.continue_()

    page.route("**" + ASK + "classify", busy_once)
    goto(page, server + "?inpage=0", live=False)
    press_and_move(page, SEVEN)
    page.mouse.up()
    wait_state(page, "s.shown === '7'", timeout=SERVER_ANSWER)
    assert len(calls) >= 2 and calls[0] == "POST" and state(page)["path"] == "server", calls
    assert tops(page) == ["7", "7"] and "Answered on the server" in how(page), (tops(page), how(page))
    # The server cannot be reached: the next stroke is not read, the page says so, the 7's answers stay.
    page.unroute("**" + ASK + "classify")
    page.route("**" + ASK + "classify", lambda route: route.abort())
    press_and_move(page, [(0.35, 0.55), (0.65, 0.55)])
    page.mouse.up()
    page.wait_for_function(f"() => document.querySelector('{DRAW} .dz-verdict').textContent.startsWith('Not read:')",
                           timeout=SERVER_ANSWER)
    assert "could not be asked" in verdict(page), verdict(page)
    assert tops(page) == ["7", "7"] and state(page)["path"] == "server"
    page.context.close()


def test_a_finger_draws_on_a_phone(server, browser):
    page = goto(open_draw(browser, server, 390, 844, touch=True), server)
    page.locator(f"{DRAW} .dz-pad").scroll_into_view_if_needed()
    cdp = page.context.new_cdp_session(page)
    (ax, ay), (bx, by) = pad_points(page, ONE)
    touch = lambda kind, x, y: cdp.send("Input.dispatchTouchEvent", {  # noqa: E731
        "type": kind, "touchPoints": [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]})
    scrolled = page.evaluate("() => window.scrollY")
    touch("touchStart", ax, ay)
    for i in range(1, 16):
        touch("touchMove", ax + (bx - ax) * i / 15, ay + (by - ay) * i / 15)
    wait_state(page, "s.shown === '1'", timeout=10_000)  # the finger is still down
    touch("touchEnd", bx, by)
    wait_state(page, "s.upAnswerMs !== undefined", timeout=10_000)
    assert state(page)["shown"] == "1" and "in your browser (wasm)" in how(page)
    assert page.evaluate("() => window.scrollY") == scrolled  # the finger drew; it did not scroll the page
    # The pad itself drew the finger's stroke: the server, reading the pad's picture, also says 1.
    picture = page.evaluate(f"() => document.querySelector('{DRAW} .dz-pad').toDataURL('image/png')")
    probs = ask_server(server, "classify", {"image": picture, "left": "mnist_cnn", "right": "mnist_lstm"})["probs"]
    assert max(range(10), key=probs["mnist_cnn"].__getitem__) == 1, probs
    page.screenshot(path=str(ARTIFACTS / "draw-inpage-390x844.png"), full_page=True)
    cdp.detach()
    page.context.close()


def test_the_first_files_are_fetched_once_from_the_heads_preloads(server, browser):
    """apps.pages.head preloads models.json, onnxruntime-web (module and WebAssembly) and the first
    models while Gradio builds its page; the page's own fetches must take those bytes (same URL and
    mode) rather than fetch them a second time, which would make the first answer later, not sooner."""
    page = goto(open_draw(browser, server), server)
    fetched = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => /[.](wasm|onnx|mjs|json)$/.test(new URL(e.name).pathname))
        .map((e) => [new URL(e.name).pathname, e.initiatorType])""")
    page.context.close()
    paths = [path for path, _ in fetched]
    assert len(paths) == len(set(paths)), f"fetched twice: {fetched}"
    preloaded = {path.rsplit("/", 1)[-1] for path, initiator in fetched if initiator == "link"}
    wanted = {"models.json", "mnist_cnn.onnx", "mnist_lstm.onnx", "mnist_not_digit.onnx"}
    assert wanted <= preloaded and any(name.endswith(".wasm") for name in preloaded) \
        and any(name.endswith(".mjs") for name in preloaded), fetched
