"""Sketch preprocessing on synthetic canvases: what a browser can send, good and bad."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitzoo.hub.serving.errors import SketchError
from digitzoo.hub.serving.sketch import preprocess

SEVEN = [(0.30, 0.25), (0.70, 0.25), (0.42, 0.80)]  # a "7" as fractions of its box


def draw(points=SEVEN, canvas=800, box=(200, 200, 600, 600), width=12, mode="RGB", ink=None, paper=None):
    """Draw a polyline digit inside ``box`` (x0, y0, x1, y1) of a square canvas."""
    paper = paper if paper is not None else {"RGB": "white", "RGBA": (0, 0, 0, 0), "L": 255}[mode]
    ink = ink if ink is not None else {"RGB": "black", "RGBA": (20, 20, 200, 255), "L": 0}[mode]
    img = Image.new(mode, (canvas, canvas), paper)
    x0, y0, x1, y1 = box
    pts = [(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fx, fy in points]
    ImageDraw.Draw(img).line(pts, fill=ink, width=width, joint="curve")
    return np.asarray(img)


def similar(a, b, threshold=0.9):
    """Same digit shape: correlation after a 1 px blur, so a one-pixel shift still counts as same."""
    from PIL import ImageFilter

    blur = [np.asarray(Image.fromarray((x * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0)), np.float32) for x in (a, b)]
    return float(np.corrcoef(blur[0].ravel(), blur[1].ravel())[0, 1]) > threshold


def check_mnist_like(x):
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == pytest.approx(1.0)
    rows, cols = np.nonzero(x > 0.05)
    assert rows.max() - rows.min() < 22 and cols.max() - cols.min() < 22  # fits the 20x20 box (+blur)
    ys, xs = np.indices(x.shape)
    cy, cx = (ys * x).sum() / x.sum(), (xs * x).sum() / x.sum()
    assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5  # centre of mass in the middle


def test_centred_digit_is_mnist_like():
    check_mnist_like(preprocess(draw()))


@pytest.mark.parametrize("box", [(10, 10, 120, 120), (650, 640, 790, 790), (500, 20, 780, 300)])
def test_position_does_not_matter(box):
    assert similar(preprocess(draw(box=box)), preprocess(draw()), 0.75)


def test_similarity_measure_tells_digits_apart():
    one = draw(points=[(0.5, 0.05), (0.5, 0.95)])
    assert not similar(preprocess(one), preprocess(draw()), 0.6)


@pytest.mark.parametrize("width", [2, 4, 30, 50])
def test_stroke_width_is_normalised(width):
    x = preprocess(draw(width=width))
    check_mnist_like(x)
    assert similar(x, preprocess(draw(width=12)), 0.75)
    ink_fraction = (x > 0.5).mean()
    assert 0.05 < ink_fraction < 0.3  # neither a hairline nor a blob


def test_transparent_rgba_layer_equals_white_canvas():
    assert similar(preprocess(draw(mode="RGBA")), preprocess(draw(mode="RGB")), 0.97)


def test_inverted_canvas_equals_normal_one():
    inverted = draw(mode="L", ink=255, paper=0)
    assert similar(preprocess(inverted), preprocess(draw(mode="L")), 0.99)


def test_grey_paper_and_grey_pencil():
    assert similar(preprocess(draw(mode="L", ink=90, paper=200)), preprocess(draw(mode="L")), 0.97)


def test_huge_and_small_canvases():
    check_mnist_like(preprocess(draw(canvas=4000, box=(500, 500, 3500, 3500), width=60)))
    check_mnist_like(preprocess(draw(canvas=64, box=(10, 10, 50, 50), width=2)))


def test_pil_image_float_and_gradio_dict_inputs():
    rgb = draw()
    ref = preprocess(rgb)
    assert np.allclose(preprocess(Image.fromarray(rgb)), ref)
    assert np.allclose(preprocess(rgb.astype(np.float32) / 255), ref, atol=1e-5)
    assert np.allclose(preprocess({"background": None, "layers": [], "composite": rgb}), ref)


def test_tall_digit_keeps_its_aspect_ratio():
    one = preprocess(draw(points=[(0.5, 0.05), (0.5, 0.95)], width=20))
    rows, cols = np.nonzero(one > 0.3)
    assert rows.max() - rows.min() >= 18 and cols.max() - cols.min() <= 8


@pytest.mark.parametrize(
    "value, message",
    [
        (np.full((800, 800, 3), 255, np.uint8), "empty"),
        (np.zeros((800, 800, 4), np.uint8), "empty"),
        (draw(width=1, points=[(0.5, 0.5), (0.502, 0.502)], box=(0, 0, 800, 800)), "too small"),
        (np.pad(np.zeros((720, 720), np.uint8), 40, constant_values=255), "Most of the canvas is ink"),
        (np.full((5000, 5000), 255, np.uint8), "too large"),
        (np.full((4, 4), 255, np.uint8), "too small"),
        (np.full((50, 50), np.nan, np.float32), "NaN"),
        (np.full((50, 50), -3.0, np.float32), r"\[0, 1\]"),
        (np.zeros((50, 50, 2), np.uint8), "grayscale, RGB or RGBA"),
        ("a digit", "Expected an image"),
        ({"background": None, "layers": [], "composite": None}, "empty"),
    ],
    ids=["blank-white", "blank-transparent", "dot", "all-ink", "huge", "tiny-canvas", "nan", "negative",
         "two-channels", "string", "empty-dict"],
)
def test_bad_input_is_a_clear_error(value, message):
    with pytest.raises(SketchError, match=message):
        preprocess(value)


def test_shipped_cnn_reads_rendered_test_digits(mnist_test):
    """Test digits re-drawn as browser sketches, through the app's preprocessing, read right."""
    import torch

    from digitzoo.hub.checkpoint import load_checkpoint
    from digitzoo.train.sketches import render_sketch

    images, labels = mnist_test
    model, _ = load_checkpoint("mnist_cnn")
    rng = np.random.default_rng(7)
    n = 200
    x = np.stack([preprocess(render_sketch(images[i].numpy(), rng)) for i in range(n)])
    with torch.inference_mode():
        pred = model(torch.from_numpy(x).unsqueeze(1)).argmax(1)
    assert (pred == labels[:n]).float().mean() >= 0.97
