"""One reading of a drawing on the server. Every way of asking (the Draw tab's answers, the page's
own server path, the /classify API and the MCP classify tool) calls ``read_digit`` and shapes its
answer from the ``Reading``: which models, how logits become probabilities, what the not-a-digit
detector says and how long each call took are decided here once.

Timings belong to the reading, not to the opened model: one model file serves every visitor at
once, so a time kept on it would be whichever request finished last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitzoo.apps import parts
from digitzoo.apps.inputs import sketch_to_input

# Over this, the detector's probability that a drawing is no digit makes the answers "not sure".
NOT_A_DIGIT_ABOVE = 0.5
DRAW_PROMPT = "Draw a digit (0-9) on the pad."
# What the pages and the API say about a reading (the pages fill in {percent} and {digit} themselves).
SENTENCES = {"loading": "Loading the models…",
             "not_sure": "Not sure this is a digit ({percent}% it is a letter, a shape or a scribble): draw one digit, 0-9.",
             "looks_like": "not sure: looks most like {digit}"}


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Reading:
    """What the models made of one drawing."""

    x: np.ndarray  # (1, 1, 28, 28): the input they read, as MNIST is laid out
    probs: dict[str, np.ndarray]  # model -> (10,) probabilities, in the order asked
    ms: dict[str, float]  # model -> milliseconds of its call, in this reading
    device: str  # "onnxruntime-cpu", "torchscript-cuda", ...
    not_digit: float | None  # the detector's probability that this is no digit; None without a detector
    beliefs: np.ndarray | None  # (28, 10): after each row, of the first model asked that charts one

    @property
    def not_sure(self) -> bool:
        return self.not_digit is not None and self.not_digit > NOT_A_DIGIT_ABOVE

    def verdict(self) -> str:
        """The one sentence about the drawing itself: empty for a digit."""
        return SENTENCES["not_sure"].format(percent=f"{100 * self.not_digit:.0f}") if self.not_sure else ""

    def headline(self, model: str) -> str:
        """What ``model`` reads: "7", or "not sure: looks most like 4"."""
        digit = str(self.digit(model))
        return SENTENCES["looks_like"].format(digit=digit) if self.not_sure else digit

    def digit(self, model: str) -> int:
        return int(np.argmax(self.probs[model]))

    def answered_by(self, models: list[str] | None = None) -> str:
        """'onnxruntime-cpu: mnist_cnn 1.2 ms + mnist_lstm 3.4 ms' (of ``models``, by default all)."""
        return parts.describe(self.device, {parts.part_name(parts.with_role(m, "classifier")): self.ms[m]
                                            for m in models or self.probs})


def read_digit(image, models: list[str]) -> Reading:
    """Read ``image`` (anything ``sketch_to_input`` takes: the pad's value, an upload, a data URL)
    with each of ``models`` (classifiers; duplicates are read once) and the not-a-digit detector.

    Raises ``gr.Error`` (a sentence for the visitor) for input that is not a usable picture.
    """
    x = sketch_to_input(image)
    probs, ms, beliefs, device = {}, {}, None, ""
    for model in dict.fromkeys(models):
        reader = parts.with_role(model, "classifier")
        (logits, *more), ms[model] = reader.timed(x)  # (1, 10), and (1, 28, 10) beliefs where the model gives them
        if beliefs is None and more and parts.demo(model).get("belief_by_row"):
            beliefs = softmax(more[0][0])
        probs[model], device = softmax(logits[0]), reader.device
    detector = parts.detector()  # None for exports made before there was one: no verdict then
    not_digit = None
    if detector is not None:
        (scores,) = detector(x)  # (1, 2): [digit, not a digit], calibrated so that argmax is the verdict
        not_digit = float(softmax(scores[0])[1])
    return Reading(x=x, probs=probs, ms=ms, device=device, not_digit=not_digit, beliefs=beliefs)
