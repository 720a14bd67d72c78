"""What a class drew, kept as an open data set (CC BY 4.0), and a classifier scored on one.

``write_dataset`` makes a folder that can be published as it is as a Hugging Face dataset
(``digitzoo push-dataset``), the teacher's "Export" button zips it, and ``digitzoo classroom
export`` writes it from the server's database:

    README.md                  the dataset card: how it was collected, what it holds, the license
    drawings.ndjson            one drawing per line, in Quick, Draw!'s raw format (strokes as
                               [[x...], [y...], [t...]]) with the label, the page's readings, ...
    images/<id>_<label>.png    each drawing's 28x28 as a grayscale PNG
    digits.npz                 x uint8 (N, 28, 28), y uint8 (N,), ids int64 (N,): MNIST's layout

The folder is built beside its place and renamed onto it once complete (``folder_built_in_place``),
with README.md written last, and ``read_dataset`` refuses a folder without README.md: a folder left
half-written (a killed export) is never read as a data set. Nothing personal is in it, as there is
nothing personal in the classroom's database: a device is its number within the session.

``evaluate_drawings`` scores an exported classifier (through ONNX Runtime and the manifest, as the
demo runs it) or a visitor's own ONNX file (``own_model``) on such a folder: ``digitzoo eval NAME
--drawings DIR``. numpy, Pillow and the standard library only; no torch.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from digitzoo.hub.classroom.drawing import CLASSES, PIXELS, SIDE
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import folder_built_in_place, new_folder_path

if TYPE_CHECKING:  # the store needs SQLAlchemy; reading or scoring a data set does not
    from digitzoo.hub.classroom.store import StoredDrawing

CARD = "README.md"
NDJSON = "drawings.ndjson"
NPZ = "digits.npz"
IMAGES = "images"
LICENSE = "cc-by-4.0"
# The Hub's size categories (the card's metadata), each with the count it holds fewer than.
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
BATCH = 250


@dataclass(frozen=True)
class DatasetSummary:
    """What ``write_dataset`` wrote: the folder, how many drawings from how many devices, and the
    drawings of each digit (all ten digits, 0 for a digit nobody drew)."""

    folder: Path
    drawings: int
    devices: int
    per_digit: dict[int, int]

    def line(self) -> str:
        return (f"{self.drawings} drawing{'s' if self.drawings != 1 else ''} from {self.devices} "
                f"device{'s' if self.devices != 1 else ''} written to {self.folder}")


def timestamp(seconds: float) -> str:
    """ISO-8601 in UTC, to the millisecond.

    >>> timestamp(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(d: StoredDrawing) -> dict:
    """One line of drawings.ndjson: Quick, Draw!'s raw format (``key_id``, ``word``, ``timestamp``,
    ``drawing`` as [[x...], [y...], [t...]] per stroke) with the classroom's own fields."""
    strokes = [[[p[0] for p in stroke], [p[1] for p in stroke], [p[2] for p in stroke]] for stroke in d.strokes]
    return {"key_id": str(d.id), "word": str(d.label), "label": d.label, "prompted": d.prompted, "student": d.student,
            "timestamp": timestamp(d.created_at), "drawing": strokes, "answers": d.answers, "not_digit": d.not_digit}


def png(pixels: bytes) -> bytes:
    """784 bytes (MNIST layout, row by row) as a 28x28 grayscale PNG."""
    out = io.BytesIO()
    Image.frombytes("L", (SIDE, SIDE), bytes(pixels)).save(out, "PNG")
    return out.getvalue()


def image_name(d: StoredDrawing) -> str:
    return f"{IMAGES}/{d.id}_{d.label}.png"


def size_category(count: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if count < limit), "1M<n<10M")


def reading(probs: Sequence[float]) -> int:
    return max(range(CLASSES), key=probs.__getitem__)


def write_dataset(drawings: list[StoredDrawing], folder: str | Path, *, session: dict,
                  models: list[str] | None = None) -> DatasetSummary:
    """Write ``drawings`` (a session's, from the store) as a data set in ``folder``, a new or empty folder.
    ``session``: the store's facts of the session (its date goes in the card; its join code does not);
    ``models``: the page's classifiers in the order the card lists their readings (default: those in the
    answers, sorted)."""
    out = new_folder_path(folder)
    for d in drawings:
        if len(d.pixels) != PIXELS or not 0 <= d.label < CLASSES:
            raise DigitzooError(f"drawing {d.id} is not a 28x28 digit with a label 0-9: not exported")
    per_digit = {digit: sum(d.label == digit for d in drawings) for digit in range(CLASSES)}
    summary = DatasetSummary(out, len(drawings), len({d.student for d in drawings}), per_digit)
    x = np.frombuffer(b"".join(d.pixels for d in drawings), np.uint8).reshape(len(drawings), SIDE, SIDE)
    with folder_built_in_place(out) as work:
        with open(work / NDJSON, "w", encoding="utf-8") as f:
            for d in drawings:
                f.write(json.dumps(record(d), separators=(",", ":")) + "\n")
        (work / IMAGES).mkdir()
        for d in drawings:
            (work / image_name(d)).write_bytes(png(d.pixels))
        np.savez_compressed(work / NPZ, x=x, y=np.array([d.label for d in drawings], np.uint8),
                            ids=np.array([d.id for d in drawings], np.int64))
        (work / CARD).write_text(card(drawings, summary, session, models), encoding="utf-8")  # last: the mark of a whole data set
    return summary


def _table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(rows[0]))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


def card(drawings: list[StoredDrawing], summary: DatasetSummary, session: dict, models: list[str] | None) -> str:
    """README.md: the Hugging Face dataset card (YAML metadata, then what a reader needs to know)."""
    count, devices = summary.drawings, summary.devices
    day = datetime.fromtimestamp(session.get("created_at") or 0, timezone.utc).strftime("%Y-%m-%d")
    prompted = sum(d.prompted for d in drawings)
    answered = sorted({m for d in drawings for m in d.answers})
    names = [m for m in (models or []) if m in answered] + [m for m in answered if m not in (models or [])]
    digits = _table([["digit", "drawings", "prompted"]]
                    + [[str(k), str(n), str(sum(d.prompted for d in drawings if d.label == k))] for k, n in summary.per_digit.items()])
    readings = []
    for name in names:
        read = [d for d in drawings if name in d.answers]
        right = sum(reading(d.answers[name]) == d.label for d in read)
        readings.append([f"`{name}`", str(len(read)), f"{right / len(read):.1%}" if read else "-"])
    readings_table = (_table([["model", "drawings it read", "read as their label"]] + readings) if readings
                      else "(no model's answers were recorded)")
    return f"""---
license: {LICENSE}
task_categories:
- image-classification
size_categories:
- {size_category(count)}
pretty_name: Digits drawn in a digitzoo classroom ({day})
tags:
- mnist
- handwritten-digits
- sketch
- digitzoo
---

# Digits drawn in a digitzoo classroom ({day})

{count} handwritten digits that a class drew on {devices} device{'s' if devices != 1 else ''} in one
digitzoo classroom session on {day} (UTC): each with the pen's strokes, the
28x28 picture in MNIST's layout that the page read, the label and what the page's models read.

## How it was collected

A teacher started a classroom session on a digitzoo server and showed its join code. Students opened the
join link on their phones, tablets or laptops and drew digits with a finger, a stylus or a mouse on a square
pad of 560x560 pixels. A drawing was *prompted* when the page asked for a digit (each digit once in every
round of ten, in a shuffled order: the label is the digit asked for) and *free* when the student drew a
digit and picked its label; {prompted} of the {count} drawings were prompted. A label is what the student
meant to draw, not a check of what they drew.

The 28x28 picture is the page's own preprocessing, the one its models read: MNIST's recipe (the ink cropped,
fitted in a 20x20 box keeping its aspect ratio, placed in 28x28 with its centre of mass in the middle), with
the stroke width brought to MNIST's; white ink (255) on black (0), row by row. The page ran digitzoo's
classifiers and its not-a-digit detector in the browser and sent their answers with the drawing; the server
ran no model. The students were told, before drawing, that their drawings could be kept as an open data set
under CC BY 4.0.

## What it contains

{count} drawings from {devices} device{'s' if devices != 1 else ''}:

{digits}

How the page's models read them (the digit each gave the highest probability):

{readings_table}

## Personal data

None. The classroom stores no names, no accounts, no IP addresses and no user agents. A device is known
only by its number within this session (`student`: 1, 2, ... in the order the devices joined); the random
token a device sent its drawings with is not in this data set (the server kept only its hash, and deleted
it with the session). Timestamps are the server's clock when it saved a drawing, in UTC.

## License

[Creative Commons Attribution 4.0 International (CC BY 4.0)](https://creativecommons.org/licenses/by/4.0/):
you may share and adapt the data for any purpose, giving credit ("digits drawn in a digitzoo classroom,
{day}") and saying what you changed.

## Files

- `drawings.ndjson`: one JSON object per line, in the style of Quick, Draw!'s raw data:
  - `key_id` (string): the drawing's id; `word` (string) and `label` (integer): the digit, 0-9;
  - `prompted` (boolean): the page asked for this digit (else the student picked it);
  - `student` (integer): the device's number within the session;
  - `timestamp` (string): when it was saved, ISO-8601 in UTC;
  - `drawing`: the strokes, each `[[x0, x1, ...], [y0, y1, ...], [t0, t1, ...]]`: pad pixels (0-560, y
    downwards) and milliseconds since the drawing's first point;
  - `answers`: `{{model: [10 probabilities]}}`, each model's reading in the page;
  - `not_digit` (number): the detector's probability that this is not a digit.
- `images/<key_id>_<label>.png`: the 28x28 picture, 8-bit grayscale, white ink on black.
- `digits.npz`: `x` (uint8, N x 28 x 28), `y` (uint8, N) and `ids` (int64, N, the `key_id`s), in the order
  of `drawings.ndjson`:

  ```python
  import numpy as np
  with np.load("digits.npz", allow_pickle=False) as data:
      x, y = data["x"], data["y"]  # x / 255 is what an MNIST model reads
  ```

  With digitzoo: `digitzoo eval NAME --drawings FOLDER` scores an exported classifier on this folder.
"""


# ---- reading a data set back -------------------------------------------------------------------

def _load(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x uint8 (N, 28, 28), y uint8 (N,), ids int64 (N,)) of a data set folder, checked; DigitzooError else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DigitzooError(f"{folder} is not a folder: give the folder `digitzoo classroom export` wrote")
    if not (folder / CARD).is_file():
        raise DigitzooError(f"{folder} has no {CARD}: not a classroom data set (or one whose export did not finish)")
    try:
        with np.load(folder / NPZ, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x", "y", "ids") if key in data.files}
    except FileNotFoundError:
        raise DigitzooError(f"{folder} has no {NPZ}: not a classroom data set") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DigitzooError(f"{folder / NPZ} cannot be read as numpy arrays ({str(exc).splitlines()[0][:120]})") from None
    if "x" not in arrays or "y" not in arrays:
        raise DigitzooError(f"{folder / NPZ} lacks {' and '.join(k for k in ('x', 'y') if k not in arrays)}: not a classroom data set")
    x, y = arrays["x"], arrays["y"]
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (SIDE, SIDE):
        raise DigitzooError(f"{folder / NPZ}: x is {x.dtype} {'x'.join(map(str, x.shape))}; a data set's is uint8 Nx28x28")
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise DigitzooError(f"{folder / NPZ}: y is {y.dtype} {'x'.join(map(str, y.shape))}; a data set's is {len(x)} integer labels")
    if len(y) and (y.min() < 0 or y.max() >= CLASSES):
        raise DigitzooError(f"{folder / NPZ}: a label is outside 0-9")
    ids = arrays.get("ids")
    if ids is None or ids.shape != y.shape or not np.issubdtype(ids.dtype, np.integer):
        ids = np.arange(len(y), dtype=np.int64)
    return x, y, ids.astype(np.int64)


def read_dataset(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (N, 28, 28), y int64 (N,)) of a folder ``write_dataset`` wrote; a DigitzooError sentence for a
    folder that is not one (missing, half-written, wrong shapes). Never loads a pickle."""
    x, y, _ = _load(folder)
    return x, y.astype(np.int64)


# ---- scoring a classifier on one ---------------------------------------------------------------

class _Exported:
    """An exported classifier (its manifest part) with ``own_model.OwnModel``'s ``run``, so that
    ``own_model.score`` scores both alike."""

    def __init__(self, name: str, threads: int | None):
        from digitzoo.hub.serving.manifest import part_with_role, read_manifest
        from digitzoo.hub.serving.runtime import load_part

        manifest = read_manifest()
        if name not in manifest.models:
            raise DigitzooError(f"{name} is not in the manifest; exported models: {', '.join(manifest.models)}")
        self.part = load_part(name, part_with_role(manifest, name, "classifier"), device="cpu", threads=threads)
        image = self.part.entry.inputs[0]
        if image.shape[1:] != [1, SIDE, SIDE] or image.value_range != [0.0, 1.0]:
            raise DigitzooError(f"{name}'s exported classifier does not take 1x28x28 pixels in 0-1: cannot score it here")

    def run(self, images: np.ndarray, convention: str) -> np.ndarray:
        from digitzoo.hub.serving.own_model import pixels

        x = pixels(images, convention).reshape(len(images), 1, SIDE, SIDE)
        scores = [self.part(x[i:i + BATCH])[0] for i in range(0, len(x), BATCH)]
        return np.concatenate(scores) if scores else np.zeros((0, CLASSES), np.float32)


def evaluate_drawings(folder: str | Path, name: str | None = None, onnx_file: str | Path | None = None,
                      threads: int | None = 1) -> dict:
    """`digitzoo eval NAME --drawings DIR` (an exported classifier, as the demo runs it: pixels 0-1) or
    `digitzoo eval --onnx FILE --drawings DIR` (your own file, its pixel convention found on the shipped
    MNIST test digits as `eval --onnx` does): count, accuracy (0-1), per digit, confusion, the misread ids."""
    from digitzoo.hub.serving import digit_sets, own_model

    if (name is None) == (onnx_file is None):
        raise DigitzooError("give a model name or --onnx FILE (not both) to score on --drawings")
    x, y, ids = _load(folder)
    if not len(y):
        raise DigitzooError(f"{folder} holds no drawings: nothing to score")
    if name is not None:
        model, convention, what = _Exported(name, threads), "white01", {"model": name}
    else:
        path = Path(onnx_file)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise DigitzooError(f"{path} cannot be read ({exc.strerror})") from None
        if size > own_model.MAX_BYTES:
            raise own_model.refuse("too_big", mb=f"{size / 1e6:.1f}", max_mb=own_model.MAX_BYTES // 10**6)
        model = own_model.OwnModel(path.read_bytes(), path.name, threads)
        convention, _ = own_model.detect_convention(model, *digit_sets.load("mnist_test"))
        what = {"file": str(path), "convention": convention,
                "reads": own_model.CONVENTIONS[convention]}
    figures = own_model.score(model, x, y, convention)
    confusion = figures["confusion"]
    per_digit = {}
    for digit in range(CLASSES):
        total = sum(confusion[digit])
        per_digit[str(digit)] = {"count": total, "correct": confusion[digit][digit],
                                 "accuracy": round(confusion[digit][digit] / total, 4) if total else None}
    return {**what, "drawings": str(folder), "count": figures["count"], "correct": figures["correct"],
            "accuracy": round(figures["correct"] / figures["count"], 4), "per_digit": per_digit,
            "confusion": confusion, "wrong": [[int(ids[i]), read] for i, read in figures["wrong"]],
            "ms_per_image": figures["ms_per_image"]}


def report(evaluation: dict) -> str:
    """`digitzoo eval --drawings`'s lines."""
    who = evaluation.get("model") or f"{evaluation['file']} (reads {evaluation['reads']})"
    lines = [f"{who} on {evaluation['count']} drawings in {evaluation['drawings']}: accuracy "
             f"{evaluation['accuracy']:.2%} ({evaluation['correct']}/{evaluation['count']})"]
    for digit, d in evaluation["per_digit"].items():
        lines.append(f"  {digit}  " + (f"{d['accuracy']:7.2%}  ({d['correct']}/{d['count']})" if d["count"] else "      -  (none)"))
    return "\n".join(lines)
