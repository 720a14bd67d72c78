"""A visitor's own MNIST classifier as one ONNX file: checked, its pixel convention found, scored on
the shipped test digits (``digit_sets``) — ``digitzoo eval --onnx FILE`` and ``digitzoo list --table
--with FILE``. The page does the same in the browser (apps/web/yours.js) with the same rules, the
same sentences (``SENTENCES``, sent to it in models.json) and the same digits, so the two agree.

What is accepted: one float32 input of (N or 1, 1, 28, 28), (N or 1, 28, 28, 1), (N or 1, 28, 28)
or (N or 1, 784); one float32 output of 10 scores (logits, probabilities or log-probabilities: found
from the outputs); no external data; at most ``MAX_BYTES``; anything onnxruntime can open. Nothing
here imports torch or onnx: onnxruntime reads the shapes, ``filechecks`` scans for external data.

>>> check_io([("image", "tensor(float)", ["batch", 3, 32, 32])], [("logits", "tensor(float)", ["batch", 10])])
Traceback (most recent call last):
...
digitzoo.hub.serving.errors.DigitzooError: The input is 3x32x32; an MNIST classifier takes 1x28x28 (or 28x28x1, 28x28, 784) per image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitzoo.hub.serving import digit_sets
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.filechecks import first_line, onnx_uses_external_data

MAX_BYTES = 50_000_000
DETECT_ON = 300  # the first MNIST test digits every convention is tried on
BATCH = 250  # digits per run when the batch size is free
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# Per image, without the batch: the layouts an MNIST classifier takes.
LAYOUTS = {"nchw": [1, 28, 28], "nhwc": [28, 28, 1], "rows": [28, 28], "flat": [784]}

# How the model wants its pixels (p: 0-255, ink 255), and how the page says it, the commonest first
# (PyTorch's ToTensor gives 0-1). Each is tried on the first DETECT_ON test digits; the first listed
# whose accuracy is within DETECT_SLACK digits of the best wins. The slack is there because the first
# 300 digits are easy: a CNN trained on 0-1 pixels reads MNIST-normalised ones about as well (281 vs
# 282 of 300 in tests/own_models.py; LeNet reads 300 of 300 either way), and one digit is noise, not
# a reason to feed it pixels it never saw. Not the lowest cross-entropy either: scaling a ReLU net's
# input scales its logits, so a well-trained model looks surer on normalised pixels (mnist_cnn: 0.055
# vs 0.060) while it reads 1.3 points fewer of the 10,000 digits.
DETECT_SLACK = 3
CONVENTIONS = {
    "white01": "white digits on black, 0-1",
    "white255": "white digits on black, 0-255",
    "mnist_norm": f"white digits on black, normalised with MNIST's mean and std ({MNIST_MEAN}, {MNIST_STD})",
    "black01": "black digits on white, 0-1",
}

SENTENCES = {  # {placeholders} filled by the caller; the page uses the same ones
    "too_big": "The file is {mb} MB; a model here may be at most {max_mb} MB.",
    "not_onnx": "This is not a complete ONNX model ({why}).",
    "external": ("The model keeps its weights in external data files, which a page cannot open: save it as one "
                 "self-contained .onnx file (onnx.save_model(model, path, save_as_external_data=False))."),
    "cannot_run": "onnxruntime cannot run this model: {why}",
    "inputs": "The model has {count} inputs; an MNIST classifier takes one, the image.",
    "input_type": "The input is {dtype}; an MNIST classifier takes float32.",
    "input_shape": "The input is {shape}; an MNIST classifier takes 1x28x28 (or 28x28x1, 28x28, 784) per image.",
    "batch": "The input's batch size is fixed at {batch}; an MNIST classifier here takes any batch size, or 1.",
    "outputs": "The model has {count} outputs; an MNIST classifier gives one, 10 scores.",
    "output_type": "The output is {dtype}; an MNIST classifier gives float32 scores.",
    "output_shape": "The output is {shape}; an MNIST classifier gives 10 scores, one per digit.",
    "reads": "Your model reads {convention}; its outputs are {output}.",
    "tried": "Of the first {count} test digits it reads {right} right that way; the other ways: {tried}.",
    "tried_one": "{right} as {convention}",
}


def refuse(key: str, **values) -> DigitzooError:
    return DigitzooError(SENTENCES[key].format(**values))


def _dims(shape) -> str:
    return "x".join("N" if not isinstance(d, int) or d < 0 else str(d) for d in shape) or "a scalar"


@dataclass(frozen=True)
class Interface:
    """What the checks found: the input's layout and batch (1, or None when any batch works)."""

    input_name: str
    output_name: str
    layout: str
    batch: int | None


def check_io(inputs: list[tuple[str, str, list]], outputs: list[tuple[str, str, list]]) -> Interface:
    """The model's interface from (name, type, shape) of each input and output, as onnxruntime states
    them (type "tensor(float)"; a free dimension is a str or None); DigitzooError with one sentence else."""
    if len(inputs) != 1:
        raise refuse("inputs", count=len(inputs))
    name, kind, shape = inputs[0]
    if kind != "tensor(float)":
        raise refuse("input_type", dtype=kind.removeprefix("tensor(").removesuffix(")"))
    per_image = list(shape[1:])
    layout = next((k for k, dims in LAYOUTS.items() if per_image == dims), None)
    if layout is None or not shape:
        raise refuse("input_shape", shape=_dims(per_image if shape else []))
    first = shape[0]
    batch = first if isinstance(first, int) and first > 0 else None
    if batch not in (None, 1):
        raise refuse("batch", batch=batch)
    if len(outputs) != 1:
        raise refuse("outputs", count=len(outputs))
    out_name, out_kind, out_shape = outputs[0]
    if out_kind != "tensor(float)":
        raise refuse("output_type", dtype=out_kind.removeprefix("tensor(").removesuffix(")"))
    # (N, 10); a shape onnxruntime cannot state ([] or free dims) is checked on the first run instead.
    if out_shape and (len(out_shape) != 2 or out_shape[1] not in (10, None) and not isinstance(out_shape[1], str)):
        raise refuse("output_shape", shape=_dims(out_shape[1:]))
    return Interface(name, out_name, layout, batch)


def pixels(images: np.ndarray, convention: str) -> np.ndarray:
    """(N, 28, 28) uint8 (ink 255) -> float32 in ``convention``: computed in float64, rounded once,
    as the page's Float32Array does."""
    p = images.astype(np.float64)
    values = {"white01": p / 255, "white255": p, "mnist_norm": (p / 255 - MNIST_MEAN) / MNIST_STD,
              "black01": 1 - p / 255}[convention]
    return values.astype(np.float32)


class OwnModel:
    """An accepted file: ``run(images uint8 (N, 28, 28), convention)`` -> (N, 10) scores."""

    def __init__(self, data: bytes, name: str = "your model", threads: int | None = 1):
        import onnxruntime as ort

        if len(data) > MAX_BYTES:
            raise refuse("too_big", mb=f"{len(data) / 1e6:.1f}", max_mb=MAX_BYTES // 10**6)
        try:
            external = onnx_uses_external_data(data)
        except ValueError as exc:
            raise refuse("not_onnx", why=str(exc)) from None
        if external:
            raise refuse("external")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises several types for files it cannot run
            raise refuse("cannot_run", why=first_line(exc)) from None
        describe = lambda values: [(v.name, v.type, list(v.shape)) for v in values]  # noqa: E731
        self.interface = check_io(describe(self.session.get_inputs()), describe(self.session.get_outputs()))
        self.name, self.bytes = name, len(data)

    def run(self, images: np.ndarray, convention: str) -> np.ndarray:
        face = self.interface
        x = pixels(images, convention).reshape(len(images), *LAYOUTS[face.layout])
        step = face.batch or BATCH
        scores = [self.session.run([face.output_name], {face.input_name: x[i:i + step]})[0]
                  for i in range(0, len(x), step)]
        out = np.concatenate(scores).reshape(len(images), -1) if scores else np.zeros((0, 10), np.float32)
        if out.shape[1] != 10:
            raise refuse("output_shape", shape=_dims(out.shape[1:]))
        return out


def output_kind(scores: np.ndarray) -> str:
    """"probabilities" when every row is >= 0 and sums to 1, "log-probabilities" when exp of it does, else "logits"."""
    if (scores >= 0).all() and np.allclose(scores.sum(1), 1, atol=1e-3):
        return "probabilities"
    if (scores <= 0).all() and np.allclose(np.exp(scores).sum(1), 1, atol=1e-3):
        return "log-probabilities"
    return "logits"


def detect_convention(model: OwnModel, images: np.ndarray, labels: np.ndarray) -> tuple[str, dict[str, int]]:
    """The first listed convention within DETECT_SLACK digits of the best on the first DETECT_ON digits,
    and how many of them each convention reads right."""
    head, truth = images[:DETECT_ON], labels[:DETECT_ON]
    correct = {c: int((model.run(head, c).argmax(1) == truth).sum()) for c in CONVENTIONS}
    best = max(correct.values())
    return next(c for c in CONVENTIONS if correct[c] >= best - DETECT_SLACK), correct


def tried_sentence(convention: str, correct: dict[str, int]) -> str:
    """What detection saw, in one sentence: the chosen convention's count, then every other one's."""
    others = "; ".join(SENTENCES["tried_one"].format(right=n, convention=CONVENTIONS[c]) for c, n in correct.items()
                       if c != convention)
    return SENTENCES["tried"].format(count=DETECT_ON, right=correct[convention], tried=others)


def score(model: OwnModel, images: np.ndarray, labels: np.ndarray, convention: str, wrong_kept: int = 100) -> dict:
    """Accuracy (percent, 2 decimals), 10x10 confusion (rows: the truth), the first ``wrong_kept``
    misread digits as [index, what it read], and the time per image."""
    began = time.perf_counter()
    guesses = model.run(images, convention).argmax(1)
    took = time.perf_counter() - began
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels.astype(np.int64), guesses), 1)
    correct = int((guesses == labels).sum())
    return {"count": len(labels), "correct": correct, "accuracy": round(100 * correct / max(1, len(labels)), 2),
            "confusion": confusion.tolist(),
            "wrong": [[int(i), int(guesses[i])] for i in np.nonzero(guesses != labels)[0][:wrong_kept]],
            "ms_per_image": round(1000 * took / max(1, len(labels)), 4)}


def evaluate_onnx(path: str | Path, threads: int | None = 1, folder: Path = digit_sets.SHIPPED_DIR) -> dict:
    """`digitzoo eval --onnx FILE`: the checks, the convention, and the figures on every shipped digit set."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DigitzooError(f"{path} cannot be read ({exc.strerror})") from None
    if size > MAX_BYTES:  # said before a byte is read
        raise refuse("too_big", mb=f"{size / 1e6:.1f}", max_mb=MAX_BYTES // 10**6)
    model = OwnModel(path.read_bytes(), path.name, threads)
    sets = {name: digit_sets.load(name, folder) for name in digit_sets.index(folder)["sets"]}
    convention, correct = detect_convention(model, *sets["mnist_test"])
    kind = output_kind(model.run(sets["mnist_test"][0][:DETECT_ON], convention))
    figures = {name: {"label": digit_sets.LABELS.get(name, name), **score(model, images, labels, convention)}
               for name, (images, labels) in sets.items()}
    return {"file": str(path), "bytes": model.bytes, "layout": model.interface.layout,
            "batch": model.interface.batch or "any", "convention": convention, "output": kind,
            "reads": SENTENCES["reads"].format(convention=CONVENTIONS[convention], output=kind),
            "tried": correct, "tried_says": tried_sentence(convention, correct), "sets": figures}


def report(evaluation: dict) -> str:
    """`digitzoo eval --onnx`'s lines."""
    lines = [f"{evaluation['file']}: {evaluation['reads']}", evaluation["tried_says"],
             f"input layout {evaluation['layout']}, batch {evaluation['batch']}"]
    for figures in evaluation["sets"].values():
        lines.append(f"{figures['label']:24s} accuracy {figures['accuracy']:6.2f}%  ({figures['correct']}/{figures['count']}, "
                     f"{figures['ms_per_image']:.3f} ms per image)")
    return "\n".join(lines)
