"""A walk through every tab of `digitzoo serve`, on a phone (390x844, touch) and on a classroom
projector (1280x720, mouse): the main action of each tab, then the whole page checked for the
defects a new user met (issue "A page a teacher can project"). Screenshots of every step land in
test-artifacts/walk/.

What one tab's own tests already assert (the Draw tab's fit in test_layout_browser, a bad upload
and a bad GAN seed in test_browser, the Playground's bounds in test_playground_browser, the
figures' and cards' content in test_apps) is not asserted again; this walk checks what a visitor
sees on the whole page after doing something on it.
"""

from __future__ import annotations

import re

import pytest

from browser_support import ARTIFACTS, start_server  # skips this module without a browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402 (after the skip)

WALK = ARTIFACTS / "walk"
SCREENS = {"phone": (390, 844, True), "projector": (1280, 720, False)}
TABS = ["Draw", "Latent space", "GAN sampler", "Models", "Playground"]
SEVEN = [(0.30, 0.28), (0.70, 0.28), (0.45, 0.78)]
# Not a digit: a zigzag over the whole pad and back across it, nothing like any of the ten.
SCRIBBLE = [(0.15, 0.15), (0.85, 0.35), (0.15, 0.6), (0.85, 0.85), (0.15, 0.85), (0.85, 0.15)]
HEADLINE = ("(sel) => { const el = document.querySelector(sel + ' h2, ' + sel + ' .output-class');"
            " return el ? el.textContent.trim() : ''; }")

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
    page.wait_for_selector("#draw-pad canvas", timeout=60_000)
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
    steady(page)  # the tab's first layout (plots size themselves)


# The drawing square of a Sketchpad block: its canvas (canvas_size) as Gradio scaled it to fit
# ("47%" in its toolbar), centred in the block's <canvas>.
SQUARE_JS = """(block) => {
  const label = block.querySelector('label')?.textContent.trim();
  const config = window.gradio_config.components.find(c => c.type === 'imageeditor' && c.props.label === label);
  const zoom = parseFloat(block.querySelector('.zoom-number').textContent) / 100;
  const canvas = [...block.querySelectorAll('canvas')].find(c => c.getBoundingClientRect().width > 0);
  const r = canvas.getBoundingClientRect(), side = config.props.canvas_size[0] * zoom;
  return {x: r.left + (r.width - side) / 2, y: r.top + (r.height - side) / 2, width: side, height: side, zoom};
}"""


def pad_square(block) -> dict:
    block.scroll_into_view_if_needed()
    return block.evaluate(SQUARE_JS)


def draw(page, block, points, touch: bool) -> None:
    """A stroke through ``points`` (fractions of the pad's drawing square), by a finger (touch events) or the mouse."""
    box = pad_square(block)
    path = []
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        # Two moves a segment (the pad joins them with straight lines): each move waits for the
        # page to draw a frame, 0.1-0.4 s on a busy machine without a GPU.
        path += [(box["x"] + box["width"] * (ax + (bx - ax) * i / 2), box["y"] + box["height"] * (ay + (by - ay) * i / 2))
                 for i in range(1 if path else 0, 3)]
    if touch:
        cdp = page.context.new_cdp_session(page)
        send = lambda kind, pts: cdp.send("Input.dispatchTouchEvent", {  # noqa: E731
            "type": kind, "touchPoints": [{"x": x, "y": y} for x, y in pts]})
        send("touchStart", path[:1])
        for point in path[1:]:
            send("touchMove", [point])
        send("touchEnd", [])
        cdp.detach()
    else:
        page.mouse.move(*path[0])
        page.mouse.down()
        for point in path[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def test_draw(screen):
    name, page = screen
    width, height, touch = SCREENS[name]
    open_tab(page, "Draw")
    assert_no_defects(page, "Draw, on opening")
    # The pad is shown at a scale a finger or a mouse can draw on: the drawing square (the canvas
    # scaled to fit, as Gradio's zoom figure says) is most of a phone's width.
    square = pad_square(page.locator("#draw-pad"))
    assert square["width"] >= (0.8 * width if touch else 300), \
        f"the drawing square is {square['width']:.0f} px ({square['zoom']:.0%}) on a {width} px screen"
    draw(page, page.locator("#draw-pad"), SEVEN, touch)
    page.wait_for_function(f"() => ({HEADLINE})('#draw-left') === '7'", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('#lstm-belief .scatterlayer .trace').length === 10",
                           timeout=30_000)
    pad = page.locator("#draw-pad").bounding_box()
    answer = page.locator("#draw-left").bounding_box()
    if touch:  # the answers within one short scroll under the pad
        assert answer["y"] - (pad["y"] + pad["height"]) <= height / 2, "the answers are far below the pad"
    else:  # the projector shows pad, answers and Clear at once
        page.evaluate("() => window.scrollTo(0, 0)")
        clear = page.locator("#draw-clear").bounding_box()
        assert clear["y"] + clear["height"] <= height and answer["y"] + answer["height"] <= height
    # The LSTM chart: all ten digits in its legend, inside the chart; the answer's line in colour.
    legend = page.evaluate("""() => { const plot = document.querySelector('#lstm-belief .js-plotly-plot').getBoundingClientRect();
        return [...document.querySelectorAll('#lstm-belief .legend .traces')].map(t => {
          const r = t.getBoundingClientRect(); return [t.textContent.trim(), r.left >= plot.left - 1 && r.right <= plot.right + 1
            && r.top >= plot.top - 1 && r.bottom <= plot.bottom + 1]; }); }""")
    assert [entry for entry, _ in legend] == [str(d) for d in range(10)], legend
    assert all(inside for _, inside in legend), f"legend entries outside the chart: {legend}"
    colours = page.evaluate("() => [...document.querySelectorAll('#lstm-belief .scatterlayer .trace path.js-line')]"
                            ".map(p => getComputedStyle(p).stroke)")
    assert "rgb(214, 39, 40)" in colours, colours  # the answer's line, red (charts.WINNER_COLOR)
    # The chart's rows are the rows of the 28x28 picture beside it.
    chart_text = page.locator("#lstm-belief").inner_text()
    assert "28x28" in chart_text, chart_text
    assert_no_defects(page, "Draw, a 7 drawn")
    shot(page, name, "draw")


def test_draw_says_when_a_drawing_is_not_a_digit(screen):
    name, page = screen
    open_tab(page, "Draw")
    page.click("#draw-clear")
    page.wait_for_function("() => document.querySelector('#draw-info')?.innerText.includes('Draw a digit')", timeout=30_000)
    draw(page, page.locator("#draw-pad"), SCRIBBLE, SCREENS[name][2])
    page.wait_for_function(f"() => ({HEADLINE})('#draw-left') !== ''", timeout=30_000)
    said_js = "() => ['#draw-left', '#draw-right', '#draw-info'].map((s) => document.querySelector(s).innerText).join(' ')"
    try:  # the last stroke's answer (earlier strokes of the zigzag may be answered first)
        page.wait_for_function(f"() => ({said_js})().includes('Not sure this is a digit')", timeout=30_000)
    except PlaywrightTimeout:  # the assertions below say what the page said instead
        pass
    steady(page)
    assert_no_defects(page, "Draw, a scribble")
    shot(page, name, "draw-scribble")
    said = " ".join(page.locator(sel).inner_text() for sel in ("#draw-left", "#draw-right", "#draw-info"))
    page.click("#draw-clear")
    assert re.search(r"not sure: looks most like \d", said), f"a scribble read as a digit: {said!r}"
    assert "Not sure this is a digit" in said, said


def test_gan(screen):
    name, page = screen
    width = SCREENS[name][0]
    open_tab(page, "GAN sampler")
    assert_no_defects(page, "GAN, on opening")
    grids = [16] if width < 600 else [16, 64]  # a phone shows 16 at a readable size; a projector 64 too
    for count in grids:
        slider_box = page.locator("input[aria-label='number input for how many']")
        slider_box.fill(str(count))
        slider_box.press("Enter")
        page.get_by_role("button", name="Sample", exact=True).click()
        page.wait_for_function(f"() => new RegExp('^seed [0-9]+: {count} digits \\\\(([0-9] ){{{count - 1}}}[0-9]\\\\)')"
                               ".test(document.querySelector('#gan-info')?.innerText)", timeout=30_000)
        page.wait_for_function("() => document.querySelector('#gan-grid img')?.complete", timeout=30_000)
        columns = int(count ** 0.5)
        img = page.locator("#gan-grid img").bounding_box()
        # The picture as drawn (object-fit: contain): the smaller of its box's scales.
        shown = page.evaluate("() => { const i = document.querySelector('#gan-grid img'); const r = i.getBoundingClientRect();"
                              " return Math.min(r.width / i.naturalWidth, r.height / i.naturalHeight) * i.naturalWidth; }")
        assert shown / columns >= 56, f"{shown / columns:.0f} px per digit in a {columns}x{columns} grid ({img})"
        # The page's own grid (gradio_gan.js) lies exactly on the server's picture, not beside or beyond it.
        steady(page)
        overlay = page.locator("#gan-inpage-grid")
        if overlay.count() and overlay.is_visible():
            mine = overlay.bounding_box()
            assert abs(mine["y"] - img["y"]) < 2 and abs(mine["width"] - shown) < 2, (mine, img, shown)
    assert_no_defects(page, "GAN, sampled")
    # The walk between two seeds: its own digit, named.
    page.get_by_role("button", name="Interpolate A → B").click()
    page.wait_for_function("() => document.querySelector('#gan-walk img')?.complete", timeout=30_000)
    assert "digit of the walk" in page.locator("body").inner_text()
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


# The Latent tab last: its 3-D plot (WebGL, drawn by the CPU here) keeps costing CPU once shown.
def _slider_values(page) -> list[float]:
    return [float(v) for v in page.evaluate(
        "() => [...document.querySelectorAll('input[aria-label^=\"number input for \"]')]"
        ".filter(i => i.offsetParent && /for [xyz]$/.test(i.getAttribute('aria-label'))).map(i => i.value)")]


# The live camera of the 3-D scene (the layout's camera is only updated by a relayout).
CAMERA = "() => document.querySelector('#latent-plot .js-plotly-plot')._fullLayout.scene._scene.getCamera().eye"


def _camera(page) -> dict:
    return page.evaluate(CAMERA)


DECODED_SRC = ("() => { const img = [...document.querySelectorAll('img')].find(i => i.offsetParent"
               " && i.closest('.block')?.innerText.includes('decoded point')); return img ? img.src : ''; }")


def _decoded_src(page) -> str:
    return page.evaluate(DECODED_SRC)


def test_latent(screen):
    name, page = screen
    touch = SCREENS[name][2]
    open_tab(page, "Latent space")
    page.wait_for_selector("#latent-plot .js-plotly-plot", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#latent-plot .js-plotly-plot').data"
                           ".some(t => t.name === \"the sliders' point\")", timeout=30_000)  # the point is marked
    assert_no_defects(page, "Latent space, on opening")
    # Turn the 3-D view (a drag), then draw: the plot shows the drawing's place and keeps the view.
    plot = page.locator("#latent-plot .js-plotly-plot").bounding_box()
    cx, cy = plot["x"] + plot["width"] * 0.4, plot["y"] + plot["height"] * 0.6
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 10, steps=6)
    page.mouse.up()
    steady(page, CAMERA)  # the scene stops turning
    turned = _camera(page)
    sliders = _slider_values(page)
    draw(page, page.locator(".digit-pad").filter(visible=True).first, SEVEN, touch)
    # The drawing's code goes to the sliders, and the marker with them (moved in the page).
    page.wait_for_function("(s) => JSON.stringify([...document.querySelectorAll('input[aria-label^=\"number input for \"]')]"
                           ".filter(i => i.offsetParent && /for [xyz]$/.test(i.getAttribute('aria-label')))"
                           ".map(i => Number(i.value))) !== JSON.stringify(s)", arg=sliders, timeout=30_000)
    # ... and the plot's marker is at the new point: the figure has had its update (the one that reset the view).
    page.wait_for_function("(p) => { const gd = document.querySelector('#latent-plot .js-plotly-plot');"
                           " const t = gd.data.find((t) => t.name === \"the sliders' point\");"
                           " return t && [t.x[0], t.y[0], t.z[0]].every((v, i) => Math.abs(v - p[i]) < 0.011); }",
                           arg=_slider_values(page), timeout=30_000)
    steady(page, CAMERA)
    after = _camera(page)
    # The defect: the view jumps back to the figure's default camera. (Compared with the default, not
    # with the turned view: under an emulated touch the scene may still glide a little after the drag.)
    default = {"x": 1.4, "y": 1.4, "z": 1.4}
    turned_away = any(abs(turned[k] - default[k]) > 0.05 for k in "xyz")
    back_home = all(abs(after[k] - default[k]) < 0.01 for k in "xyz")
    assert turned_away and not back_home, f"drawing reset the view: {turned} -> {after}"
    # Decode: a slider moved (released) decodes another point.
    before = _decoded_src(page)
    track = page.locator("input[aria-label='range slider for x']")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    page.wait_for_function("(s) => { const img = [...document.querySelectorAll('img')].find(i => i.offsetParent"
                           " && i.closest('.block')?.innerText.includes('decoded point')); return img && img.src !== s; }",
                           arg=before, timeout=30_000)
    # Interpolate: a strip of decoded steps.
    page.get_by_role("button", name="Interpolate", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('img')].some(i => i.offsetParent && i.naturalWidth > 0"
                           " && i.complete && i.closest('.block')?.innerText.includes('interpolation'))", timeout=30_000)
    # Digits, not a black bar: every tile of the strip has ink.
    ink = page.evaluate("""() => { const img = [...document.querySelectorAll('img')].find(i => i.offsetParent
          && i.closest('.block')?.innerText.includes('interpolation'));
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const tiles = Math.round(c.width / c.height), w = c.width / tiles;
        return [...Array(tiles).keys()].map(t => { const d = ctx.getImageData(t * w, 0, w, c.height).data;
          let lit = 0; for (let i = 0; i < d.length; i += 4) lit += d[i] > 128; return lit / (d.length / 4); }); }""")
    assert len(ink) >= 2 and min(ink) > 0.03, f"share of lit pixels per tile: {ink}"
    assert_no_defects(page, "Latent space, drawn, decoded, interpolated")
    shot(page, name, "latent")


def test_latent_a_typed_number_stays_in_range(screen):
    name, page = screen
    open_tab(page, "Latent space")
    box = page.locator("input[aria-label='number input for x']")
    low, high = float(box.get_attribute("min")), float(box.get_attribute("max"))
    box.fill("999")
    box.press("Enter")
    box.blur()
    try:  # the page's answer: the box back in range, or an error shown (the assertions below tell which)
        page.wait_for_function("(r) => { const v = Number(document.querySelector(\"input[aria-label='number input for x']\").value);"
                               " return (v >= r[0] && v <= r[1]) || [...document.querySelectorAll('.block .error')]"
                               ".some((e) => e.offsetParent); }", arg=[low, high], timeout=10_000)
    except PlaywrightTimeout:  # a 999 kept in the box: asserted below, with what the page shows
        pass
    steady(page)
    shot(page, name, "latent-999")
    value = float(box.input_value() or "nan")
    found = page.evaluate(DEFECTS_JS)
    errors = [f for f in found if '"Error"' in f]
    # Back to a point inside, and the error's toasts closed, for whatever comes next.
    box.fill(str(round((low + high) / 2, 2)))
    box.press("Enter")
    box.blur()  # a slider's box is read when it loses focus
    page.wait_for_function("() => ![...document.querySelectorAll('.block .error')].some(e => e.offsetParent)",
                           timeout=30_000)
    page.evaluate("() => document.querySelectorAll('.toast-close').forEach(b => b.click())")
    page.wait_for_function("() => ![...document.querySelectorAll('.toast-close')].some((b) => b.offsetParent)",
                           timeout=10_000)
    assert [f for f in found if f not in errors] == [], "Latent space, 999 typed"
    assert not errors and low <= value <= high, f"a typed 999 kept in the x box (range {low}..{high}): {value}, {errors}"


def test_latent_clicking_a_point_decodes_it(screen):
    name, page = screen
    open_tab(page, "Latent space")
    plot = page.locator("#latent-plot .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    before = _slider_values(page), _decoded_src(page)
    hovered, moved = [], False
    # Find a dot: move over the cloud, nearest its middle first, until Plotly shows a hover label;
    # then click it. A dot's hover spot and its click spot can differ by a pixel on a busy machine,
    # so up to three hovered dots are tried (a page that ignores clicks fails all three).
    spots = sorted(((fx / 10, fy / 10) for fx in range(1, 10) for fy in range(2, 9)),
                   key=lambda f: (f[0] - 0.4) ** 2 + (f[1] - 0.58) ** 2)
    for fx, fy in spots:
        at = (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.mouse.move(*at)
        page.wait_for_timeout(50)
        label = page.locator("#latent-plot .hovertext")
        if not (label.count() and (label.first.text_content() or "").startswith("a test")):
            continue
        hovered.append(label.first.text_content())
        if SCREENS[name][2]:
            page.touchscreen.tap(*at)  # a finger on a phone
        else:
            page.mouse.down()  # a click as a hand makes it: Plotly's 3-D scene sees the button held for a frame
            page.wait_for_timeout(60)
            page.mouse.up()
        try:  # the click's answer: the sliders at the dot, or the decoded digit changed
            page.wait_for_function(
                "(b) => JSON.stringify([[...document.querySelectorAll('input[aria-label^=\"number input for \"]')]"
                ".filter(i => i.offsetParent && /for [xyz]$/.test(i.getAttribute('aria-label'))).map(i => Number(i.value)),"
                f" ({DECODED_SRC})()]) !== JSON.stringify(b)", arg=[[float(v) for v in before[0]], before[1]], timeout=5_000)
        except PlaywrightTimeout:  # no answer: try the next dot (the assertion after the loop says it)
            pass
        moved = (_slider_values(page), _decoded_src(page)) != before
        if moved or len(hovered) == 3:
            break
    assert hovered, "no dot answered a hover in the middle of the cloud"
    assert re.search(r"\(-?\d+\.\d{2}, -?\d+\.\d{2}, -?\d+\.\d{2}\)", hovered[0]), f"hover says only {hovered[0]!r}"
    assert_no_defects(page, "Latent space, a dot clicked")
    shot(page, name, "latent-click")
    assert moved, f"clicking {len(hovered)} dots moved neither the sliders nor the digit"
