"""Training writes checkpoints that load back, resumes exactly, and refuses bad files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from digitzoo.hub.checkpoint import CARD_FILE, WEIGHTS_FILE, load_checkpoint, read_card
from digitzoo.hub.serving.errors import CheckpointError, DigitzooError
from digitzoo.hub.registry import list_models
from digitzoo.train.loop import RESUME_FILE, Interrupted, TrainConfig, train

QUIET = dict(log=lambda msg: None)


@pytest.mark.parametrize("name", list_models())
def test_dry_run_writes_a_checkpoint_that_loads_back(name, store):
    card = train(TrainConfig(name=name, dry_run=True), **QUIET)
    folder = store / "dry-run" / name
    assert (folder / WEIGHTS_FILE).is_file() and (folder / CARD_FILE).is_file()
    assert not (folder / RESUME_FILE).exists()
    model, loaded = load_checkpoint(name, folder)
    assert loaded == read_card(folder) and loaded["weights_sha256"] == card["weights_sha256"]
    assert loaded["steps"] == 2 and loaded["seed"] == 0 and loaded["metrics"]
    for key in ("kwargs", "recipe", "versions", "wall_time_s", "device", "command", "created"):
        assert key in loaded
    # The card alone rebuilds the model: same weights, bit for bit.
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in load_checkpoint(name, folder)[0].state_dict().items())
    # A dry run never lands in the real checkpoint folder.
    assert not (store / "checkpoints" / name).exists()


def small(name: str, **kw) -> TrainConfig:
    settings = dict(epochs=2, batch_size=32, limit_train=256, limit_test=200, sketch_eval=0, checkpoint_every=3)
    return TrainConfig(name=name, **{**settings, **kw})


def weights(folder):
    return load_checkpoint(folder.name, folder)[0].state_dict()


@pytest.mark.parametrize("name", list_models())
def test_resume_continues_from_the_saved_step_and_matches_an_uninterrupted_run(name, tmp_path, store):
    straight = train(small(name, out_dir=str(tmp_path / "straight" / name)), **QUIET)
    total = straight["steps"]  # 16 for MNIST alone (256 images, batch 32, 2 epochs); the detector adds drawings

    interrupted = tmp_path / "interrupted" / name
    with pytest.raises(Interrupted):
        train(small(name, out_dir=str(interrupted), stop_after=7), **QUIET)
    assert (interrupted / RESUME_FILE).is_file() and not (interrupted / CARD_FILE).exists()
    messages = []
    card = train(small(name, out_dir=str(interrupted), resume=True), log=messages.append)
    assert any("resumed" in m and f"from step 7/{total}" in m for m in messages), messages
    assert card["steps"] == total and not (interrupted / RESUME_FILE).exists()
    a, b = weights(tmp_path / "straight" / name), weights(interrupted)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run diverged from the uninterrupted one"


def test_leftover_run_needs_resume_or_fresh(tmp_path, store):
    out = str(tmp_path / "run")
    with pytest.raises(Interrupted):
        train(small("mnist_cnn", out_dir=out, stop_after=4), **QUIET)
    with pytest.raises(DigitzooError, match="--resume to continue it or --fresh"):
        train(small("mnist_cnn", out_dir=out), **QUIET)
    with pytest.raises(DigitzooError, match="other settings"):
        train(small("mnist_cnn", out_dir=out, resume=True, seed=1), **QUIET)
    assert train(small("mnist_cnn", out_dir=out, fresh=True), **QUIET)["steps"] == 16


def test_same_seed_same_weights(tmp_path, store):
    for run in ("a", "b"):
        train(small("mnist_cnn", out_dir=str(tmp_path / run / "mnist_cnn")), **QUIET)
    assert read_card(tmp_path / "a" / "mnist_cnn")["weights_sha256"] == read_card(tmp_path / "b" / "mnist_cnn")["weights_sha256"]


def test_killed_process_resumes_from_its_last_checkpoint(tmp_path, store):
    """SIGKILL a real `python -m digitzoo.train` as soon as it has saved, then --resume it."""
    out = tmp_path / "killed" / "mnist_cnn"
    cmd = [sys.executable, "-m", "digitzoo.train", "mnist_cnn", "--epochs", "4", "--batch-size", "32",
           "--limit-train", "2048", "--limit-test", "200", "--sketch-eval", "0",
           "--checkpoint-every", "5", "--out-dir", str(out), "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / RESUME_FILE).exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / CARD_FILE).exists()  # a killed run never looks finished
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed mnist_cnn from step" in done.stderr
    assert json.loads(done.stdout)["name"] == "mnist_cnn"
    assert read_card(out)["steps"] == 4 * (2048 // 32)


def test_corrupted_or_swapped_weights_are_refused(tmp_path, store):
    folder = tmp_path / "mnist_cnn"
    train(small("mnist_cnn", out_dir=str(folder), epochs=1), **QUIET)
    weights_file = folder / WEIGHTS_FILE
    data = weights_file.read_bytes()
    weights_file.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        load_checkpoint("mnist_cnn", folder)
    (folder / CARD_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid checkpoint card"):
        load_checkpoint("mnist_cnn", folder)
    with pytest.raises(CheckpointError, match="no checkpoint|does not exist"):
        load_checkpoint("mnist_cnn", tmp_path / "nowhere")


def test_augmentation_is_seeded_and_keeps_range():
    from digitzoo.train.augment import sketch_augment

    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(3)
    a = sketch_augment(x)
    torch.manual_seed(3)
    b = sketch_augment(x)
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1 and not torch.allclose(a, x)
