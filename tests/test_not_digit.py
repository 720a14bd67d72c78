""""Not a digit": the drawn non-digit sets, the shipped detector, and what the page and the API say."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitzoo.hub.serving.sketch import preprocess
from digitzoo.train import not_digits, printed_digits

pytestmark = pytest.mark.skipif(not (not_digits.FONT_ROOT / "liberation").is_dir(),
                                reason="fonts-liberation is not installed (.ci/run installs it)")


def test_the_splits_share_no_font_and_no_drawing():
    train, test = not_digits.items("train"), not_digits.items("test")
    fonts = lambda items: {k.split("@")[1] for c, k, _ in items if c == "letter"}  # noqa: E731
    assert fonts(train) and fonts(test) and not fonts(train) & fonts(test)
    assert not {(c, k, s) for c, k, s in train} & {(c, k, s) for c, k, s in test}
    letters = lambda items: {k.split("@")[0] for c, k, _ in items if c == "letter"}  # noqa: E731
    assert letters(test) == set(not_digits.LETTERS)  # the measured set has all 52
    assert letters(train) == set(not_digits.LETTERS) - set(not_digits.DIGIT_LIKE_LETTERS)
    assert {c for c, _, _ in test} == {"letter", "shape", "scribble", "tap"}


def test_an_item_is_drawn_the_same_every_time_and_reads_like_a_drawing():
    item = ("letter", "A@LiberationSans-Regular", 0)
    a, b = (np.asarray(not_digits.draw_item(*item)) for _ in range(2))
    assert a.shape[:2] == (800, 800) and np.array_equal(a, b)
    x = preprocess(not_digits.draw_item(*item))
    assert x.shape == (28, 28) and x.max() == 1.0 and 0.05 < (x > 0.5).mean() < 0.5


def test_printed_digit_splits_share_no_face_and_no_draw():
    train, calibration, test = (printed_digits.items(split) for split in ("train", "calibration", "test"))
    faces = lambda items: {w.split("@")[1] for _, w, _ in items}  # noqa: E731
    assert faces(train) == faces(calibration) and not faces(train) & faces(test)  # the measured faces are unseen
    assert not set(train) & set(calibration)  # calibration draws are held out from training
    for items in (train, calibration, test):
        assert {k for k, _, _ in items} == set(printed_digits.KINDS)
        assert {w.split("@")[0] for _, w, _ in items} == set("0123456789")
    letters = printed_digits.items("train", "letters")
    assert {w.split("@")[0] for _, w, _ in letters} == set(not_digits.LETTERS) - set(not_digits.DIGIT_LIKE_LETTERS)
    assert {w.split("@")[0] for _, w, _ in printed_digits.items("test", "letters")} == set(not_digits.LETTERS)


@pytest.mark.parametrize("kind", printed_digits.KINDS)
def test_a_printed_digit_is_the_same_every_time_and_reads_as_a_digit(kind):
    item = (kind, "4@LiberationSerif-Bold", 3)
    a, b = (np.asarray(printed_digits.draw_item(*item)) for _ in range(2))
    assert np.array_equal(a, b)
    x = preprocess(printed_digits.draw_item(*item))
    assert x.shape == (28, 28) and x.max() == 1.0 and 0.05 < (x > 0.5).mean() < 0.5  # a glyph, not a blob


@pytest.fixture(scope="module")
def detector():
    from digitzoo.apps import parts

    parts.configure("onnx", "cpu")
    found = parts.detector()
    assert found is not None, "the shipped exports have a detector"
    return lambda x: found(x.astype(np.float32))[0].argmax(1) == 1  # True: flagged "not a digit"


def test_the_shipped_detector_flags_non_digits_and_passes_digits(detector, mnist_test):
    others, listed = not_digits.not_digit_set("test", limit=300)
    flagged = detector(others[:, None])
    assert flagged.mean() >= 0.85, f"only {flagged.mean():.1%} of 300 non-digits flagged"
    # Floors below the full set's figures (shapes 97%, taps 90%, scribbles 88%: README), as a sample
    # of 300 holds only a few dozen of each.
    for category, floor in (("shape", 0.9), ("tap", 0.75), ("scribble", 0.75)):
        hits = flagged[[c == category for c, _, _ in listed]]
        assert hits.mean() >= floor, (category, hits.mean())
    images, _ = mnist_test
    digits = images[:2000].numpy().astype(np.float32)[:, None] / 255
    assert detector(digits).mean() <= 0.01, "more than 1% of 2,000 test digits flagged"


def test_the_shipped_detector_passes_printed_digits_and_flags_printed_letters(detector):
    printed, listed = printed_digits.printed_set("test", "digits", limit=400)
    flagged = detector(printed[:, None])
    assert flagged.mean() <= 0.01, f"{flagged.mean():.1%} of 400 printed digits in unseen faces flagged"
    letters, _ = printed_digits.printed_set("test", "letters", limit=300)
    assert detector(letters[:, None]).mean() >= 0.75, "printed letters pass as digits"


def letter_canvas(letter: str) -> np.ndarray:
    """A letter typed large in a font, black on white, as an uploaded picture of it would be."""
    img = Image.new("L", (400, 400), 255)
    face = ImageFont.truetype(str(not_digits.fonts("test")[0]), 280)
    ImageDraw.Draw(img).text((200, 200), letter, fill=0, font=face, anchor="mm")
    return np.asarray(img)


def _data_url(image: np.ndarray) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_page_and_the_api_say_not_sure_for_a_letter_and_name_a_digit(mnist_test):
    from digitzoo.apps import draw, parts

    parts.configure("onnx", "cpu")
    cnn, lstm, _, _, info = draw.classify(letter_canvas("A"))
    assert cnn.label.startswith("not sure: looks most like ") and lstm.label.startswith("not sure: ")
    assert cnn.label[-1] == cnn.confidences[0].label  # "looks most like" the top bar
    assert "Not sure this is a digit" in info
    images, labels = mnist_test
    digit = np.asarray(Image.fromarray(255 - images[0].numpy()).resize((400, 400)))
    cnn, *_, info = draw.classify(digit)
    # A digit: the plain {digit: probability} the Label heads with its top class, no "not sure" heading.
    assert type(cnn) is dict and sorted(cnn) == [str(d) for d in range(10)]
    assert abs(sum(cnn.values()) - 1) < 1e-4 and max(cnn, key=cnn.get) == str(int(labels[0]))
    assert "Not sure" not in info
    # The page's server path, for "all classifiers": every model's reading comes with the detector's doubt.
    every = draw.classify_for_page({"image": _data_url(letter_canvas("A")), "models": parts.classifiers()})
    assert list(every["probs"]) == parts.classifiers() and every["doubt"] > 0.5
