"""A class run end to end in Chromium: the teacher starts it on a 1280x720 projector page, three
students join on phones (390x844, touch), agree, draw their prompted digits with a finger and are
told "saved" only once the server has them; the teacher's dashboard counts them within 2 s, a click
on a confusion cell shows its drawings, and closing the class stops the phones. Screenshots of
both pages go to test-artifacts/classroom-*.png."""

from __future__ import annotations

import time

import pytest

from browser_support import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, draw_stroke, start_server

# A 7 as a finger draws it: the bar, then down to the left.
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
# Strokes per prompted digit: rough, but each a digit's shape.
STROKES = {0: [(0.5, 0.15), (0.25, 0.5), (0.5, 0.85), (0.75, 0.5), (0.5, 0.15)], 1: [(0.5, 0.15), (0.5, 0.85)],
           2: [(0.25, 0.3), (0.5, 0.15), (0.75, 0.3), (0.25, 0.85), (0.75, 0.85)],
           3: [(0.3, 0.2), (0.7, 0.3), (0.45, 0.5), (0.7, 0.7), (0.3, 0.85)],
           4: [(0.6, 0.85), (0.6, 0.15), (0.25, 0.6), (0.8, 0.6)], 5: [(0.7, 0.15), (0.3, 0.15), (0.3, 0.5), (0.7, 0.6), (0.3, 0.85)],
           6: [(0.65, 0.15), (0.3, 0.6), (0.5, 0.85), (0.7, 0.65), (0.35, 0.6)], 7: SEVEN,
           8: [(0.5, 0.5), (0.3, 0.3), (0.5, 0.15), (0.7, 0.3), (0.3, 0.7), (0.5, 0.85), (0.7, 0.7), (0.5, 0.5)],
           9: [(0.7, 0.35), (0.5, 0.15), (0.3, 0.35), (0.5, 0.5), (0.7, 0.35), (0.7, 0.85)]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    db = tmp_path_factory.mktemp("classroom") / "class.sqlite3"
    with start_server("--tab", "draw", "--db", f"sqlite:///{db}") as url:
        yield url.rstrip("/")


def test_a_class_in_the_browser(hub):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            teacher.goto(f"{hub}/digitzoo/classroom/")
            teacher.click("#start")
            teacher.wait_for_function("location.hash.startsWith('#key=')")
            code = teacher.locator("#join-code").inner_text(timeout=30_000).strip()
            assert len(code) == 6
            join_url = teacher.locator("#join-url").inner_text().strip()
            assert join_url.endswith(f"/digitzoo/classroom/join?code={code}")
            teacher.wait_for_function("document.querySelector('#qr').complete && document.querySelector('#qr').naturalWidth > 100")

            phones = []
            for _ in range(3):
                context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                              device_scale_factor=2)
                phone = context.new_page()
                phone.goto(join_url)
                if phone.locator("#join").is_visible():
                    phone.click("#join")
                phone.wait_for_selector("#agree", state="visible", timeout=30_000)
                assert "no name" in phone.locator("#consent").inner_text()
                phone.tap("#agree")
                phone.wait_for_selector("#pad", state="visible")
                width = phone.locator("#pad").bounding_box()["width"]
                assert width >= 0.9 * 390 and phone.evaluate("document.documentElement.scrollWidth") <= 390
                phones.append(phone)

            sent = 0
            for round_ in range(2):
                for phone in phones:
                    phone.wait_for_function("!document.querySelector('#send').disabled || document.querySelector('#pad')",
                                            timeout=60_000)
                    digit = int(phone.locator("#prompt-digit").inner_text())
                    draw_stroke(phone, STROKES[digit], pad="#pad", touch=True)
                    phone.wait_for_function("document.querySelector('#reading').textContent.trim() !== ''", timeout=60_000)
                    # A finger takes its time from the pad to Send. (A tap under ~0.5 s after the stroke's
                    # synthetic touchEnd is taken by Chromium's gesture detection and makes no click.)
                    phone.wait_for_timeout(1000)
                    before = phone.locator("#status").inner_text()
                    assert "Saved" not in before or round_ > 0
                    phone.tap("#send")
                    try:
                        phone.wait_for_function("document.querySelector('#status').textContent.includes('Saved')", timeout=30_000)
                    except Exception:
                        phone.screenshot(path=str(ARTIFACTS / "classroom-student-failed.png"))
                        raise AssertionError(f"not saved: {phone.locator('#status').inner_text()!r} "
                                             f"{phone.locator('#models-note').inner_text()!r}") from None
                    sent += 1
                time.sleep(1.1)  # one drawing a second per device
            phones[0].screenshot(path=str(ARTIFACTS / "classroom-student-390x844.png"))

            began = time.monotonic()
            teacher.wait_for_function(f"document.querySelector('#drawings').textContent.trim() === '{sent}'", timeout=10_000)
            seen_after = time.monotonic() - began
            assert seen_after <= 2.0, f"the dashboard showed the last drawing {seen_after:.1f} s after it was saved"
            assert teacher.locator("#students").inner_text().strip() == "3"
            teacher.screenshot(path=str(ARTIFACTS / "classroom-teacher-1280x720.png"))
            # The confusion matrix holds every drawing; a cell with drawings shows them.
            counts = teacher.locator("#confusion button.cr-cell").evaluate_all(
                "cells => cells.map(c => Number(c.textContent.trim()) || 0)")
            assert sum(counts) == sent
            cell = teacher.locator("#confusion button.cr-cell:not([disabled])").first
            n = int(cell.inner_text().strip())
            cell.click()
            teacher.wait_for_selector("#cell-view", state="visible")  # its drawings come from the server: wait for them
            teacher.wait_for_function(f"document.querySelectorAll('#cell-drawings canvas').length === {n}", timeout=10_000)

            teacher.once("dialog", lambda dialog: dialog.accept())
            teacher.click("#close-class")
            teacher.wait_for_function("document.querySelector('#session-state').textContent.toLowerCase().includes('closed')",
                                      timeout=10_000)
            phone = phones[1]
            digit = int(phone.locator("#prompt-digit").inner_text())
            draw_stroke(phone, STROKES[digit], pad="#pad", touch=True)
            phone.wait_for_timeout(1000)
            phone.tap("#send")
            phone.wait_for_function("document.querySelector('#status').textContent.includes('closed')", timeout=30_000)
        finally:
            browser.close()
