"""One reading on the server (apps.reading.read_digit): what every way of asking for a digit shares.

The Draw tab's answers, the page's own server path, /classify and the MCP classify tool are thin
adapters over it, so they agree; and the time of a call belongs to the reading that made it, not
to the model file every visitor shares.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from digitzoo.apps import draw, mcp_tools, parts
from digitzoo.apps.bench import inline_image, sketch_png
from digitzoo.apps.reading import NOT_A_DIGIT_ABOVE, read_digit


@pytest.fixture(autouse=True)
def served_on_the_cpu():
    parts.configure("onnx", "cpu")
    yield
    parts.configure()


def test_a_drawn_seven_is_read_by_each_model_with_its_own_time():
    pair = list(draw.default_pair())
    reading = read_digit(inline_image(sketch_png()), pair)
    assert list(reading.probs) == pair and reading.x.shape == (1, 1, 28, 28)
    for model in pair:
        assert reading.digit(model) == 7, (model, reading.probs[model])
        assert abs(float(reading.probs[model].sum()) - 1) < 1e-5
        assert reading.ms[model] > 0
    assert reading.not_digit is not None and reading.not_digit < NOT_A_DIGIT_ABOVE and not reading.not_sure
    assert reading.beliefs is not None and reading.beliefs.shape == (28, 10)  # the LSTM's, row by row
    assert reading.device == "onnxruntime-cpu" and reading.answered_by().startswith("onnxruntime-cpu: ")
    assert all(f"{m} " in reading.answered_by() for m in pair)


def test_the_ways_of_asking_agree_with_the_reading():
    image = inline_image(sketch_png())
    pair = list(draw.default_pair())
    reading = read_digit(image, pair)
    left, right, seen, _, info = draw.classify(image)
    page = draw.classify_for_page({"image": image["url"]})
    tool = json.loads(mcp_tools.classify(image["url"]))
    for side, model in zip((left, right), pair):
        assert side == {str(d): float(p) for d, p in enumerate(reading.probs[model])}
    assert list(page["probs"]) == pair
    for model, probs in page["probs"].items():
        assert np.allclose(probs, reading.probs[model], atol=1e-6)
    assert np.allclose(page["beliefs"], reading.beliefs, atol=1e-5)
    assert [m["digit"] for m in tool["models"]] == [reading.digit(m) for m in pair] and tool["verdict"] == "digit"
    assert np.array_equal(seen, (np.clip(reading.x[0, 0], 0, 1) * 255).astype(np.uint8))
    assert page["doubt"] == pytest.approx(reading.not_digit) and tool["not_a_digit"] == round(reading.not_digit, 4)
    assert info.startswith("Answered by onnxruntime-cpu: ")


def test_a_part_keeps_no_state_of_its_calls():
    part = parts.with_role(draw.default_pair()[0], "classifier")
    before = dict(vars(part))
    read_digit(inline_image(sketch_png()), [part.model])
    assert vars(part).keys() == before.keys() and all(vars(part)[k] is before[k] for k in before)


def test_each_reading_has_the_time_of_its_own_call_when_visitors_read_at_once(monkeypatch):
    """A slow call and a fast one at the same time on the same model file: each footer tells its own
    time (with a time kept on the shared Part, the fast one could show the slow one's, or the reverse)."""
    model = draw.default_pair()[0]
    part = parts.with_role(model, "classifier")
    run = part.run

    def paced(*arrays):
        if threading.current_thread().name == "slow":
            time.sleep(0.3)
        return run(*arrays)

    monkeypatch.setattr(part, "run", paced)
    image, readings = inline_image(sketch_png()), {}

    def read(name: str) -> None:
        if name == "fast":
            time.sleep(0.1)  # starts while the slow call is under way, ends before it
        readings[name] = read_digit(image, [model])

    threads = [threading.Thread(target=read, args=(name,), name=name) for name in ("slow", "fast")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert readings["slow"].ms[model] >= 300 > readings["fast"].ms[model], {k: r.ms for k, r in readings.items()}
