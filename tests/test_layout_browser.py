"""The Draw tab fits the screens people use: a classroom projector (1280x720), a laptop (1366x900)
and a phone (390x844, touch). Screenshots of each land in test-artifacts/ (the README shows them)."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, DRAW, start_server  # skips this module without a browser

# What a person needs on the Draw tab without scrolling on a big screen (the page's own markup, apps/web/draw.js).
ESSENTIALS = [f"{DRAW} .dz-pad", f"{DRAW} [data-do=clear]", f"{DRAW} .dz-answer[data-side=left]",
              f"{DRAW} .dz-answer[data-side=right]", f"{DRAW} .dz-seen"]


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


def open_draw(browser, url: str, width: int, height: int, touch: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(f"{DRAW} .dz-pad", timeout=60_000)
    # Mounted (the answer panels are there) and the pad fitted to the screen: the page's models are open.
    page.wait_for_function("(sel) => document.querySelector(sel)?.dataset.readyMs !== undefined", arg=DRAW,
                           timeout=60_000)
    return page


@pytest.mark.parametrize("width, height", [(1280, 720), (1366, 900)])
def test_big_screens_show_pad_answers_view_and_clear_without_scrolling(server, browser, width, height):
    page = open_draw(browser, server, width, height)
    assert page.evaluate("() => window.scrollY") == 0
    for selector in ESSENTIALS:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} ends at {box['y'] + box['height']:.0f} px"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} ends at x {box['x'] + box['width']:.0f} px"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"layout-draw-{width}x{height}.png"))
    page.context.close()


def test_a_phone_shows_the_answer_right_under_the_pad_and_every_tab(server, browser):
    width, height = 390, 844
    page = open_draw(browser, server, width, height, touch=True)
    pad = page.locator(f"{DRAW} .dz-pad").bounding_box()
    answer = page.locator(f"{DRAW} .dz-answer[data-side=left]").bounding_box()
    assert pad["width"] <= width and page.evaluate("() => document.documentElement.scrollWidth") <= width
    # A finger needs room: the pad takes (nearly) the whole width of the screen.
    assert pad["width"] >= 0.9 * width and pad["x"] >= 0, pad
    # The answer starts right under the pad (the upload line between them is fine).
    gap = answer["y"] - (pad["y"] + pad["height"])
    assert 0 <= gap <= 250, f"the answer is {gap:.0f} px below the pad"
    # Every tab is a button on screen: none hides in an overflow menu.
    for name in ("Draw", "Latent space", "GAN sampler", "Models", "Playground"):
        tab = page.get_by_role("tab", name=name, exact=True)
        assert tab.is_visible(), f"the {name} tab needs more than one tap"
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
    page.screenshot(path=str(ARTIFACTS / "layout-draw-390x844.png"), full_page=True)
    page.context.close()
