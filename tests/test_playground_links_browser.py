"""The Playground's shared links, own data and code downloads, in a real browser against a real hub.

For every lesson: set a knob, the seed and the steps, train, press Copy link, open the link in a
fresh browser context (another visitor), find the same set-up, train again: the same result as
the first page and as a headless run of the same set-up. Then a learner's own CSV on each of the
three lessons that take one (and a refusal shown as a sentence), a hand-made link that is
clamped with sentences, a link into the full hub, and Get the code. Screenshots land in
test-artifacts/.
"""

from __future__ import annotations

import ast
import inspect
import random
from urllib.parse import parse_qsl, urlparse

import pytest

from digitzoo.apps.playground import tab_label
from digitzoo.hub.lessons.lesson import get_lesson, list_lessons
from digitzoo.hub.lessons.run import run_headless
from digitzoo.hub.lessons.user_data import read_table

from browser_support import ARTIFACTS, start_server  # skips this module without a browser

SEED = 7


@pytest.fixture(scope="module")
def server():
    with start_server("--tab", "playground") as url:
        yield url


def visitor(browser):
    """A browser context of its own: another visitor, another Gradio session (and a clipboard)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    return context


def open_lesson(context, url: str, name: str):
    page = context.new_page()
    page.goto(url)
    cls = get_lesson(name)
    page.get_by_role("tab", name=cls.group.capitalize(), exact=True).click()
    page.get_by_role("tab", name=tab_label(cls), exact=True).click()
    page.wait_for_selector(f"#lesson-start-{name}", state="visible", timeout=60_000)
    return page


def set_number(page, elem_id: str, value) -> None:
    field = page.locator(f"#{elem_id} input")
    field.fill(str(value))
    field.press("Tab")  # Gradio takes the value as the field loses focus


def number(page, elem_id: str) -> float:
    return float(page.locator(f"#{elem_id} input").input_value())


def train(page, name: str) -> str:
    """Start, wait for the end, and return the page's result line."""
    status = page.locator(f"#lesson-status-{name}")
    page.click(f"#lesson-start-{name}")
    page.wait_for_function(f"() => document.querySelector('#lesson-status-{name}')?.innerText.includes('from the command line')",
                           timeout=90_000)
    (line,) = [line for line in status.inner_text().splitlines() if line.startswith("Result:")]
    return line


def result_line(summary: dict) -> str:
    return "Result: " + " · ".join(f"{k} {v:.6g}" for k, v in summary["result"].items())


def a_numeric_knob(cls):
    """The first knob a number field sets, and a value other than its default."""
    for knob in cls.knobs:
        if not knob.choices:
            value = min(knob.default * 2 if knob.log else (knob.default + knob.hi) / 2, knob.hi)
            return knob, int(round(value)) if knob.integer else round(value, 6)
    return None, None


@pytest.mark.parametrize("name", list_lessons())
def test_a_copied_link_opens_the_same_set_up_and_trains_the_same_run(server, browser, name):
    cls = get_lesson(name)
    steps = min(cls.max_steps, 30)
    knob, value = a_numeric_knob(cls)
    first = visitor(browser)
    page = open_lesson(first, server, name)
    set_number(page, f"lesson-seed-{name}", SEED)
    set_number(page, f"lesson-steps-{name}", steps)
    if knob:
        set_number(page, f"lesson-knob-{name}-{knob.name}", value)
    shown = train(page, name)
    page.click(f"#lesson-copy-link-{name}")
    page.wait_for_function(f"() => (document.querySelector('#lesson-link-{name} textarea') || {{}}).value?.includes('lesson=')",
                           timeout=20_000)
    link = page.locator(f"#lesson-link-{name} textarea").input_value()
    assert page.evaluate("navigator.clipboard.readText()") == link and page.url == link  # copied, and in the address bar
    query = dict(parse_qsl(urlparse(link).query))
    assert (query["lesson"], query["seed"], query["steps"]) == (name, str(SEED), str(steps))
    first.close()

    second = visitor(browser)
    again = second.new_page()
    again.goto(link)
    again.wait_for_selector(f"#lesson-start-{name}", state="visible", timeout=60_000)  # the link picked the tabs
    again.wait_for_function(f"() => document.querySelector('#lesson-status-{name}')?.innerText.includes('Set up from a link')",
                            timeout=20_000)
    assert number(again, f"lesson-seed-{name}") == SEED and number(again, f"lesson-steps-{name}") == steps
    if knob:
        assert number(again, f"lesson-knob-{name}-{knob.name}") == pytest.approx(value)
    assert train(again, name) == shown
    knobs = {knob.name: value} if knob else {}
    assert shown == result_line(run_headless(name, SEED, knobs, threads=1, steps=steps))  # and what `digitzoo lesson run` prints
    again.screenshot(path=str(ARTIFACTS / f"playground-link-{name}.png"))
    second.close()


def test_a_hand_made_link_is_clamped_with_sentences(server, browser):
    context = visitor(browser)
    page = context.new_page()
    page.goto(server + "?lesson=regression&lr=1e9&hidden=abc&colour=red&data=yours")
    page.wait_for_function("() => document.querySelector('#lesson-status-regression')?.innerText.includes('Set up from a link')",
                           timeout=60_000)
    text = page.locator("#lesson-status-regression").inner_text()
    assert "learning rate 1e+09 is above the most this lesson takes, 10: set to 10" in text
    assert "hidden units 'abc' is not a number: set to 10" in text and "'colour'" in text
    assert "the sender's own data, which a link does not carry" in text and "Traceback" not in text
    assert number(page, "lesson-knob-regression-lr") == 10
    page.goto(server + "?lesson=nonesuch")
    note = page.locator("#playground-link-note")
    note.wait_for(state="visible", timeout=60_000)
    assert "asks for a lesson 'nonesuch', which does not exist; the lessons: regression" in note.inner_text()
    context.close()


def csv_for(name: str) -> tuple[str, str | None]:
    rng = random.Random(0)
    if name == "regression":
        return "x,y\n" + "".join(f"{x / 10},{(x / 10) ** 3 + rng.gauss(0, 0.05)}\n" for x in range(-20, 21)), None
    if name == "classification":
        return "x1,x2,label\n" + "".join(f"{rng.gauss(2 if i % 2 else -2, 0.7)},{rng.gauss(0, 1)},{i % 2}\n" for i in range(80)), None
    rows = []
    for _ in range(120):
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        rows.append(f"{a},{b},{int(a - b > 0)}\n")
    return "a,b,outcome\n" + "".join(rows), "outcome"


@pytest.mark.parametrize("name", ["regression", "classification", "multi_feature"])
def test_a_learner_s_own_csv_trains_in_the_page(server, browser, name, tmp_path):
    text, label = csv_for(name)
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    context = visitor(browser)
    page = open_lesson(context, server, name)
    page.locator(f"#lesson-data-{name}").get_by_text("Your own data").click()
    status = page.locator(f"#lesson-data-status-{name}")
    page.locator(f"#lesson-data-text-{name} textarea").fill("x,y\nhello,1\n")  # a refusal first: a sentence, nothing kept
    page.click(f"#lesson-data-use-{name}")
    page.wait_for_function(f"() => document.querySelector('#lesson-data-status-{name}')?.innerText.startsWith('Not used')",
                           timeout=20_000)
    assert "Traceback" not in status.inner_text() and "the lesson's own data" in status.inner_text()
    if label:
        page.locator(f"#lesson-data-label-{name} textarea, #lesson-data-label-{name} input").first.fill(label)
    page.set_input_files(f"#lesson-data-file-{name} input[type=file]", str(path))
    page.wait_for_function(f"() => document.querySelector('#lesson-data-status-{name}')?.innerText.startsWith('Using your data')",
                           timeout=30_000)
    table = read_table(text, get_lesson(name), label)
    assert table.summary() in status.inner_text()
    set_number(page, f"lesson-steps-{name}", min(get_lesson(name).max_steps, 60))
    shown = train(page, name)
    assert shown == result_line(run_headless(name, 0, threads=1, steps=min(get_lesson(name).max_steps, 60), data=table))
    assert "--data your.csv" in page.locator(f"#lesson-status-{name}").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"playground-own-data-{name}.png"), full_page=True)
    page.click(f"#lesson-copy-link-{name}")
    page.wait_for_function(f"() => (document.querySelector('#lesson-link-{name} textarea') || {{}}).value?.includes('data=yours')",
                           timeout=20_000)
    context.close()


def test_get_the_code_hands_over_the_lesson_as_set_up(server, browser, tmp_path):
    context = visitor(browser)
    page = open_lesson(context, server, "classification")
    set_number(page, "lesson-seed-classification", 11)
    set_number(page, "lesson-knob-classification-lr", 0.05)
    page.click("#lesson-get-code-classification")
    files = page.locator("#lesson-code-files-classification")
    links = files.locator("a[download]")
    links.nth(1).wait_for(timeout=30_000)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert sorted(h.rsplit("/", 1)[-1] for h in hrefs) == ["lesson_classification.ipynb", "lesson_classification.py"], hrefs
    with page.expect_download() as download:
        links.nth([h.endswith(".py") for h in hrefs].index(True)).click()
    script = tmp_path / "lesson.py"
    download.value.save_as(script)
    source = script.read_text()
    ast.parse(source)
    cls = get_lesson("classification")
    shown = [inspect.getsource(getattr(cls, part, None) or getattr(inspect.getmodule(cls), part)) for part in cls.code]
    assert "SEED = 11" in source and "'lr': 0.05," in source and all(piece in source for piece in shown)  # the page's code
    context.close()


@pytest.fixture(scope="module")
def hub():
    with start_server() as url:  # every tab: the link has to pick the Playground among them
        yield url


def test_a_link_into_the_full_hub_opens_the_playground_on_the_lesson(hub, browser):
    context = visitor(browser)
    page = context.new_page()
    page.goto(hub + "?lesson=dqn_cartpole&seed=4&steps=12")
    page.wait_for_selector("#lesson-start-dqn_cartpole", state="visible", timeout=60_000)
    assert number(page, "lesson-seed-dqn_cartpole") == 4 and number(page, "lesson-steps-dqn_cartpole") == 12
    assert train(page, "dqn_cartpole") == result_line(run_headless("dqn_cartpole", 4, threads=1, steps=12))
    context.close()


def test_a_visit_without_a_link_asks_the_server_nothing_while_the_page_starts(hub, browser):
    """Only a link's query goes to the server (playground.open_links): a load event that asked on
    every visit made the Draw tab's first answer ~0.1 s later on the full hub."""
    context = visitor(browser)
    page = context.new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url) if request.method == "POST" else None)
    page.goto(hub)
    page.wait_for_selector("#draw-page .dz-pad", timeout=60_000)
    page.wait_for_timeout(1_500)  # a load event's request would be on its way by now
    assert asked == [], asked
    context.close()
