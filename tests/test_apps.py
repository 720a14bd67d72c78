"""The Gradio hub in-process, called over HTTP with gradio_client: valid and invalid inputs."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from digitzoo.apps.bench import free_port  # noqa: E402
from digitzoo.apps.gan import MAX_GRID, MAX_SEED  # noqa: E402


@pytest.fixture(scope="module")
def client():
    from digitzoo.apps.gradio_app import serve

    app = serve(port=free_port(), block=False)
    yield Client(f"http://127.0.0.1:{app.server_port}/", verbose=False)
    app.close()


def canvas_png(tmp_path, digit_image: np.ndarray | None = None, name="sketch.png"):
    """An 800x800 canvas PNG: an MNIST digit drawn large and dark on white, or a blank one."""
    canvas = Image.new("RGB", (800, 800), "white")
    if digit_image is not None:
        ink = Image.fromarray(255 - digit_image).resize((480, 480), Image.BILINEAR)
        canvas.paste(ink, (200, 120))
    path = tmp_path / name
    canvas.save(path)
    return path


def sketch_file(tmp_path, digit_image: np.ndarray | None = None, name="sketch.png") -> dict:
    """The same canvas as the Sketchpad sends it (/encode takes the pad's value)."""
    return {"background": None, "layers": [], "composite": handle_file(str(canvas_png(tmp_path, digit_image, name)))}


def data_url(path) -> dict:
    return {"url": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode(),
            "meta": {"_type": "gradio.FileData"}}


def assert_python_prints_ok(code: str) -> None:
    """Run ``code`` in a fresh interpreter (nothing imported yet) and expect it to end by printing ok."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr


def test_serving_path_does_not_import_torch():
    # Every tab that serves exported files; the Playground trains with torch by design.
    code = ("import sys\nfrom digitzoo.apps import gradio_app, parts\nparts.configure('onnx', 'cpu')\n"
            "parts.get('mnist_cnn'); parts.get('mnist_gan', 'generator')\n"
            "gradio_app.build_app(['draw', 'latent', 'gan', 'models'])\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')")
    assert_python_prints_ok(code)


def test_classify_reads_test_digits(client, tmp_path, mnist_test):
    images, labels = mnist_test
    right = 0
    for i in range(10):
        path = canvas_png(tmp_path, images[i].numpy(), f"d{i}.png")
        # Half the images are uploaded, half sent inline as data: URLs: both must read the same.
        payload = handle_file(str(path)) if i % 2 else data_url(path)
        cnn, lstm, seen, belief, info = client.predict(payload, api_name="/classify")
        right += cnn["label"] == str(int(labels[i]))
        assert len(cnn["confidences"]) == 3 and len(lstm["confidences"]) == 3
        assert "onnxruntime" in info and " ms" in info
        assert np.asarray(Image.open(seen)).shape[:2] == (28, 28)  # exactly what the models read
        belief = json.loads(belief["plot"])  # Plotly JSON: one line per digit over the 28 rows read
        assert [t["name"] for t in belief["data"]] == [str(d) for d in range(10)]
        final = [t["y"][-1] for t in belief["data"]]
        assert str(int(np.argmax(final))) == lstm["label"]
    assert right >= 9


@pytest.mark.parametrize("composite", ["uploaded", "inline"])
def test_classify_takes_the_sketchpads_own_value(client, tmp_path, mnist_test, composite):
    # What a Sketchpad holds ({"background", "layers", "composite"}), sent as is by an API caller.
    images, labels = mnist_test
    path = canvas_png(tmp_path, images[3].numpy(), "pad.png")
    value = sketch_file(tmp_path, images[3].numpy(), "pad.png")
    if composite == "inline":
        value = {"background": None, "layers": [], "composite": data_url(path)}
    cnn, lstm, seen, _, info = client.predict(value, api_name="/classify")
    assert cnn["label"] == lstm["label"] == str(int(labels[3]))
    assert np.asarray(Image.open(seen)).shape[:2] == (28, 28)
    with pytest.raises(Exception, match="empty"):
        client.predict({"background": None, "layers": [], "composite": None}, api_name="/classify")


def page_classify(client, body, **kwargs):
    """POST to the pages' server path (apps/pages.py), as apps/web/hub.js does."""
    import httpx

    from digitzoo.apps.pages import PREFIX

    return httpx.post(client.src.rstrip("/") + PREFIX + "/ask/classify", content=body, timeout=30, **kwargs)


def parts_classifiers() -> list[str]:
    from digitzoo.apps import parts

    return parts.classifiers()


def test_the_pages_server_path_reads_the_picked_pair(client, tmp_path, mnist_test):
    images, labels = mnist_test
    image = data_url(canvas_png(tmp_path, images[7].numpy()))["url"]
    response = page_classify(client, json.dumps({"image": image, "left": "mnist_mlp", "right": "mnist_lstm"}))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert list(answer["probs"]) == ["mnist_mlp", "mnist_lstm"]
    for probs in answer["probs"].values():
        assert str(int(np.argmax(probs))) == str(int(labels[7])) and abs(sum(probs) - 1) < 1e-3
    assert 0 <= answer["doubt"] < 0.5 and "onnxruntime" in answer["answered_by"]
    beliefs = np.array(answer["beliefs"])  # the LSTM's belief after each row, for the page's chart
    assert beliefs.shape == (28, 10) and int(np.argmax(beliefs[-1])) == int(labels[7])
    every = page_classify(client, json.dumps({"image": image, "left": "mnist_cnn", "right": "mnist_lstm",
                                              "models": parts_classifiers()})).json()  # "all classifiers"
    assert list(every["probs"]) == parts_classifiers()
    unknown = page_classify(client, json.dumps({"image": image, "left": "no such model", "right": "mnist_lstm"}))
    assert unknown.status_code == 400 and "mnist_cnn" in unknown.json()["error"]  # names the models there are
    seen = np.array(answer["seen"]).reshape(28, 28)  # the 28x28 it read, as /classify shows it
    _, _, shown, _, _ = client.predict(data_url(canvas_png(tmp_path, images[7].numpy())), api_name="/classify")
    difference = np.abs(seen * 255 - np.asarray(Image.open(shown).convert("L")))  # Gradio sends its picture as lossy WebP
    assert difference.mean() < 2 and difference.max() < 32, (difference.mean(), difference.max())
    assert response.headers["server-timing"].startswith("read;dur=")


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "Send JSON"),
    (json.dumps({"image": "data:text/plain;base64,aGk="}).encode(), 400, "data:image"),
    (json.dumps([1, 2]).encode(), 400, '{"image"'),
    (b'{"image": "' + b"A" * (14 * 2**20) + b'"}', 413, "larger than"),
])
def test_the_pages_server_path_refuses_bad_requests_with_a_sentence(client, body, status, message):
    response = page_classify(client, body)
    assert response.status_code == status and message in response.json()["error"], response.text
    assert "Traceback" not in response.text


def test_the_pages_server_path_says_busy_when_full(client, tmp_path, monkeypatch):
    import threading

    from digitzoo.apps import draw, pages

    release, started = threading.Event(), threading.Semaphore(0)

    def slow(payload):
        started.release()
        release.wait(20)
        return {"probs": {}, "doubt": None, "answered_by": "test"}

    monkeypatch.setattr(draw, "classify_for_page", slow)
    monkeypatch.setattr(pages, "PAGE_WAITING", 0)
    body = json.dumps({"image": "data:image/png;base64,AAAA"})
    answers = []
    working = [threading.Thread(target=lambda: answers.append(page_classify(client, body).status_code))
               for _ in range(pages.PAGE_CONCURRENCY)]
    for thread in working:
        thread.start()
    for _ in working:
        assert started.acquire(timeout=20)  # both at work
    busy = page_classify(client, body)
    release.set()
    for thread in working:
        thread.join(20)
    assert busy.status_code == 503 and "busy" in busy.json()["error"]
    assert answers == [200] * pages.PAGE_CONCURRENCY


def test_classify_says_not_sure_of_a_star_and_still_names_the_closest_digit(client, tmp_path):
    canvas = Image.new("RGB", (800, 800), "white")
    star = [(400 + 300 * np.cos(np.pi / 2 + i * 4 * np.pi / 5), 400 - 300 * np.sin(np.pi / 2 + i * 4 * np.pi / 5))
            for i in range(6)]  # a five-pointed star in one stroke
    ImageDraw.Draw(canvas).line(star, fill="black", width=30, joint="curve")
    canvas.save(tmp_path / "star.png")
    cnn, lstm, _, _, info = client.predict(handle_file(str(tmp_path / "star.png")), api_name="/classify")
    for answer in (cnn, lstm):
        assert answer["label"] == f"not sure: looks most like {answer['confidences'][0]['label']}"
    assert "Not sure this is a digit" in info


def test_gradio_stub_writer_is_skipped_and_components_still_build():
    code = ("import digitzoo.apps, gradio, gradio.component_meta as meta\n"
            "assert meta.create_or_modify_pyi.__name__ == '_no_stubs'\n"
            "with gradio.Blocks() as demo:\n    gradio.Sketchpad(); gradio.Plot(); gradio.Label()\nprint('ok')")
    assert_python_prints_ok(code)


def huge_png(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("L", (5000, 5000), 255).save(path)  # 25 Mpixel, a few kB: refused before decoding
    return path


@pytest.mark.parametrize("bad, message", [
    ("blank", "empty"), ("not-an-image", "not an image"), ("huge", "too large"), ("huge-inline", "too large"),
    ("bad-base64", "not valid base64"), ("not-a-data-url", "data:"), ("text-data-url", "data:image"),
])
def test_classify_bad_input_is_a_clear_error(client, tmp_path, bad, message):
    if bad == "blank":
        payload = handle_file(str(canvas_png(tmp_path)))
    elif bad == "not-an-image":
        path = tmp_path / "fake.png"
        path.write_bytes(b"definitely not a png")
        payload = handle_file(str(path))
    elif bad == "huge":
        payload = handle_file(str(huge_png(tmp_path)))
    elif bad == "huge-inline":
        payload = data_url(huge_png(tmp_path))
    elif bad == "bad-base64":
        payload = {"url": "data:image/png;base64,%%%not-base64", "meta": {"_type": "gradio.FileData"}}
    elif bad == "not-a-data-url":
        payload = {"url": "ftp://example.com/seven.png", "meta": {"_type": "gradio.FileData"}}
    else:
        payload = {"url": "data:text/plain;base64,aGk=", "meta": {"_type": "gradio.FileData"}}
    with pytest.raises(Exception) as info:
        client.predict(payload, api_name="/classify")
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)
    assert client.predict(0.0, 0.0, 0.0, api_name="/decode")  # still answering


def test_encode_and_decode(client, tmp_path, mnist_test):
    images, _ = mnist_test
    code = client.predict(sketch_file(tmp_path, images[0].numpy()), api_name="/encode")
    assert len(code) == 3 and all(np.isfinite(code))
    path = client.predict(*code, api_name="/decode")
    decoded = np.asarray(Image.open(path).convert("L"))
    assert decoded.shape == (168, 168) and decoded.max() > 100  # a digit, not a blank


@pytest.mark.parametrize("x", [float("1e9"), "abc"])
def test_decode_rejects_out_of_range(client, x):
    with pytest.raises(Exception, match="x must be"):
        client.predict(x, 0.0, 0.0, api_name="/decode")


def test_sample_is_seeded_and_sized(client):
    a, info = client.predict("4", 11, 9, api_name="/sample")
    b, _ = client.predict("4", 11, 9, api_name="/sample")
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert "seed 11: 9 digits" in info


@pytest.mark.parametrize("digit, seed, grid, message", [
    # Out of the slider's range: Gradio's Slider refuses it before apps.gan sees it, with its own sentence.
    ("4", 1, 0, "Value 0 is less than minimum value 1."),
    ("4", 1, 10**6, f"Value 1000000 is greater than maximum value {MAX_GRID}."),
    ("4", -5, 4, f"seed must be a whole number from 0 to {MAX_SEED}, got -5"),
    ("12", 1, 4, "not in the list of choices"),
])
def test_sample_bad_input(client, digit, seed, grid, message):
    with pytest.raises(Exception, match=re.escape(message)):
        client.predict(digit, seed, grid, api_name="/sample")


@pytest.mark.parametrize("grid", [0, 10**6, 2.5])
def test_sample_refuses_a_grid_the_slider_would_let_through(grid):
    """Called directly (as the MCP tool and the in-page button do), the grid is checked by apps.gan itself."""
    from digitzoo.apps import gan

    with pytest.raises(Exception, match=re.escape(f"grid size must be a whole number from 1 to {MAX_GRID}, got {grid!r}.")):
        gan.sample("4", 1, grid)


def test_latent_interpolation_shows_every_decoded_step():
    """The strip is one 112x112 tile per step, each the decoder's image of its point on the walk
    from one digit's mean code to another's (it was once a black bar: the tops of scaled-up digits)."""
    from digitzoo.apps import latent, parts
    from digitzoo.apps.inputs import upscale

    parts.configure("onnx", "cpu")
    strip = latent.interpolate(1, 7, 8)
    assert strip.shape == (112, 112 * 8) and strip.dtype == np.uint8
    means = np.asarray(latent.points()["class_means"], np.float32)
    decoder = parts.with_role(parts.first_shown("latent"), "decoder")
    for i, t in enumerate(np.linspace(0, 1, 8, dtype=np.float32)):
        (want,) = decoder(((1 - t) * means[1] + t * means[7])[None])
        tile = strip[:, 112 * i:112 * (i + 1)]
        assert np.array_equal(tile, upscale(want[0, 0], 112)), f"tile {i}"
        assert (tile > 128).mean() > 0.05, f"tile {i} shows no digit"


def test_serving_with_the_torchscript_backend_reads_the_same_digit():
    """`digitzoo serve --backend torchscript`: the apps open the .pt files through digitzoo.hub.torch_files,
    and the ONNX-only serving core says in one line why it cannot (rather than importing torch)."""
    from digitzoo.apps import draw, parts
    from digitzoo.apps.bench import inline_image, sketch_png
    from digitzoo.hub.serving.errors import DigitzooError
    from digitzoo.hub.serving.manifest import artifact, exports_root
    from digitzoo.hub.serving.runtime import open_file

    drawing = inline_image(sketch_png())
    readings = {}
    try:
        for backend in ("onnx", "torchscript"):
            parts.configure(backend, "cpu")
            answers = draw.classify(drawing)
            readings[backend] = max(answers[0], key=answers[0].get)
            assert f"{backend if backend != 'onnx' else 'onnxruntime'}-cpu" in answers[-1], answers[-1]
    finally:
        parts.configure("onnx", "cpu")
    assert readings == {"onnx": "7", "torchscript": "7"}, readings
    pt = exports_root() / artifact(parts.manifest(), "mnist_cnn", "model", "torchscript").file
    with pytest.raises(DigitzooError, match="needs torch"):
        open_file(pt, "torchscript")


def test_gan_grid_is_readable_and_says_what_it_drew():
    from digitzoo.apps import gan, parts

    parts.configure("onnx", "cpu")
    image, info = gan.sample("any", 5, 64)
    assert image.shape[1] // 8 >= 56, f"{image.shape[1] // 8} px per digit in an 8x8 grid"
    chosen = info.split("(")[1].split(")")[0].split()
    assert len(chosen) == 64 and set(chosen) <= set("0123456789"), info
    assert "64 digits" in info
    _, one = gan.sample("3", 5, 1)
    assert "1 digit in" in one and "(" not in one


def test_belief_chart_shows_all_ten_digits_and_the_answer_in_colour():
    from digitzoo.apps.charts import OTHER_COLOR, WINNER_COLOR, belief_chart

    probs = np.full((28, 10), 0.05)
    probs[:, 7] = 0.55  # the answer: 7
    chart = json.loads(belief_chart(probs).plot)
    assert [t["name"] for t in chart["data"]] == [str(d) for d in range(10)]
    colours = {t["name"]: t["line"]["color"] for t in chart["data"]}
    assert colours.pop("7") == WINNER_COLOR and set(colours.values()) == {OTHER_COLOR}
    assert chart["layout"]["legend"]["orientation"] == "h"  # room for all ten entries


def test_model_cards_read_well():
    """Metrics as a table with units, minutes and seconds, short hashes on screen and the full ones to copy."""
    from digitzoo.apps.models import card_markdown, checksums, duration
    from digitzoo.hub.serving.manifest import read_manifest

    assert duration(1010.4) == "16 min 50 s" and duration(42.0) == "42 s"
    for name, entry in read_manifest().models.items():
        card = card_markdown(name, entry)
        assert not re.search(r"[0-9a-f]{64}", card), "a full sha256 on the card"
        assert f"in {duration(entry.checkpoint['wall_time_s'])} on" in card
        if "test_accuracy" in entry.metrics:
            assert f"| accuracy | {100 * entry.metrics['test_accuracy']:.2f} % |" in card
        assert checksums(entry).splitlines() == [f"{a.sha256}  {a.file.split('/')[-1]}" for a in entry.artifacts]


def test_the_latent_pages_server_path_decodes_and_encodes_as_the_api_does(tmp_path, mnist_test):
    """What the page draws when the server decodes (?inpage=0) is the /decode API's picture at 28x28."""
    from digitzoo.apps import latent, parts

    parts.configure("onnx", "cpu")
    images = np.array(latent.decode_for_page({"codes": [[0.5, -1.5, 2.0], [3.0, 1.0, -2.0]]})["images"]).reshape(2, 28, 28)
    shown = latent.decode(3.0, 1.0, -2.0)  # 168x168, each pixel 6x6
    assert np.abs(images[1] * 255 - shown[::6, ::6]).max() < 1.5  # 3 decimals, and the picture's uint8 floor
    assert not np.allclose(images[0], images[1])
    digits, labels = mnist_test
    code = latent.encode_for_page({"image": data_url(canvas_png(tmp_path, digits[3].numpy()))["url"]})["code"]
    assert code == latent.encode(data_url(canvas_png(tmp_path, digits[3].numpy())))
    for bad in ({"codes": []}, {"codes": [[1, 2]]}, {"codes": [[0, 0, 0]] * 17}, {"codes": [["x", 0, 0]]}, {"image": 3}):
        with pytest.raises(Exception, match="Send|must be a number"):
            (latent.decode_for_page if "codes" in bad else latent.encode_for_page)(bad)


def test_the_gans_server_path_draws_the_apis_digits_and_refuses_a_bad_seed():
    """A seed gives the same digits from the page's server path as from /sample (and in the page: the
    noise is the same mulberry32, tests/test_js.py)."""
    from digitzoo.apps import gan, parts

    parts.configure("onnx", "cpu")
    images = np.array(gan.sample_for_page({"digit": "4", "seed": 3, "grid": 4})["images"]).reshape(4, 28, 28)
    grid, _ = gan.sample("4", 3, 4)  # 2x2 digits, 30 px a cell with 2 px gaps, scaled up
    scale = grid.shape[0] // 60
    first = grid[scale:29 * scale:scale, scale:29 * scale:scale]  # the grid's first cell, one pixel per digit pixel
    assert np.abs(images[0] * 255 - first).max() < 1.5  # 3 decimals, and the picture's uint8 floor
    walk = np.array(gan.walk_for_page({"digit": "any", "seed_a": 0, "seed_b": 1})["images"]).reshape(gan.WALK_STEPS, 28, 28)
    assert not np.allclose(walk[0], walk[-1])
    with pytest.raises(Exception, match="seed must be"):
        gan.sample_for_page({"digit": "4", "seed": -5, "grid": 4})


def test_a_hub_without_its_copy_of_onnxruntime_web_says_npm_ci(monkeypatch):
    """The hub falls back to the CDN when apps/web/node_modules lacks onnxruntime-web; its note then
    says how to give the hub its own copy (`npm ci`), not the static site's `web build --vendor`."""
    from digitzoo.apps import pages
    from digitzoo.hub.serving.errors import DigitzooError

    def missing():
        raise DigitzooError("no node_modules")

    monkeypatch.setattr(pages, "vendored_runtime_files", missing)
    runtime, files = pages._runtime()
    assert runtime["source"] == "cdn" and files == {}
    assert "npm ci" in runtime["missing_hint"] and "--vendor" not in runtime["missing_hint"]
