"""The Draw tab fits the screens people use: a classroom projector (1280x720), a laptop (1366x900)
and a phone (390x844, touch). Screenshots of each land in test-artifacts/ (the README shows them)."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, start_server  # skips this module without a browser

# What a person needs on the Draw tab without scrolling on a big screen.
ESSENTIALS = ["#draw-pad canvas", "#draw-left", "#draw-right", "#draw-seen", "#draw-clear"]


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


def open_draw(browser, url: str, width: int, height: int, touch: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#draw-pad canvas", timeout=60_000)
    return page


@pytest.mark.parametrize("width, height", [(1280, 720), (1366, 900)])
def test_big_screens_show_pad_answers_view_and_clear_without_scrolling(server, browser, width, height):
    page = open_draw(browser, server, width, height)
    for selector in ESSENTIALS:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} ends at {box['y'] + box['height']:.0f} px"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"layout-draw-{width}x{height}.png"))
    page.context.close()


def test_a_phone_shows_the_answer_right_under_the_pad_and_every_tab(server, browser):
    width, height = 390, 844
    page = open_draw(browser, server, width, height, touch=True)
    pad = page.locator("#draw-pad canvas").first.bounding_box()
    answer = page.locator("#draw-left").first.bounding_box()
    assert pad["width"] <= width and page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The answer starts within one short scroll (half a screen) below the pad's bottom edge.
    gap = answer["y"] - (pad["y"] + pad["height"])
    assert 0 <= gap <= height / 2, f"the answer is {gap:.0f} px below the pad"
    # Every tab is a button on screen: none hides in an overflow menu.
    for name in ("Draw", "Latent space", "GAN sampler", "Models", "Playground"):
        tab = page.get_by_role("tab", name=name, exact=True)
        assert tab.is_visible(), f"the {name} tab needs more than one tap"
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
    page.screenshot(path=str(ARTIFACTS / "layout-draw-390x844.png"), full_page=True)
    page.context.close()
