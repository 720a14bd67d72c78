"""Training under torchrun: 2 CPU processes (gloo) through the real launcher, and the pure parts.

What runs here: `digitzoo train NAME --nproc-per-node 2` and `torchrun -m digitzoo.train` by
hand, as child processes with 1 thread per rank; a world-size-2 run against a world-size-1 run
of the same seed and global batch; the checkpoint through `digitzoo eval`; SIGKILL of rank 1
mid-run, then --resume at world size 2 and at world size 1. What does not: CUDA/nccl (no GPU
here), so backend and device choice and the card's labels are tested as pure functions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from digitzoo.hub.checkpoint import CARD_FILE, load_checkpoint, load_tensors, read_card
from digitzoo.cli import main
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.train import distributed
from digitzoo.train.launch import torchrun_command, worker_args
from digitzoo.train.loop import RESUME_FILE, TrainConfig, _command, train

CNN = "mnist_cnn"
SMALL = ["--limit-train", "4096", "--epochs", "1", "--batch-size", "64", "--threads", "1", "--sketch-eval", "0",
         "--limit-test", "1000", "--device", "cpu"]
# Final test accuracy (1,000 test images) of SMALL at world size 2 vs world size 1, same seed and
# global batch. Measured on this 2-core machine, seeds 0, 1, 2: world size 1 0.931, 0.932, 0.944;
# world size 2 0.937, 0.931, 0.932; gaps +0.6, -0.1, -1.2 points, and world size 1 alone spread
# over 1.3 points across seeds (BatchNorm over 32 instead of 64 images and other augmentation
# draws make world size 2 another sample of the same recipe, not the same numbers). 3 points is
# 2.5x the largest gap seen. A step or schedule off by the world size (say, twice the steps of
# half batches) would show here; gradient averaging itself is checked exactly, below, on the
# autoencoder.
ACCURACY_TOLERANCE = 0.03


def cli(*args, env=None, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitzoo.hub", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def torchrun(*args, env=None, timeout=240) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node 2 -m digitzoo.train ...` by hand (no digitzoo launcher)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "--max-restarts", "0",
           "-m", "digitzoo.train", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


# ---- pure parts: no process group, no GPU ---------------------------------------------------

def test_backend_and_device_of_a_rank():
    assert distributed.placement("auto", True, 4, 3) == ("nccl", "cuda:3")
    assert distributed.placement("cuda", True, 2, 0) == ("nccl", "cuda:0")
    assert distributed.placement("auto", False, 0, 1) == ("gloo", "cpu")
    assert distributed.placement("cpu", True, 8, 5) == ("gloo", "cpu")  # --device cpu on a GPU machine
    with pytest.raises(DigitzooError, match="no CUDA GPU"):
        distributed.placement("cuda", False, 0, 0)
    with pytest.raises(DigitzooError, match="local rank 2 has no GPU of its own: this node has 2"):
        distributed.placement("auto", True, 2, 2)
    with pytest.raises(DigitzooError, match="auto, cpu or cuda"):
        distributed.placement("tpu", False, 0, 0)


def test_card_labels_of_a_cuda_run():
    labels = [distributed.device_label(f"cuda:{i}", 8, "NVIDIA H100 80GB HBM3", "node1") for i in range(2)]
    assert labels == ["node1 cuda:0 (NVIDIA H100 80GB HBM3)", "node1 cuda:1 (NVIDIA H100 80GB HBM3)"]
    assert distributed.device_label("cpu", 1).startswith("cpu (1 threads, ")
    rank = distributed.Rank(rank=0, world_size=4, local_rank=0, local_world_size=2, backend="nccl",
                            device=torch.device("cuda:0"), devices=labels * 2)
    assert rank.card() == {"world_size": 4, "backend": "nccl", "devices": labels * 2, "nodes": 2}
    command = _command(TrainConfig(name=CNN, epochs=3), rank)
    assert command.endswith("--epochs 3 --nproc-per-node 2 --nnodes 2 --rdzv-endpoint HOST:PORT")


def test_shards_and_seeds():
    idx = torch.arange(64)
    ranks = [distributed.Rank(r, 2, r, 2, "gloo", torch.device("cpu")) for r in range(2)]
    assert torch.equal(torch.cat([r.shard(idx) for r in ranks]), idx)  # the global batch, split
    assert [r.step_seed(1000) for r in ranks] == [2000, 2001]
    single = distributed.Rank(0, 1, 0, 1, "gloo", torch.device("cpu"))
    assert single.step_seed(1000) == 1000 and torch.equal(single.shard(idx), idx)
    distributed.check_global_batch(64, 2)
    with pytest.raises(DigitzooError, match="global batch 64 does not split over 3 processes"):
        distributed.check_global_batch(64, 3)
    assert distributed.under_torchrun({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "x",
                                       "MASTER_PORT": "1"})
    assert not distributed.under_torchrun({"RANK": "0"})


def test_the_launcher_passes_every_flag_on():
    config = TrainConfig(name=CNN, epochs=2, lr=0.004, resume=True, threads=1, out_dir="/x")
    assert worker_args(config) == [CNN, "--epochs", "2", "--lr", "0.004", "--threads", "1", "--out-dir", "/x", "--resume"]
    cmd = torchrun_command(config, 2)
    assert cmd[cmd.index("--max-restarts") + 1] == "0" and "--standalone" in cmd
    assert cmd[cmd.index("-m", 3):][:2] == ["-m", "digitzoo.train"]
    multi = torchrun_command(config, 4, "2", "head:29500")
    assert "--standalone" not in multi and multi[multi.index("--rdzv-endpoint") + 1] == "head:29500"
    with pytest.raises(DigitzooError, match="needs --rdzv-endpoint"):
        torchrun_command(config, 4, "2")


def test_a_batch_that_does_not_split_is_one_line(capsys):
    assert main(["train", CNN, "--nproc-per-node", "3", "--batch-size", "64", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["digitzoo: error: the global batch 64 does not split over 3 processes; use a --batch-size divisible by 3"]


# ---- real runs: torchrun, gloo, 2 processes -------------------------------------------------

@pytest.fixture(scope="module")
def world2(tmp_path_factory):
    """`digitzoo train mnist_cnn --nproc-per-node 2` into a private store: (store, stdout, stderr)."""
    home = tmp_path_factory.mktemp("w2-home")
    began = time.monotonic()
    out = cli("train", CNN, *SMALL, "--nproc-per-node", "2", env={"DIGITZOO_HOME": str(home)})
    assert out.returncode == 0, out.stderr[-3000:]
    print(f"world size 2 run: {time.monotonic() - began:.1f} s")
    return home, out.stdout, out.stderr


def test_world_size_2_trains_like_world_size_1(world2, tmp_path, store, one_thread):
    home, stdout, stderr = world2
    w2 = json.loads(stdout)  # rank 0 alone prints its result ...
    assert stderr.count("metrics:") == 1 and stderr.count("config:") == 1  # ... and its log
    card = read_card(home / "checkpoints" / CNN)
    assert card["distributed"]["world_size"] == 2 and card["distributed"]["backend"] == "gloo"
    assert len(card["distributed"]["devices"]) == 2 and all(" cpu (1 threads" in d for d in card["distributed"]["devices"])
    assert card["steps"] == 4096 // 64  # the global batch, not the per-rank one, sets the steps
    assert card["command"].endswith("--nproc-per-node 2")

    config = TrainConfig(name=CNN, limit_train=4096, epochs=1, batch_size=64, threads=1, sketch_eval=0, limit_test=1000,
                         device="cpu", out_dir=str(tmp_path / CNN))
    w1 = train(config, log=lambda msg: None)
    assert "distributed" not in w1  # a single-process card is as it was
    gap = w2["metrics"]["test_accuracy"] - w1["metrics"]["test_accuracy"]
    print(f"test accuracy: world size 1 {w1['metrics']['test_accuracy']:.4f}, 2 {w2['metrics']['test_accuracy']:.4f}")
    assert abs(gap) <= ACCURACY_TOLERANCE, (w1["metrics"], w2["metrics"])


def test_the_checkpoint_of_world_size_2_loads_and_evaluates(world2, monkeypatch, capsys):
    home, stdout, _ = world2
    monkeypatch.setenv("DIGITZOO_HOME", str(home))
    assert main(["eval", CNN, "--json", "--limit-test", "1000", "--sketch-eval", "0", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checkpoint"] == str(home / "checkpoints" / CNN)
    assert abs(report["metrics"]["test_accuracy"] - json.loads(stdout)["metrics"]["test_accuracy"]) <= 0.002


def test_gradients_are_averaged_over_ranks(tmp_path, store, one_thread):
    """The autoencoder has no BatchNorm, dropout or augmentation: its gradient over 2 x 32 images,
    averaged, is its gradient over the 64, so torchrun by hand must give world size 1's weights
    up to float rounding. Each rank stepping on its own half would not: 4 steps on 32 images
    instead of 64 (seed 0) end 7e-3 away from the 64-image weights."""
    name = "mnist_ae3d"
    flags = ["--limit-train", "256", "--epochs", "1", "--batch-size", "64", "--threads", "1", "--sketch-eval", "0",
             "--limit-test", "100", "--device", "cpu"]
    out = torchrun(name, *flags, "--out-dir", str(tmp_path / "w2" / name))
    assert out.returncode == 0, out.stderr[-3000:]
    assert read_card(tmp_path / "w2" / name)["distributed"]["world_size"] == 2
    train(TrainConfig(name=name, limit_train=256, epochs=1, batch_size=64, threads=1, sketch_eval=0, limit_test=100,
                      device="cpu", out_dir=str(tmp_path / "w1" / name)), log=lambda msg: None)
    a = load_checkpoint(name, tmp_path / "w1" / name)[0].state_dict()
    b = load_checkpoint(name, tmp_path / "w2" / name)[0].state_dict()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    print(f"largest weight difference, world size 2 vs 1: {worst:.2e}")
    assert worst < 1e-5  # measured: 3e-8


def test_the_gan_trains_with_two_optimizers(tmp_path, store):
    name = "mnist_gan"
    out = torchrun(name, "--limit-train", "256", "--epochs", "1", "--batch-size", "64", "--threads", "1",
                   "--limit-test", "100", "--device", "cpu", "--out-dir", str(tmp_path / name))
    assert out.returncode == 0, out.stderr[-3000:]
    card = read_card(tmp_path / name)
    assert card["steps"] == 4 and card["distributed"]["world_size"] == 2
    assert json.loads(out.stdout)["name"] == name  # rank 0's line, once


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rank_of(pid: int) -> int | None:
    try:
        env = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    except OSError:
        return None
    return int(env["RANK"]) if "RANK" in env and "LOCAL_RANK" in env else None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks through /proc")
def test_killing_one_rank_stops_the_run_and_it_resumes_at_any_world_size(tmp_path, store):
    out = tmp_path / "killed" / CNN
    flags = [CNN, "--limit-train", "2048", "--epochs", "2", "--batch-size", "64", "--threads", "1", "--sketch-eval", "0",
             "--limit-test", "200", "--device", "cpu", "--checkpoint-every", "4", "--out-dir", str(out)]
    launcher = subprocess.Popen([sys.executable, "-m", "digitzoo.hub", "train", *flags, "--nproc-per-node", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / RESUME_FILE).exists():  # rank 0 has saved a state: now kill rank 1
        assert launcher.poll() is None, launcher.stderr.read()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    tree = _descendants(launcher.pid)  # torchrun's agent and the two ranks
    victims = [pid for pid in tree if _rank_of(pid) == 1]
    assert len(victims) == 1, victims
    os.kill(victims[0], signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=120)
    assert launcher.returncode != 0, stderr[-3000:]
    assert "training failed under torchrun" in stderr
    assert not (out / CARD_FILE).exists()  # a killed run never looks finished
    assert not [pid for pid in tree if Path(f"/proc/{pid}").exists()]  # no rank left behind
    tensors, meta = load_tensors(out / RESUME_FILE)  # the state rank 0 wrote is whole
    saved = json.loads(meta["state"])["step"]
    assert saved % 4 == 0 and 0 < saved < 64 and tensors

    at_one = tmp_path / "at-one" / CNN
    shutil.copytree(out, at_one)
    for folder, launch in ((out, ["--nproc-per-node", "2"]), (at_one, [])):
        done = cli("train", *flags[:-1], str(folder), "--resume", *launch)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"resumed {CNN} from step {saved}/64" in done.stderr
        card = read_card(folder)
        assert card["steps"] == 64 and not (folder / RESUME_FILE).exists()
        assert ("distributed" in card) == bool(launch)
        assert card["metrics"]["test_accuracy"] > 0.7
