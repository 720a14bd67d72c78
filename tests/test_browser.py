"""A real browser against a real `digitzoo serve`: draw, latent plot, GAN grid, download.

Needs Debian's Chromium (`.ci/run` installs it with apt-get) and Playwright for Python.
Screenshots of every tab are kept in test-artifacts/ (the README shows copies of them).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_support import ARTIFACTS, CHROMIUM, DRAW, GAN, LATENT, draw_stroke, start_server, state


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.goto(server)
        page.wait_for_selector(f"{DRAW} .dz-pad", timeout=60_000)
        page.wait_for_function("(sel) => document.querySelector(sel)?.dataset.readyMs !== undefined", arg=DRAW,
                               timeout=60_000)
        yield page
        browser.close()


SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]
ONE = [(0.52, 0.15), (0.48, 0.85)]
PAD = f"{DRAW} .dz-pad"
ASK = "/digitzoo/pages/ask/"


def stroke(page, selector: str, points) -> None:
    """Press, move through the points in small steps, release: what a hand does."""
    draw_stroke(page, points, pad=selector, steps=15)


def top(page, side: str = "left") -> str:
    """The headline of the left or right answer panel ("" when nothing is read)."""
    return page.locator(f"{DRAW} .dz-answer[data-side={side}] .dz-top").inner_text().strip()


def timing(page) -> str:
    return page.locator(f"{DRAW} .dz-timing").inner_text()


def verdict(page) -> str:
    return page.locator(f"{DRAW} .dz-verdict").inner_text()


def clear_the_pad(page) -> None:
    """Clear, and wait until the page says so (its state: nothing shown) before the next stroke."""
    page.click(f"{DRAW} [data-do=clear]")
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.shown === ''", arg=DRAW, timeout=30_000)


def wait_for_headline(page, digit: str) -> None:
    """Wait until the left answer reads `digit`; on a timeout, say what it read and keep a screenshot."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("([sel, d]) => document.querySelector(sel).dataset.shown === d", arg=[DRAW, digit],
                               timeout=30_000)
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / f"draw-{digit}-not-read.png"), full_page=True)
        pytest.fail(f"drew a {digit}; after 30 s the left answer reads {top(page)!r}, the page says {timing(page)!r}")


# Who answered: the page itself (onnxruntime-web) or the server's onnxruntime.
ANSWERED = re.compile(r"^Answered (in your browser \(wasm\)|on the server \(onnxruntime)")


@pytest.mark.parametrize("points, digit", [(SEVEN, "7"), (ONE, "1")])
def test_draw_a_digit_and_the_cnn_reads_it(page, points, digit):
    """By default the left answer is the CNN's (the right one the LSTM's)."""
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    stroke(page, PAD, points)
    # The panel's headline is the top class; wait until it shows the intended digit.
    wait_for_headline(page, digit)
    assert top(page) == digit
    default = [name for name, _ in _classifiers()[:2]]
    assert [page.locator(f"{DRAW} .dz-answer[data-side={s}]").get_attribute("data-model") for s in ("left", "right")] == default
    assert ANSWERED.match(timing(page)), timing(page)
    # The LSTM's belief chart, drawn in the page: its leading line is a digit.
    page.wait_for_function(f"() => /^[0-9]$/.test(document.querySelector('{DRAW} .dz-belief').dataset.top)",
                           timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"draw-{digit}.png"), full_page=True)


def test_clear_leaves_the_pad_ready_for_the_next_digit(page):
    """Clear empties pad and answers at once, and the next stroke is read (no pad stuck on "processing")."""
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    stroke(page, PAD, SEVEN)
    wait_for_headline(page, "7")
    clear_the_pad(page)
    assert top(page, "left") == top(page, "right") == "" and "Draw a digit" in timing(page)
    stroke(page, PAD, ONE)
    wait_for_headline(page, "1")


def write_seven(path: Path) -> Path:
    """A picture of a hand-drawn 7: black ink on white paper, as a phone photo of paper would be."""
    from PIL import ImageDraw

    picture = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(picture).line([(84, 70), (196, 70), (126, 224)], fill="black", width=22, joint="curve")
    picture.save(path)
    return path


def upload(page, path: Path) -> None:
    page.locator(f"{DRAW} .dz-upload input[type=file]").set_input_files(str(path))


def test_an_uploaded_picture_is_answered_in_the_same_panels(page, tmp_path):
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    upload(page, write_seven(tmp_path / "seven.png"))
    wait_for_headline(page, "7")
    assert page.locator(f"{DRAW} .dz-answers").is_visible()  # the panels a drawing is answered in, not hidden
    assert page.locator(f"{DRAW} .dz-answer[data-side=left] .dz-top").inner_text() == "7"
    assert "(your picture, seven.png)" in timing(page) and ANSWERED.match(timing(page)), timing(page)
    page.screenshot(path=str(ARTIFACTS / "draw-upload-seven.png"), full_page=True)
    clear_the_pad(page)  # Clear takes the picture's answers too (the pad was already empty)
    assert top(page, "left") == top(page, "right") == ""


def test_uploading_a_file_that_is_not_an_image_says_so_in_the_page(page, tmp_path):
    """A sentence under the answers, no traceback; the last answers stay."""
    page.get_by_role("tab", name="Draw").click()
    upload(page, write_seven(tmp_path / "seven.png"))  # answers to keep
    wait_for_headline(page, "7")
    before = page.locator(f"{DRAW} .dz-answers").inner_text()
    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture")  # named .png: only the bytes tell
    upload(page, notes)
    page.wait_for_function(f"() => document.querySelector('{DRAW} .dz-verdict').textContent.startsWith('Not read:')",
                           timeout=30_000)
    said = verdict(page)
    assert "notes.png" in said and "picture" in said.lower() and "Traceback" not in said, said
    assert page.locator(f"{DRAW} .dz-answers").inner_text() == before
    assert top(page) == "7"
    page.screenshot(path=str(ARTIFACTS / "draw-upload-not-an-image.png"), full_page=True)
    clear_the_pad(page)


def test_latent_tab_shows_the_3d_plot(page):
    page.get_by_role("tab", name="Latent space").click()
    page.wait_for_selector(f"{LATENT} .dz-scatter", state="visible", timeout=60_000)
    # The scatter of the test digits' codes is drawn (the page knows where a dot is) and a point decoded.
    page.wait_for_function("(sel) => { const s = document.querySelector(sel).dataset;"
                           " return s.probe !== undefined && Number(s.decodes) > 0; }", arg=LATENT, timeout=60_000)
    coloured = page.evaluate(f"""() => {{ const c = document.querySelector('{LATENT} .dz-scatter');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2])) n++;
      return n; }}""")
    assert coloured > 1000, f"the scatter has {coloured} coloured pixels"
    page.screenshot(path=str(ARTIFACTS / "latent.png"), full_page=True)


def gan(page) -> dict:
    return state(page, GAN)


def grid_picture(page, selector: str = f"{GAN} .dz-gan-grid") -> str:
    return page.evaluate("(sel) => document.querySelector(sel).toDataURL()", selector)


def gan_timing(page) -> str:
    return page.locator(f"{GAN} .dz-gan-timing").inner_text()


def wait_gan(page, condition: str, arg=None, timeout: int = 30_000) -> None:
    """Wait until ``condition`` (JS over ``s``, the GAN root's data-*, ``t``, its timing line, and ``arg``) holds."""
    page.wait_for_function(
        f"([sel, arg]) => {{ const r = document.querySelector(sel); if (!r) return false; const s = r.dataset;"
        f" const t = r.querySelector('.dz-gan-timing').textContent; return {condition}; }}", arg=[GAN, arg], timeout=timeout)


def test_gan_sampler_shows_a_grid(page):
    page.get_by_role("tab", name="GAN sampler").click()
    wait_gan(page, "Number(s.grids) > 0", timeout=60_000)  # sampled as the page opens: no button to press
    wait_gan(page, r"/16 digits \(([0-9] ){15}[0-9]\) in .* ms/.test(t)")
    page.screenshot(path=str(ARTIFACTS / "gan.png"), full_page=True)
    grid, grids = grid_picture(page), gan(page)["grids"]
    seed = page.locator(f"{GAN} [data-in=seed]")
    before = seed.input_value()
    seed.fill("-5")  # bad input: a sentence, and the last grid stays on screen
    wait_gan(page, "t.startsWith('Not sampled: seed must be')")
    assert grid_picture(page) == grid and gan(page)["grids"] == grids
    seed.fill(before)
    wait_gan(page, "t.startsWith(`seed ${arg}: `)", before)


def test_gan_regenerates_as_the_digit_or_a_seed_changes(page):
    page.get_by_role("tab", name="GAN sampler").click()
    seed = page.locator(f"{GAN} [data-in=seed]")
    seed.fill("7")
    wait_gan(page, r"/^seed 7: 16 digits \(/.test(t)")
    grid = grid_picture(page)
    # A digit picked: a new grid of that digit, with no button pressed.
    page.locator(f"{GAN} [data-in=digit]").select_option("5")
    wait_gan(page, "/^seed 7: 16 digits in /.test(t)")
    page.wait_for_function(f"(old) => ({GRID_URL})() !== old", arg=grid, timeout=30_000)
    # The walk follows its seeds the same way.
    walks = int(gan(page)["walks"])
    seed_b = page.locator(f"{GAN} [data-in=walk-b]")
    seed_b.fill("4")
    wait_gan(page, "Number(s.walks) > arg", walks)
    first = grid_picture(page, f"{GAN} .dz-gan-walk")
    seed_b.fill("9")
    page.wait_for_function(f"(old) => document.querySelector('{GAN} .dz-gan-walk').toDataURL() !== old",
                           arg=first, timeout=30_000)
    page.locator(f"{GAN} [data-in=digit]").select_option("any")
    wait_gan(page, r"/^seed 7: 16 digits \(/.test(t)")


GRID_URL = f"() => document.querySelector('{GAN} .dz-gan-grid').toDataURL()"
# The digits of a grid canvas (gan.js paintGrid: 28x28 cells 30 px apart, 1 px in), grey levels 0..255.
CELLS = """([sel, count]) => { const c = document.querySelector(sel), columns = c.width / 30;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
  for (let i = 0; i < count; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++)
    out.push(d[4 * ((Math.floor(i / columns) * 30 + 1 + y) * c.width + (i % columns) * 30 + 1 + x)]);
  return out; }"""


def ask_server(server: str, kind: str, body: dict) -> dict:
    """The hub's server path for the pages (what the page asks with ?inpage=0)."""
    request = urllib.request.Request(server.rstrip("/") + ASK + kind, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def picture_difference(page, selector: str, count: int, served: list[float]) -> float:
    """Mean absolute difference (grey levels) between the page's canvas and the server's images."""
    mine = np.array(page.evaluate(CELLS, [selector, count]), float)
    return float(np.abs(mine - np.round(np.array(served, float) * 255)).mean())


def test_gan_is_drawn_in_the_page_with_the_servers_digits(page, server):
    page.get_by_role("tab", name="GAN sampler").click()
    wait_gan(page, "s.path === 'inpage'")
    # A new seed: the page picks it, draws the grid, and the server draws the same one.
    page.locator(f"{GAN} [data-in=digit]").select_option("any")
    grids = int(gan(page)["grids"])
    page.click(f"{GAN} [data-do=new-seed]")
    wait_gan(page, "Number(s.grids) > arg", grids)
    seed, digits = int(gan(page)["seed"]), gan(page)["digits"]
    assert "runs in your browser (wasm)" in page.locator("#gan-page .dz-note").inner_text()
    wait_gan(page, "t.startsWith(`seed ${arg}: `)", seed)
    assert f"({digits})" in gan_timing(page) and "in your browser (wasm)" in gan_timing(page), gan_timing(page)
    served = ask_server(server, "sample", {"kind": "sample", "digit": "any", "seed": seed, "grid": 16})["images"]
    difference = picture_difference(page, f"{GAN} .dz-gan-grid", 16, served)
    assert difference < 4, f"the page's grid differs from the server's by {difference:.1f} on average"
    # The walk too.
    walks = int(gan(page)["walks"])
    page.locator(f"{GAN} [data-in=walk-b]").fill("5")
    wait_gan(page, "Number(s.walks) > arg", walks)
    seed_a = int(page.locator(f"{GAN} [data-in=walk-a]").input_value())
    served = ask_server(server, "walk", {"kind": "walk", "digit": "any", "seed_a": seed_a, "seed_b": 5})["images"]
    difference = picture_difference(page, f"{GAN} .dz-gan-walk", 8, served)
    assert difference < 4, f"the page's walk differs from the server's by {difference:.1f} on average"
    page.screenshot(path=str(ARTIFACTS / "gan-inpage.png"), full_page=True)


def test_download_an_onnx_file_and_check_its_sha256(page):
    from digitzoo.hub.serving.manifest import artifact, exports_root, read_manifest

    page.get_by_role("tab", name="Models").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="mnist_cnn.onnx").first.click()
    path = info.value.path()
    expected = artifact(read_manifest(), "mnist_cnn", "model", "onnx").sha256
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == expected
    assert exports_root().is_dir()
    page.screenshot(path=str(ARTIFACTS / "models.png"), full_page=True)


def _classifiers() -> list[tuple[str, str]]:
    """(model, label on screen) of every classifier in the served manifest, the draw tab's first."""
    from digitzoo.hub.serving.manifest import demo_models, read_manifest

    manifest = read_manifest()
    names = demo_models(manifest, "draw")
    return [(n, manifest.models[n].demo["label"]) for n in names if manifest.models[n].task == "classifier"]


def _pick(page, side: str, model: str) -> None:
    page.locator(f"{DRAW} select[data-side={side}]").select_option(model)


def test_pick_two_other_classifiers_and_see_both_answers(page):
    classifiers = _classifiers()
    assert len(classifiers) >= 4, classifiers
    (left, left_label), (right, right_label) = classifiers[2], classifiers[-1]  # neither the CNN nor the LSTM
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)
    assert top(page, "left") == top(page, "right") == ""  # the last test's answers are gone
    _pick(page, "left", left)
    _pick(page, "right", right)
    page.wait_for_function(f"(t) => document.querySelector('{DRAW} .dz-answer[data-side=left]').innerText.includes(t[0])"
                           f" && document.querySelector('{DRAW} .dz-answer[data-side=right]').innerText.includes(t[1])",
                           arg=[f"{left_label} reads", f"{right_label} reads"], timeout=30_000)
    stroke(page, PAD, SEVEN)
    page.wait_for_function(f"() => [...document.querySelectorAll('{DRAW} .dz-answer .dz-top')]"
                           ".every(e => e.textContent !== '')", timeout=30_000)
    answers = [top(page, side) for side in ("left", "right")]
    assert all(a in "0123456789" and len(a) == 1 for a in answers), answers
    assert "7" in answers, answers  # two good classifiers read a clear 7 (at least one of them must)
    assert f"{left_label} reads" in page.locator(f"{DRAW} .dz-answer[data-side=left]").inner_text()
    assert f"{right_label} reads" in page.locator(f"{DRAW} .dz-answer[data-side=right]").inner_text()
    assert [page.locator(f"{DRAW} .dz-answer[data-side={s}]").get_attribute("data-model") for s in ("left", "right")] \
        == [left, right]
    info = timing(page)
    # The answers came from the picked models (the page names them by label, the server by file).
    assert f"({left_label} + {right_label})" in info or (left in info and right in info), info
    page.screenshot(path=str(ARTIFACTS / "draw-picked.png"), full_page=True)
    _pick(page, "left", classifiers[0][0])  # back to the default pair for whatever runs next
    _pick(page, "right", classifiers[1][0])


def test_pick_all_and_see_a_row_per_classifier(page):
    classifiers = _classifiers()
    page.get_by_role("tab", name="Draw").click()
    clear_the_pad(page)  # the last drawing is gone
    assert state(page)["path"] == "inpage"
    asked = []
    listen = lambda request: asked.append(request.url) if ASK in request.url else None  # noqa: E731
    page.on("request", listen)
    page.check(f"{DRAW} input[name=dz-view][value=all]")
    stroke(page, PAD, ONE)
    # A row per classifier, (nearly) all of them reading the 1 just drawn.
    page.wait_for_function(
        "([sel, n]) => { const rows = [...document.querySelectorAll(sel + ' table.dz-all tbody tr')];"
        " const ones = rows.filter(r => r.cells[1]?.textContent.trim() === '1');"
        " return rows.length === n && ones.length >= n - 1; }", arg=[DRAW, len(classifiers)], timeout=30_000)
    assert page.locator(f"{DRAW} table.dz-all").is_visible() and page.locator(f"{DRAW} .dz-answers").is_hidden()
    rows = [row.locator("td").all_inner_texts() for row in page.locator(f"{DRAW} table.dz-all tbody tr").all()]
    assert [row[0].strip() for row in rows] == [label for _, label in classifiers]  # in the draw tab's order
    assert sum(row[1].strip() == "1" for row in rows) >= len(rows) - 1, rows  # (nearly) all read the 1
    page.remove_listener("request", listen)
    assert asked == [], f"'all classifiers' asked the server: {asked}"  # filled in the page
    page.screenshot(path=str(ARTIFACTS / "draw-all.png"), full_page=True)
    page.check(f"{DRAW} input[name=dz-view][value=two]")  # back to the default view for whatever runs next
