"""What a class drew, kept as an open data set: `digitzoo classroom export` from a real store, the files it
writes (ndjson, PNGs, npz, the dataset card) and nothing secret in them, a half-written or wrong folder
refused, `digitzoo eval NAME --drawings DIR` on real MNIST test digits, `digitzoo push-dataset` (a dry run
that sends nothing, and a push to the fake Hub), and `digitzoo classroom purge`."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from fake_hub import FakeHub
from PIL import Image

from digitzoo.cli import main
from digitzoo.hub.classroom import dataset
from digitzoo.hub.classroom.dataset import read_dataset, write_dataset
from digitzoo.hub.classroom.drawing import Drawing
from digitzoo.hub.classroom.store import ClassroomStore, NotFound
from digitzoo.hub.serving import digit_sets
from digitzoo.hub.serving.errors import DigitzooError

REPO = Path(__file__).resolve().parents[1]
MODELS = ("mnist_lstm", "mnist_cnn")  # not the Draw page's order: the card lists them in that order
COUNT = 30  # the first MNIST test digits, drawn by three devices
DEVICES = 3


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def payload(i: int, image: np.ndarray, label: int) -> dict:
    probs = [0.02] * 10
    probs[label if i % 5 else (label + 1) % 10] = 0.82  # every fifth one misread by the page
    return {"id": f"drawing-{i:04d}", "label": label, "prompted": i % 2 == 0,
            "strokes": [[[100 + i, 80, 0], [120, 300, 40 + i]], [[200, 100 + i, 300], [260, 90, 350]]],
            "pixels": (image.reshape(-1) / 255).tolist(), "answers": {m: probs for m in MODELS}, "not_digit": 0.01 * (i % 7)}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A store with one session of COUNT real test digits from DEVICES devices, and the facts a test checks."""
    root = tmp_path_factory.mktemp("classroom-dataset")
    url = f"sqlite:///{root}/c.db"
    clock = Clock(time.time() - 600)  # the CLI opens the store on the real clock: the session must still be open
    store = ClassroomStore(url, clock=clock)
    started = store.start()
    tokens = [store.join(started.code).token for _ in range(DEVICES)]
    images, labels = digit_sets.load("mnist_test")
    for i in range(COUNT):
        store.save(started.code, tokens[i % DEVICES], Drawing.from_payload(payload(i, images[i], int(labels[i]))))
        clock.now += 2.0  # one drawing a second at most per device
    stored = store.drawings(started.teacher_key)
    facts = store.session(started.teacher_key)
    store.close()
    return {"root": root, "url": url, "code": started.code, "key": started.teacher_key, "tokens": tokens,
            "stored": stored, "facts": facts, "images": images[:COUNT], "labels": labels[:COUNT].astype(np.int64)}


@pytest.fixture(scope="module")
def exported(session):
    """The folder `digitzoo classroom export` wrote (a lowercase code works too), and what it printed."""
    folder = session["root"] / "dataset"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["classroom", "export", session["code"].lower(), str(folder), "--db", session["url"]]) == 0
    return folder, out.getvalue()


def test_export_by_code_reads_what_the_teacher_sees(session):
    store = ClassroomStore(session["url"])
    facts, drawings = store.drawings_by_code(f" {session['code'].lower()} ")
    assert facts == session["facts"] and drawings == session["stored"] and len(drawings) == COUNT
    store.close_session(session["key"])  # a closed class still exports
    assert store.drawings_by_code(session["code"])[0]["closed"] is True
    with pytest.raises(NotFound):
        store.drawings_by_code("ZZZZZZ")
    store.close()
    later = ClassroomStore(session["url"], clock=lambda: time.time() + 5 * 3600)  # past its retention
    with pytest.raises(NotFound):
        later.drawings_by_code(session["code"])
    later.close()


def test_export_writes_the_drawings_as_ndjson_pngs_and_npz(session, exported):
    folder, printed = exported
    assert printed.strip() == f"{COUNT} drawings from {DEVICES} devices written to {folder.resolve()}"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "digits.npz", "drawings.ndjson", "images"]
    lines = (folder / "drawings.ndjson").read_text().splitlines()
    assert len(lines) == COUNT
    for line, d in zip(lines, session["stored"]):
        row = json.loads(line)
        assert set(row) == {"key_id", "word", "label", "prompted", "student", "timestamp", "drawing", "answers", "not_digit"}
        assert row["key_id"] == str(d.id) and row["word"] == str(d.label) and row["label"] == d.label
        assert row["prompted"] == d.prompted and row["student"] == d.student and row["answers"] == d.answers
        assert row["drawing"] == [[[p[0] for p in s], [p[1] for p in s], [p[2] for p in s]] for s in d.strokes]
        assert row["timestamp"].endswith("Z")
        assert abs(datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp() - d.created_at) < 0.001
        with Image.open(folder / "images" / f"{d.id}_{d.label}.png") as image:
            assert image.size == (28, 28) and image.mode == "L" and image.tobytes() == d.pixels
    assert {row["student"] for row in map(json.loads, lines)} == {1, 2, 3}
    assert len(list((folder / "images").iterdir())) == COUNT
    x, y = read_dataset(folder)
    assert x.dtype == np.uint8 and x.shape == (COUNT, 28, 28) and y.dtype == np.int64
    np.testing.assert_array_equal(x, session["images"])  # what the page read, byte for byte: MNIST's own digits here
    np.testing.assert_array_equal(y, session["labels"])
    with np.load(folder / "digits.npz", allow_pickle=False) as data:
        assert data["ids"].tolist() == [d.id for d in session["stored"]]


def test_the_card_and_nothing_secret(session, exported):
    folder, _ = exported
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n", 2)[1])
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["image-classification"]
    assert meta["size_categories"] == ["n<1K"] and "classroom" in meta["pretty_name"]
    counts = np.bincount(session["labels"], minlength=10)
    for digit, n in enumerate(counts):
        assert f"\n| {digit} | {n} |" in card
    assert f"{COUNT} drawings from {DEVICES} devices" in card
    for words in ("no names", "CC BY 4.0", "prompted", "drawings.ndjson", "digits.npz",
                  "allow_pickle=False", "centre of mass"):
        assert words in card, words
    # The page's models, in the Draw page's order, each with the share it read right (4 in 5 here).
    assert card.index("`mnist_cnn` | 30 | 80.0%") < card.index("`mnist_lstm` | 30 | 80.0%")
    secrets = [session["key"], session["code"], *session["tokens"]]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [s for s in secrets if s.encode() in data], path


def test_a_half_written_or_wrong_folder_is_refused(session, exported, tmp_path, monkeypatch, capsys):
    folder, _ = exported
    half = tmp_path / "half"
    shutil.copytree(folder, half)
    (half / "README.md").unlink()  # what a killed export would leave, had it written in place
    with pytest.raises(DigitzooError, match="has no README.md"):
        read_dataset(half)
    assert main(["eval", "mnist_cnn", "--drawings", str(half)]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no README.md" in err and len(err.splitlines()) == 1
    with pytest.raises(DigitzooError, match="is not a folder"):
        read_dataset(tmp_path / "absent")
    wrong = tmp_path / "wrong"
    shutil.copytree(folder, wrong)
    cases = [({"x": np.zeros((3, 784), np.uint8), "y": np.zeros(3, np.uint8)}, "uint8 Nx28x28"),
             ({"x": np.zeros((3, 28, 28), np.float32), "y": np.zeros(3, np.uint8)}, "uint8 Nx28x28"),
             ({"x": np.zeros((3, 28, 28), np.uint8), "y": np.zeros(2, np.uint8)}, "3 integer labels"),
             ({"x": np.zeros((3, 28, 28), np.uint8), "y": np.array([1, 2, 10], np.uint8)}, "outside 0-9"),
             ({"x": np.zeros((3, 28, 28), np.uint8)}, "lacks y"),
             ({"x": np.array([{"a": 1}], dtype=object), "y": np.zeros(1, np.uint8)}, "cannot be read")]  # a pickle: never loaded
    for arrays, message in cases:
        np.savez(wrong / "digits.npz", **arrays)
        with pytest.raises(DigitzooError, match=message):
            read_dataset(wrong)
    (wrong / "digits.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DigitzooError, match="cannot be read"):
        read_dataset(wrong)
    # An export that fails half-way leaves nothing under its name, nor a partial folder beside it.
    calls = []

    def failing_png(pixels):
        calls.append(1)
        if len(calls) == 5:
            raise OSError("disk full")
        return b"png"

    monkeypatch.setattr(dataset, "png", failing_png)
    target = tmp_path / "failed" / "dataset"
    with pytest.raises(OSError, match="disk full"):
        write_dataset(session["stored"], target, session=session["facts"])
    assert list((tmp_path / "failed").iterdir()) == []
    # And a folder that is not empty is never written into.
    with pytest.raises(DigitzooError, match="not empty"):
        write_dataset(session["stored"], folder, session=session["facts"])


def test_eval_scores_an_exported_classifier_on_the_drawings(exported, session, capsys):
    folder, _ = exported
    assert main(["eval", "mnist_cnn", "--drawings", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "mnist_cnn" and result["count"] == COUNT
    assert result["accuracy"] >= 0.96 and result["correct"] == round(result["accuracy"] * COUNT)
    counts = np.bincount(session["labels"], minlength=10)
    assert [result["per_digit"][str(k)]["count"] for k in range(10)] == counts.tolist()
    assert sum(d["correct"] for d in result["per_digit"].values()) == result["correct"]
    assert all(d["accuracy"] is None for k, d in result["per_digit"].items() if counts[int(k)] == 0)
    # The same file as "your own ONNX file": its convention found (0-1, white on black), the same figures.
    onnx = REPO / "hub/pretrained/exports/mnist_cnn/mnist_cnn.onnx"
    assert main(["eval", "--onnx", str(onnx), "--drawings", str(folder), "--json"]) == 0
    own = json.loads(capsys.readouterr().out)
    assert own["convention"] == "white01" and own["correct"] == result["correct"] and own["confusion"] == result["confusion"]
    assert main(["eval", "mnist_cnn", "--drawings", str(folder)]) == 0
    assert f"accuracy {result['accuracy']:.2%} ({result['correct']}/{COUNT})" in capsys.readouterr().out
    for argv, message in [(["eval", "mnist_gan", "--drawings", str(folder)], "no exported classifier"),
                          (["eval", "--drawings", str(folder)], "give a model name or --onnx FILE"),
                          (["eval", "mnist_cnn", "--onnx", str(onnx), "--drawings", str(folder)], "not both")]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err


def test_push_dataset_dry_run_sends_nothing_and_a_push_uploads_the_dataset(exported, tmp_path, monkeypatch, capsys):
    folder, _ = exported
    mine = tmp_path / "mine"
    shutil.copytree(folder, mine)
    (mine / "notes.txt").write_text("my own notes, not part of the data set\n")
    with FakeHub(tokens={"hf_good": "alice"}) as hub:
        hub.use(monkeypatch, tmp_path / "hf_home")
        assert main(["push-dataset", str(mine), "alice/class-digits", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert hub.requests == [] and "dry run: nothing was sent" in out
        assert f"public dataset repository {hub.url}/datasets/alice/class-digits" in out and f"{COUNT + 3} files" in out
        assert "license: cc-by-4.0" in out and "digits.npz" in out and "Not uploaded" in out and "notes.txt" in out
        assert "## Files" not in out  # the card's first lines only
        half = tmp_path / "half"
        shutil.copytree(folder, half)
        (half / "README.md").unlink()
        assert main(["push-dataset", str(half), "alice/class-digits", "--dry-run"]) == 2
        assert "has no README.md" in capsys.readouterr().err and hub.requests == []
        monkeypatch.setenv("HF_TOKEN", "hf_good")
        assert main(["push-dataset", str(mine), "alice/class-digits", "--private"]) == 0
        repo = hub.repos[("dataset", "alice/class-digits")]
        expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert repo.private and repo.files == expected  # the data set's files, byte for byte; not the notes


def test_purge_deletes_expired_sessions_only(tmp_path, capsys, store):
    url = f"sqlite:///{tmp_path}/p.db"
    fresh = ClassroomStore(url)
    kept = fresh.start()
    fresh.close()
    old = ClassroomStore(url, clock=lambda: time.time() - 5 * 3600)  # started 5 hours ago: past 4 hours (made
    old.start()  # second: a store's start purges what has expired on its clock)
    old.close()
    assert main(["classroom", "purge", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("1 expired session deleted")
    assert ClassroomStore(url).drawings_by_code(kept.code)[1] == []  # the open one is still there
    assert main(["classroom", "purge"]) == 0  # the store's default database: none made by asking
    assert "nothing to purge" in capsys.readouterr().out and not (store / "classroom.sqlite3").exists()
    assert main(["classroom", "export", "AAAAAA", str(tmp_path / "x"), "--db", f"sqlite:///{tmp_path}/typo.db"]) == 2
    assert "no classroom database" in capsys.readouterr().err and not (tmp_path / "typo.db").exists()
