"""A walk through every tab of `digitzoo serve`, on a phone (390x844, touch) and on a classroom
projector (1280x720, mouse): the main action of each tab, then the whole page checked for the
defects a new user met (issue "A page a teacher can project"). Screenshots of every step land in
test-artifacts/walk/.

The Draw, Latent space and GAN tabs are the project's own page modules (apps/web/draw.js,
latent.js, gan.js in a gr.HTML each): the walk drives their markup (tests/browser_support.py's
DRAW, LATENT, GAN) and reads their state from the root's data-* attributes; on the phone every
drawing is a finger (touch input through Chromium's DevTools protocol).

What one tab's own tests already assert (the Draw tab's fit in test_layout_browser, a bad upload
and a bad GAN seed in test_browser, the Playground's bounds in test_playground_browser, the
figures' and cards' content in test_apps) is not asserted again; this walk checks what a visitor
sees on the whole page after doing something on it.
"""

from __future__ import annotations

import json
import re

import pytest

from browser_support import ARTIFACTS, DRAW, GAN, LATENT, draw_stroke, start_server, state  # skips without a browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402 (after the skip)

WALK = ARTIFACTS / "walk"
SCREENS = {"phone": (390, 844, True), "projector": (1280, 720, False)}
TABS = ["Draw", "Latent space", "GAN sampler", "Models", "Playground"]
SEVEN = [(0.30, 0.28), (0.70, 0.28), (0.45, 0.78)]
# Not a digit: a zigzag over the whole pad and back across it, nothing like any of the ten.
SCRIBBLE = [(0.15, 0.15), (0.85, 0.35), (0.15, 0.6), (0.85, 0.85), (0.15, 0.85), (0.85, 0.15)]

# Every defect of the list that the page itself shows, as sentences naming what is wrong.
DEFECTS_JS = r"""
() => {
  const vw = window.innerWidth, found = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '');
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('[aria-hidden=true], .visually-hidden')) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const clipped = (el) => {  // cut to fit by an ancestor that scrolls or clips and itself fits
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') {
        const r = a.getBoundingClientRect();
        if (r.left >= -1 && r.right <= vw + 1) return true;
      }
    }
    return false;
  };
  const width = document.documentElement.scrollWidth;
  if (width > vw + 1) found.push(`the page scrolls sideways: ${width} px on a ${vw} px screen`);
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (wide.some((w) => w.contains(el)) || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    // Sticking out of the screen (an element wholly off screen, such as Plotly's text measurer, is never seen).
    if (r.right > 0 && r.left < vw && (r.left < -1 || r.right > vw + 1) && !clipped(el)) {
      wide.push(el);
      found.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} px of a ${vw} px screen`);
    }
  }
  // Every tab is a button on screen: none hides in a "more" menu.
  for (const more of document.querySelectorAll('button[aria-label="More tabs"]')) {
    if (shown(more)) {
      const hidden = [...more.parentElement.querySelectorAll('.overflow-dropdown button')].map((b) => b.textContent.trim());
      found.push(`tabs behind a "more" menu: ${hidden.join(', ')}`);
    }
  }
  for (const tab of document.querySelectorAll('[role=tab]')) {
    if (!shown(tab)) continue;
    const r = tab.getBoundingClientRect();
    if (r.left < -1 || r.right > vw + 1) found.push(`the tab "${tab.textContent.trim()}" is off screen`);
    if (tab.scrollWidth > tab.clientWidth + 1) found.push(`the tab "${tab.textContent.trim()}" is cut short`);
  }
  // No error badge, no traceback: a visitor gets sentences.
  for (const el of document.querySelectorAll('body *')) {
    if (el.children.length === 0 && /^error$/i.test(el.textContent.trim()) && shown(el)) found.push(`an "Error" badge (${name(el)})`);
  }
  const texts = [document.body.innerText];
  for (const box of document.querySelectorAll('input, textarea')) if (shown(box)) texts.push(box.value);
  const text = texts.join('\n');
  if (/Traceback \(most recent call last\)/.test(text)) found.push('a traceback on the page');
  const hash = text.match(/\b[0-9a-f]{64}\b/i);
  if (hash) found.push(`a full 64-character hash on screen: ${hash[0].slice(0, 16)}...`);
  for (const m of text.matchAll(/(\d[\d,]*(?:\.\d+)?) ?(?:s|sec|seconds)\b/g)) {
    if (parseFloat(m[1].replace(/,/g, '')) > 60) found.push(`a duration in bare seconds: "${m[0]}"`);
  }
  // Slider boxes and their ends read as people write numbers: at most two decimals.
  for (const range of document.querySelectorAll('input[type=range]')) {
    const block = range.closest('.block');
    if (!block || !shown(block)) continue;
    const values = [...block.querySelectorAll('input[type=number]')].map((i) => i.value);
    values.push(...[...block.querySelectorAll('.min_value, .max_value')].map((s) => s.textContent));
    for (const v of values) if (/\d\.\d{3,}/.test(v)) found.push(`a slider shows ${v}`);
  }
  // Table cells: no word broken over lines (the phone's one-letter-per-line tables).
  for (const cell of document.querySelectorAll('td, th, [role=gridcell], [role=columnheader]')) {
    if (!shown(cell)) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(/\S{2,}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) found.push(`"${m[0]}" is broken over ${lines.size} lines in a table`);
      }
    }
  }
  return [...new Set(found)];
}
"""


def assert_no_defects(page, step: str) -> None:
    found = page.evaluate(DEFECTS_JS)
    assert not found, f"{step}: " + "; ".join(found[:12])


def shot(page, screen: str, step: str) -> None:
    page.screenshot(path=str(WALK / f"{screen}-{step}.png"), full_page=True)




@pytest.fixture(scope="module")
def server():
    WALK.mkdir(parents=True, exist_ok=True)
    with start_server() as url:
        yield url


@pytest.fixture(scope="module", params=list(SCREENS))
def screen(request, browser, server):
    """(name, page) of one screen size: one page (one visitor) walks every tab in turn."""
    width, height, touch = SCREENS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector(f"{DRAW} .dz-pad", timeout=120_000)
    page.wait_for_function("(sel) => document.querySelector(sel)?.dataset.readyMs", arg=DRAW, timeout=120_000)
    for tab in TABS:  # every tab one tap away (none in a "more" menu: DEFECTS_JS)
        assert page.get_by_role("tab", name=tab, exact=True).first.is_visible(), tab
    yield request.param, page
    context.close()


# Resolves once what ``probe`` returns has stayed the same for 3 animation frames in a row (at most ~10 s).
STEADY_JS = """(probe) => new Promise((done) => {
  const look = new Function(`return (${probe})()`);
  let last = null, same = 0, frames = 0;
  const frame = () => {
    const now = JSON.stringify(look());
    same = now === last ? same + 1 : 0;
    last = now;
    if (same >= 3 || ++frames > 600) done(same >= 3); else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})"""
# The page's layout: its size and the box of every visible plot, image and canvas.
LAYOUT = ("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
          " ...[...document.querySelectorAll('.js-plotly-plot, img, canvas')].filter((e) => e.offsetParent)"
          ".map((e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })]")


def steady(page, probe: str = LAYOUT) -> None:
    """Wait on the page, not the clock: until ``probe`` (a JS function) gives the same answer 3 frames running."""
    assert page.evaluate(STEADY_JS, probe), f"still changing after 600 frames: {probe[:80]}"


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()
    steady(page)  # the tab's first layout


def wait_state(page, root: str, condition: str, arg=None, timeout: int = 60_000) -> None:
    """Wait until ``condition`` (a JS expression of ``s``, the root's data-*, and ``arg``) holds."""
    page.wait_for_function(f"([sel, arg]) => {{ const s = document.querySelector(sel)?.dataset; return !!s && ({condition}); }}",
                           arg=[root, arg], timeout=timeout)


def draw(page, points, touch: bool, pad: str = f"{DRAW} .dz-pad") -> None:
    """A stroke through ``points`` (fractions of the pad), by a finger (touch input) or the mouse."""
    page.locator(pad).scroll_into_view_if_needed()
    draw_stroke(page, points, pad=pad, touch=touch)


def pixels(page, canvas: str) -> str:
    return page.evaluate("(sel) => document.querySelector(sel).toDataURL()", canvas)


def test_draw(screen):
    name, page = screen
    width, height, touch = SCREENS[name]
    open_tab(page, "Draw")
    assert_no_defects(page, "Draw, on opening")
    # The pad is shown at a scale a finger or a mouse can draw on: the pad (its box is the drawing)
    # is most of a phone's width, and square.
    pad = page.locator(f"{DRAW} .dz-pad")
    pad.scroll_into_view_if_needed()
    square = pad.bounding_box()
    assert square["width"] >= (0.8 * width if touch else 300), f"the pad is {square['width']:.0f} px on a {width} px screen"
    assert abs(square["width"] - square["height"]) <= 2, f"the pad is not square: {square}"
    draw(page, SEVEN, touch)
    # The answer read after the finger (or the mouse) lifted, and the chart of that reading.
    wait_state(page, DRAW, "s.upAnswerMs")
    assert state(page, DRAW)["shown"] == "7", f"a 7 read as {state(page, DRAW)['shown']!r}"
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.top", arg=f"{DRAW} .dz-belief", timeout=30_000)
    pad = page.locator(f"{DRAW} .dz-pad").bounding_box()
    answer = page.locator(f"{DRAW} .dz-answer[data-side=left]").bounding_box()
    if touch:  # the answers within one short scroll under the pad
        assert answer["y"] - (pad["y"] + pad["height"]) <= height / 2, "the answers are far below the pad"
    else:  # the projector shows pad, answers and Clear at once
        page.evaluate("() => window.scrollTo(0, 0)")
        steady(page, f"() => document.querySelector('{DRAW} .dz-pad').getBoundingClientRect().top")
        pad = page.locator(f"{DRAW} .dz-pad").bounding_box()
        clear = page.locator(f"{DRAW} [data-do=clear]").bounding_box()
        answers = page.locator(f"{DRAW} .dz-answers").bounding_box()
        assert clear["y"] >= 0 and clear["y"] + clear["height"] <= height, f"Clear off the first screen: {clear}"
        assert answers["y"] + answers["height"] <= height, f"the answers off the first screen: {answers}"
        assert pad["y"] + pad["height"] <= height, f"the pad runs off the first screen: {pad}"
    # The LSTM chart: drawn for this reading, its leading line (drawn thick and named at its end) is
    # the answer's digit; its rows are the rows of the 28x28 picture beside it.
    belief = page.locator(f"{DRAW} .dz-belief")
    assert belief.get_attribute("data-top") == "7", f"the chart leads with {belief.get_attribute('data-top')!r}"
    caption = page.locator(f"{DRAW} .dz-belief-caption").inner_text()
    assert "28x28" in caption, caption
    assert_no_defects(page, "Draw, a 7 drawn")
    shot(page, name, "draw")


def test_draw_says_when_a_drawing_is_not_a_digit(screen):
    name, page = screen
    open_tab(page, "Draw")
    page.locator(f"{DRAW} [data-do=clear]").click()
    wait_state(page, DRAW, "s.shown === '' && document.querySelector(arg).innerText.includes('Draw a digit')",
               arg=f"{DRAW} .dz-timing", timeout=30_000)
    draw(page, SCRIBBLE, SCREENS[name][2])
    wait_state(page, DRAW, "s.upAnswerMs && s.shown !== ''")  # the answer read after the stroke was whole
    steady(page)
    assert_no_defects(page, "Draw, a scribble")
    shot(page, name, "draw-scribble")
    said = " ".join(page.locator(f"{DRAW} {part}").inner_text() for part in (".dz-answers", ".dz-verdict"))
    page.locator(f"{DRAW} [data-do=clear]").click()
    assert re.search(r"not sure: looks most like \d", said), f"a scribble read as a digit: {said!r}"
    assert "Not sure this is a digit" in said, said


def test_gan(screen):
    name, page = screen
    width = SCREENS[name][0]
    open_tab(page, "GAN sampler")
    wait_state(page, GAN, "Number(s.grids) >= 1 && Number(s.walks) >= 1")
    assert_no_defects(page, "GAN, on opening")
    grids = [16] if width < 600 else [16, 64]  # a phone shows 16 at a readable size; a projector 64 too
    for count in grids:
        before = int(state(page, GAN)["grids"])
        page.locator(f"{GAN} [data-in=grid]").fill(str(count))  # each number typed samples a grid
        wait_state(page, GAN, f"Number(s.grids) > arg && new RegExp('^seed [0-9]+: {count} digits \\\\(([0-9] ){{{count - 1}}}[0-9]\\\\)')"
                              f".test(document.querySelector('{GAN} .dz-gan-timing').innerText)", arg=before, timeout=30_000)
        steady(page)
        columns = round(count ** 0.5)
        grid = page.locator(f"{GAN} .dz-gan-grid")
        box = grid.bounding_box()
        assert box["width"] / columns >= 56, f"{box['width'] / columns:.0f} px per digit in a {columns}x{columns} grid ({box})"
        # The grid drawn at its own proportions (columns x rows of 30 px tiles), not stretched.
        drawn = grid.evaluate("(c) => [c.width, c.height]")
        assert drawn == [30 * columns, 30 * columns], drawn
        assert abs(box["height"] - box["width"]) <= 2, box
    assert_no_defects(page, "GAN, sampled")
    # The walk between two seeds: its own digit, named.
    walks = int(state(page, GAN)["walks"])
    page.locator(f"{GAN} [data-in=walk-b]").fill("5")
    wait_state(page, GAN, "Number(s.walks) > arg", arg=walks, timeout=30_000)
    said = page.locator(f"{GAN} .dz-gan-walk-timing").inner_text()
    assert re.match(r"\d from seed 0 to seed 5: 8 steps", said), said
    assert_no_defects(page, "GAN, interpolated")
    shot(page, name, "gan")


def test_models(screen):
    name, page = screen
    open_tab(page, "Models")
    page.wait_for_selector("#leaderboard", timeout=30_000)
    assert_no_defects(page, "Models, on opening")
    # Open a closed card (the GAN's: the most metrics) and read it.
    card = page.get_by_role("button", name=re.compile(r"^mnist_gan: ")).first
    card.click()
    page.get_by_text("mnist_gan: MNIST class-conditional GAN", exact=False).nth(1).wait_for(timeout=30_000)
    steady(page)  # the card has opened
    card = page.locator(".model-card").filter(visible=True).filter(has_text="mnist_gan: ").last
    assert re.search(r"Trained with .* in \d+ min \d+ s on", card.inner_text()), "the training time is not in minutes"
    metrics = card.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()
    assert len(metrics) >= 3, metrics
    for label in metrics:  # words, not keys: "inception score", not "inception_score" or "inceptionscore"
        assert "_" not in label and not re.fullmatch(r"[a-z]{16,}", label.strip()), f"a metric key shown as is: {label!r}"
    assert_no_defects(page, "Models, the GAN's card open")
    shot(page, name, "models")


def test_playground(screen):
    from digitzoo.hub.lessons.lesson import list_lessons

    name, page = screen
    open_tab(page, "Playground")
    lesson = list_lessons()[0]
    page.wait_for_selector(f"#lesson-start-{lesson}", state="visible", timeout=30_000)
    assert_no_defects(page, "Playground, on opening")
    page.click(f"#lesson-start-{lesson}")
    page.wait_for_function(f"() => document.getElementById('lesson-status-{lesson}').innerText.startsWith('Training')",
                           timeout=60_000)
    page.click(f"#lesson-stop-{lesson}")
    page.wait_for_function(f"() => /^(Stopped|Reached|Done|Out of time)/.test(document.getElementById('lesson-status-{lesson}').innerText)",
                           timeout=30_000)
    page.wait_for_selector(f"#lesson-plot-{lesson} .js-plotly-plot", timeout=30_000)  # the last picture stays
    # The lesson's code: each line number level with its line.
    rows = page.evaluate("""() => { const code = [...document.querySelectorAll('.lesson-code')].find(c => c.offsetParent);
        const tops = (sel) => [...code.querySelectorAll(sel)].filter(e => e.offsetHeight)
          .map(e => Math.round(e.getBoundingClientRect().top));
        return [tops('.cm-lineNumbers .cm-gutterElement'), tops('.cm-line')]; }""")
    assert rows[0] and all(abs(n - line) <= 2 for n, line in zip(*rows)), f"line numbers {rows[0]} beside lines {rows[1]}"
    assert_no_defects(page, "Playground, a lesson started and stopped")
    shot(page, name, "playground")


# The Latent tab last, as before (it was a WebGL plot that kept costing CPU once shown).
SLIDERS = f"() => [...document.querySelectorAll('{LATENT} .dz-sliders input[type=number]')].map((i) => Number(i.value))"
PROBE = f"() => document.querySelector('{LATENT}').dataset.probe"


def _point(page) -> list[float]:
    """The last decoded point, as the page keeps it (two decimals each)."""
    return [float(v) for v in state(page, LATENT)["point"].split(",")]


def _ranges(page) -> list[tuple[float, float]]:
    return [(float(i.get_attribute("min")), float(i.get_attribute("max")))
            for i in page.locator(f"{LATENT} .dz-sliders input[type=number]").all()]


def _latent_ready(page) -> None:
    # A point decoded, and a dot's place known on the scatter as shown (it is 0 x 0 while the tab is hidden).
    wait_state(page, LATENT, "Number(s.decodes) >= 1 && s.probe && JSON.parse(s.probe).x > 0")


def test_latent(screen):
    name, page = screen
    touch = SCREENS[name][2]
    open_tab(page, "Latent space")
    _latent_ready(page)
    assert_no_defects(page, "Latent space, on opening")
    # Turn the 3-D view (a drag: a finger on the phone), then draw: the sliders and the marker go to
    # the drawing's place and the view stays turned.
    home = state(page, LATENT)["probe"]
    draw(page, [(0.40, 0.60), (0.55, 0.62)], touch, pad=f"{LATENT} .dz-scatter")
    steady(page, PROBE)  # the scene stops turning
    turned = state(page, LATENT)["probe"]
    assert turned != home, "dragging on the scatter did not turn it"
    point = state(page, LATENT)["point"]
    draw(page, SEVEN, touch, pad=f"{LATENT} .dz-small-pad")
    page.wait_for_function("(sel) => document.querySelector(sel).innerText.startsWith(\"Your drawing's code\")",
                           arg=f"{LATENT} .dz-code", timeout=30_000)
    wait_state(page, LATENT, "s.point !== arg", arg=point, timeout=30_000)  # the drawing's code decoded
    steady(page, SLIDERS)
    sliders = page.evaluate(SLIDERS)
    assert all(abs(a - b) < 0.011 for a, b in zip(_point(page), sliders)), f"sliders {sliders}, decoded {_point(page)}"
    # The defect was the view jumping back to the default camera when the figure was updated.
    assert state(page, LATENT)["probe"] == turned, "drawing reset the view"
    # Decode: a slider moved (released) decodes another point.
    before, decodes = pixels(page, f"{LATENT} .dz-decoded"), int(state(page, LATENT)["decodes"])
    track = page.locator(f"{LATENT} .dz-sliders input[type=range]").first
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    wait_state(page, LATENT, "Number(s.decodes) > arg", arg=decodes, timeout=30_000)
    page.wait_for_function("([sel, was]) => document.querySelector(sel).toDataURL() !== was",
                           arg=[f"{LATENT} .dz-decoded", before], timeout=30_000)
    # From one digit to another: a strip of decoded steps.
    walk = f"{LATENT} .dz-latent-walk"
    before = pixels(page, walk)
    page.select_option(f"{LATENT} [data-in=end]", "3")
    page.wait_for_function("([sel, was]) => document.querySelector(sel).toDataURL() !== was", arg=[walk, before],
                           timeout=30_000)
    # Digits, not a black bar: every tile of the strip has ink.
    ink = page.evaluate("""(sel) => { const c = document.querySelector(sel), ctx = c.getContext('2d');
        const tiles = Math.round(c.width / c.height), w = c.width / tiles;
        return [...Array(tiles).keys()].map(t => { const d = ctx.getImageData(t * w, 0, w, c.height).data;
          let lit = 0; for (let i = 0; i < d.length; i += 4) lit += d[i] > 128; return lit / (d.length / 4); }); }""", walk)
    assert len(ink) >= 2 and min(ink) > 0.03, f"share of lit pixels per tile: {ink}"
    assert_no_defects(page, "Latent space, drawn, decoded, interpolated")
    shot(page, name, "latent")


def test_latent_a_typed_number_stays_in_range(screen):
    name, page = screen
    open_tab(page, "Latent space")
    _latent_ready(page)
    box = page.locator(f"{LATENT} input[type=number][data-axis=x]")
    box.scroll_into_view_if_needed()
    low, high = _ranges(page)[0]
    decodes = int(state(page, LATENT)["decodes"])
    box.fill("999")
    box.press("Enter")
    box.blur()  # leaving the box: it shows the point decoded
    timing = f"{LATENT} .dz-latent-timing"
    try:  # the page's answer: the clamped point decoded and said, the box back in range (asserted below)
        wait_state(page, LATENT, "Number(s.decodes) > arg[0] && document.querySelector(arg[1]).innerText.includes('outside')"
                                 " && Number(document.querySelector(arg[2]).value) <= arg[3]",
                   arg=[decodes, timing, f"{LATENT} input[data-axis=x]", high], timeout=30_000)
    except PlaywrightTimeout:  # a 999 kept in the box, or nothing said: asserted below, with what the page shows
        pass
    steady(page)
    shot(page, name, "latent-999")
    value = float(box.input_value() or "nan")
    said = page.locator(timing).inner_text()
    found = page.evaluate(DEFECTS_JS)
    # Back to a point inside, for whatever comes next.
    decodes = int(state(page, LATENT)["decodes"])
    box.fill(str(round((low + high) / 2, 2)))
    box.blur()
    wait_state(page, LATENT, "Number(s.decodes) > arg[0] && !document.querySelector(arg[1]).innerText.includes('outside')",
               arg=[decodes, timing], timeout=30_000)
    assert found == [], f"Latent space, 999 typed: {found}"
    assert low <= value <= high, f"a typed 999 kept in the x box (range {low}..{high}): {value}"
    assert re.match(rf"x = 999 is outside the slider \({low:.2f} to {high:.2f}\): decoded at x = {high:.2f}\.", said), said
    assert abs(_point(page)[0] - round((low + high) / 2, 2)) < 0.011, _point(page)


def test_latent_clicking_a_point_decodes_it(screen):
    name, page = screen
    open_tab(page, "Latent space")
    _latent_ready(page)
    scatter = page.locator(f"{LATENT} .dz-scatter")
    scatter.scroll_into_view_if_needed()
    steady(page, PROBE)
    probe = json.loads(state(page, LATENT)["probe"])  # a dot nothing hides: where it is and its code
    box = scatter.bounding_box()
    at = (box["x"] + probe["x"], box["y"] + probe["y"])
    point = state(page, LATENT)["point"]
    if SCREENS[name][2]:
        page.touchscreen.tap(*at)  # a finger on a phone
    else:
        page.mouse.click(*at)
    try:  # the click's answer: the dot's code decoded (asserted below)
        wait_state(page, LATENT, "s.point !== arg", arg=point, timeout=30_000)
    except PlaywrightTimeout:
        pass
    want = [min(max(v, lo), hi) for v, (lo, hi) in zip(probe["code"], _ranges(page))]
    steady(page)
    # The dot's place said as people write numbers: two decimals.
    said = page.locator(f"{LATENT} .dz-latent-timing").inner_text()
    assert_no_defects(page, "Latent space, a dot clicked")
    shot(page, name, "latent-click")
    assert all(abs(a - b) < 0.011 for a, b in zip(_point(page), want)), f"clicked the dot at {want}, decoded {_point(page)}"
    assert all(abs(a - b) < 0.011 for a, b in zip(page.evaluate(SLIDERS), want)), f"sliders {page.evaluate(SLIDERS)}"
    assert re.search(r"Point \(-?\d+\.\d{2}, -?\d+\.\d{2}, -?\d+\.\d{2}\)", said), said
