"""Your own model in a real browser: the static site's "Your model" tab and the hub's Models tab
(apps/web/yours_page.js, yours.js) given ONNX files the zoo did not make (tests/own_models.py).

Each good model is picked (and one dropped, as a drag from the desktop does), checked, its pixel
convention found, scored on the 20,000 shipped digits, and the page's figures must equal
`digitzoo eval --onnx` (hub/serving/own_model.py) to the last 0.01 point; it is ranked in the
leaderboard, marked as yours, and drawn with on the Draw page. Each refused file gets its one
sentence. Cancel stops a scoring run. Screenshots (1280x720 and a 390x844 phone) go to test-artifacts/.
"""

from __future__ import annotations

import base64

import pytest

from browser_support import ARTIFACTS, DRAW, draw_stroke, start_server, state, static_server  # skips without a browser
from digitzoo.apps import web_build
from digitzoo.hub.serving import own_model
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.manifest import exports_root
from own_models import CONVENTIONS, LAYOUTS

if not web_build.ORT_NPM_DIST.is_dir():
    pytest.skip(f"onnxruntime-web is not installed: {web_build.NPM_HINT}", allow_module_level=True)

ROOT = "#tab-yours .dz-yours"
SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.45, 0.80)]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    site = web_build.build_site(tmp_path_factory.mktemp("web") / "site", exports_root(), vendor=True)
    with static_server(site) as served:
        yield served


@pytest.fixture()
def page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.click("nav [data-tab=yours]")
    page.wait_for_selector(f"{ROOT} .dz-drop input:not([disabled])", state="attached", timeout=60_000)
    yield page
    page.close()
    assert not errors, errors


def finished(page, root: str = ROOT, timeout: int = 180_000) -> dict:
    page.wait_for_function("(sel) => ['done', 'refused', 'cancelled'].includes(document.querySelector(sel)?.dataset.state)",
                           arg=root, timeout=timeout, polling=50)
    return state(page, root)


def status(page, root: str = ROOT) -> str:
    return page.locator(f"{root} .dz-yours-status").inner_text()


def test_each_model_is_checked_scored_and_ranked_as_the_cli_scores_it(page, good):
    for name, path in good.items():
        page.set_input_files(f"{ROOT} .dz-drop input", str(path))
        seen = finished(page)
        assert seen["state"] == "done", (name, seen, status(page))
        cli = own_model.evaluate_onnx(path)
        assert (seen["convention"], cli["convention"], cli["layout"]) == (CONVENTIONS[name], CONVENTIONS[name], LAYOUTS[name])
        assert seen["output"] == cli["output"]
        for set_name, figures in cli["sets"].items():  # equal to the CLI's figure, to 0.01 point
            assert float(seen[f"accuracy_{set_name}"]) == figures["accuracy"], (name, set_name)
        assert cli["sets"]["mnist_test"]["accuracy"] >= 80  # a real classifier, so the convention test means something
        says = own_model.CONVENTIONS[CONVENTIONS[name]]
        assert status(page).startswith(f"Your model reads {says}; its outputs are {cli['output']}.")
        assert page.locator(f"{ROOT} .dz-yours-tried").inner_text() == cli["tried_says"]
        # Ranked in the leaderboard by its test accuracy, marked as yours, beside every zoo classifier.
        rows = page.locator(f"{ROOT} .dz-leaderboard tbody tr").all_inner_texts()
        mine = page.locator(f"{ROOT} .dz-leaderboard tr.dz-mine").inner_text()
        assert f"{path.name} (yours)" in mine and f"{cli['sets']['mnist_test']['accuracy']:.2f}" in mine
        accuracies = [float(r.split("\t")[1]) for r in rows]
        assert accuracies == sorted(accuracies, reverse=True) and len(rows) == 1 + len(page.evaluate(
            "() => fetch('models.json').then((r) => r.json()).then((s) => s.yours.leaderboard.rows)"))
        wrong = page.locator(f"{ROOT} .dz-wrong figure").count()
        assert wrong == min(40, 10000 - cli["sets"]["mnist_test"]["correct"])
        confusion = page.locator(f"{ROOT} .dz-confusion tr").all_inner_texts()
        assert [int(n) for n in confusion[1].split("\t")[1:]] == cli["sets"]["mnist_test"]["confusion"][0]
    page.screenshot(path=str(ARTIFACTS / "yours-static-1280x720.png"), full_page=True)


def test_a_dropped_file_is_taken_and_drawn_with_on_the_draw_page(page, good):
    path = good["torch_nhwc_softmax"]
    # A drop from the desktop: a DataTransfer holding the file, dispatched as the browser does.
    transfer = page.evaluate_handle("""([name, b64]) => { const t = new DataTransfer();
        t.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name)); return t; }""",
                                    [path.name, base64.b64encode(path.read_bytes()).decode()])
    page.dispatch_event(f"{ROOT} .dz-drop", "drop", {"dataTransfer": transfer})
    assert finished(page)["state"] == "done"
    page.click("nav [data-tab=draw]")
    model = f"yours:{path.name}"
    assert page.locator(f"{DRAW} select[data-side=right]").input_value() == model  # offered, and picked on the right
    draw_stroke(page, SEVEN)
    panel = f'{DRAW} .dz-answer[data-model="{model}"] .dz-top'
    page.wait_for_function("(sel) => /^\\d$|Looks like/.test(document.querySelector(sel)?.textContent ?? '')", arg=panel,
                           timeout=30_000)
    assert page.locator(f'{DRAW} .dz-answer[data-model="{model}"] h3').inner_text() == f"yours: {path.name} reads"
    page.locator(f"{DRAW} input[value=all]").check()
    page.wait_for_function("(sel) => [...document.querySelectorAll(sel + ' .dz-all td')].some((td) => td.textContent.startsWith('yours:'))",
                           arg=DRAW, timeout=30_000)


REFUSALS = {  # file -> the start of the page's sentence (the same words as the CLI's)
    "cifar": "The input is 3x32x32; an MNIST classifier takes 1x28x28",
    "two_scores": "The output is 2; an MNIST classifier gives 10 scores, one per digit.",
    "two_outputs": "The model has 2 outputs; an MNIST classifier gives one, 10 scores.",
    "external_data": "The model keeps its weights in external data files",
    "truncated": "This is not a complete ONNX model (",
    "too_big": "The file is 6",  # 60.x MB
}


def test_each_refused_file_gets_one_sentence_and_nothing_runs(page, refused):
    assert set(REFUSALS) == set(refused)
    for name, path in refused.items():
        page.set_input_files(f"{ROOT} .dz-drop input", str(path))
        seen = finished(page)
        assert seen["state"] == "refused", (name, seen)
        assert status(page).startswith(f"Refused {path.name}: {REFUSALS[name]}"), (name, status(page))
        assert seen["refused"] == str(_cli_refusal(path)), name  # word for word what `digitzoo eval --onnx` says
        assert page.locator(f"{ROOT} .dz-yours-results").is_hidden()


def _cli_refusal(path) -> Exception:
    with pytest.raises(DigitzooError) as refusal:
        own_model.evaluate_onnx(path)
    return refusal.value


def test_cancel_stops_the_scoring_and_the_page_stays_usable(page, good):
    big = exports_root() / "mnist_cnn" / "mnist_cnn.onnx"  # ~8 s per 10,000 digits here: time to click
    page.set_input_files(f"{ROOT} .dz-drop input", str(big))
    page.wait_for_function("(sel) => document.querySelector(sel + ' progress').value > 0.05", arg=ROOT, timeout=60_000, polling=20)
    page.click(f"{ROOT} [data-do=cancel]", timeout=2_000)  # clickable while it scores: the page is not frozen
    seen = finished(page, timeout=5_000)
    assert seen["state"] == "cancelled" and "accuracy_mnist_test" not in seen
    assert status(page).startswith("Cancelled")
    page.set_input_files(f"{ROOT} .dz-drop input", str(good["helper_flat784"]))  # and the next file is taken
    assert finished(page)["state"] == "done"


def test_phone_shows_the_figures_without_sideways_scrolling(browser, url, good):
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone.goto(url)
        phone.click("nav [data-tab=yours]")
        phone.wait_for_selector(f"{ROOT} .dz-drop input:not([disabled])", state="attached", timeout=60_000)
        phone.set_input_files(f"{ROOT} .dz-drop input", str(good["torch_nchw"]))
        assert finished(phone)["state"] == "done"
        # The page itself never scrolls sideways; the wide leaderboard scrolls in its own box.
        assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        phone.screenshot(path=str(ARTIFACTS / "yours-static-phone.png"), full_page=True)
    finally:
        phone.close()


def test_the_hubs_models_tab_scores_your_model_and_its_draw_tab_offers_it(browser, good):
    hub_root = "#yours-page .dz-yours"
    path = good["torch_nchw"]
    with start_server("--tab", "draw", "--tab", "models") as hub:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(hub)
            page.get_by_role("tab", name="Models").click()
            page.wait_for_selector(f"{hub_root} .dz-drop input:not([disabled])", state="attached", timeout=60_000)
            page.set_input_files(f"{hub_root} .dz-drop input", str(path))
            seen = finished(page, hub_root)
            assert seen["state"] == "done", (seen, status(page, hub_root))
            cli = own_model.evaluate_onnx(path)
            assert float(seen["accuracy_mnist_test"]) == cli["sets"]["mnist_test"]["accuracy"]
            page.screenshot(path=str(ARTIFACTS / "yours-hub-models.png"), full_page=True)
            page.get_by_role("tab", name="Draw").click()
            assert page.locator(f"{DRAW} select[data-side=right]").input_value() == f"yours:{path.name}"
        finally:
            page.close()
