"""The Playground in a real browser against a real `digitzoo serve --tab playground`.

For every lesson: Start, at least five plot updates while it trains, Stop. Then the bounds a
crowd meets: with every training slot taken, the next visitor is told "busy, N ahead of you",
and a Stop elsewhere lets that visitor's run start. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import pytest

from digitzoo.apps.playground import RUNNING, tab_label
from digitzoo.hub.lessons.lesson import get_lesson, list_lessons

from browser_support import ARTIFACTS, start_server  # skips this module without a browser

# Counts the distinct texts a status line shows: each streamed update rewrites it.
WATCH_STATUS = """(id) => {
  const el = document.getElementById(id);
  window.__seen = window.__seen || {};
  window.__seen[id] = new Set();
  new MutationObserver(() => window.__seen[id].add(el.innerText))
    .observe(el, {subtree: true, childList: true, characterData: true});
}"""
TRAINING_UPDATES = """(id) => [...(window.__seen[id] || [])].filter((t) => t.startsWith('Training')).length"""


def updates_at_least(name: str, count: int) -> str:
    """A page predicate: the lesson's status has shown ``count`` training updates."""
    return f"() => ({TRAINING_UPDATES})('lesson-status-{name}') >= {count}"


@pytest.fixture(scope="module")
def server():
    with start_server("--tab", "playground") as url:
        yield url


def open_lesson(owner, url: str, name: str, viewport=(1280, 900)):
    """A new page (of a browser or a context: every page load is a Gradio session of its own) on a lesson."""
    page = owner.new_page()
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(url)
    cls = get_lesson(name)
    page.get_by_role("tab", name=cls.group.capitalize(), exact=True).click()
    page.get_by_role("tab", name=tab_label(cls), exact=True).click()
    page.wait_for_selector(f"#lesson-start-{name}", state="visible", timeout=60_000)
    page.evaluate(WATCH_STATUS, f"lesson-status-{name}")
    return page


def status(page, name: str) -> str:
    return page.locator(f"#lesson-status-{name}").inner_text()


@pytest.mark.parametrize("name", list_lessons())
def test_each_lesson_streams_and_stops(server, browser, name):
    page = open_lesson(browser, server, name)
    page.click(f"#lesson-start-{name}")
    page.wait_for_function(updates_at_least(name, 5), timeout=60_000)
    # The picture is drawn (Plotly renders after the status text it came with: wait for it, not a count
    # taken at once, which found 0 once in a loaded CI rehearsal).
    page.wait_for_selector(f"#lesson-plot-{name} .js-plotly-plot", state="attached", timeout=30_000)
    assert page.locator(f"#lesson-plot-{name} .js-plotly-plot").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"playground-{name}.png"))
    page.click(f"#lesson-stop-{name}")
    # Stopped, or already finished (on a loaded machine a paced run can reach its time budget first).
    page.wait_for_function(f"() => /^(Stopped|Reached|Done|Out of time)/.test(document.getElementById('lesson-status-{name}').innerText)",
                           timeout=30_000)
    if get_lesson(name).exportable:  # the trained net, verified, as a download
        page.wait_for_selector(f"#lesson-download-{name}", state="visible", timeout=30_000)
        with page.expect_download() as download:
            page.click(f"#lesson-download-{name}")
        assert download.value.suggested_filename == f"{name}.onnx"
    page.close()


def _says(page, name: str, text: str) -> str:
    return f"() => document.getElementById('lesson-status-{name}').innerText.includes('{text}')"


def test_a_full_playground_says_busy_and_a_stop_or_a_closed_tab_frees_the_slot(server, browser):
    slow = max(list_lessons(), key=lambda n: get_lesson(n).max_seconds)  # runs long enough to hold a slot
    pages = [open_lesson(browser.new_context(), server, slow) for _ in range(RUNNING + 2)]
    for page in pages[:RUNNING]:
        page.click(f"#lesson-start-{slow}")
        page.wait_for_function(updates_at_least(slow, 1), timeout=60_000)
    late, later = pages[RUNNING], pages[RUNNING + 1]
    late.click(f"#lesson-start-{slow}")
    late.wait_for_function(_says(late, slow, "1 ahead of you"), timeout=30_000)
    later.click(f"#lesson-start-{slow}")
    later.wait_for_function(_says(later, slow, "2 ahead of you"), timeout=30_000)
    late.screenshot(path=str(ARTIFACTS / "playground-busy.png"))
    pages[0].click(f"#lesson-stop-{slow}")  # one learner stops: the first in line starts
    late.wait_for_function(updates_at_least(slow, 1), timeout=30_000)
    later.wait_for_function(_says(later, slow, "1 ahead of you"), timeout=30_000)
    pages[1].context.close()  # another closes the tab: its run stops, the next in line starts
    later.wait_for_function(updates_at_least(slow, 1), timeout=30_000)
    for page in (pages[2], late, later):
        page.click(f"#lesson-stop-{slow}")
    for page in (pages[0], pages[2], late, later):
        page.wait_for_function(f"() => !document.getElementById('lesson-status-{slow}').innerText.startsWith('Training')",
                               timeout=30_000)
        page.context.close()


def test_playground_fits_a_phone(server, browser):
    name = list_lessons()[0]
    page = open_lesson(browser, server, name, viewport=(390, 844))
    page.click(f"#lesson-start-{name}")
    page.wait_for_function(updates_at_least(name, 3), timeout=60_000)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page is {width} px wide on a 390 px phone"
    page.screenshot(path=str(ARTIFACTS / "playground-phone.png"), full_page=True)
    page.click(f"#lesson-stop-{name}")
    page.close()


def test_a_start_past_every_place_is_told_busy_in_the_page_at_once(browser, monkeypatch):
    """With no place left, Start is refused before Gradio queues it (apps.playground_gate): the page
    shows the sentence within 2 s and the status line stays as it was."""
    import time

    from digitzoo.apps import gradio_app, playground
    from digitzoo.apps.bench import free_port

    monkeypatch.setattr(playground, "SLOTS", playground.RunSlots(running=0, waiting=0))  # every place taken
    app = gradio_app.serve(port=free_port(), block=False, tabs=["playground"])
    try:
        name = list_lessons()[0]
        page = open_lesson(browser, app.local_url, name)
        began = time.monotonic()
        page.click(f"#lesson-start-{name}")
        page.get_by_text("Busy: 0 runs are training").first.wait_for(timeout=10_000)
        answered_s = time.monotonic() - began
        assert answered_s < 2, answered_s
        assert status(page, name).endswith("Press Start."), status(page, name)  # no run started
        page.close()
    finally:
        app.close()
