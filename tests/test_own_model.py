"""Your own model outside the browser: `digitzoo eval --onnx FILE` and `digitzoo list --table --with FILE`
(hub/serving/own_model.py) on ONNX files the zoo did not make (tests/own_models.py), the refusals, and
the shipped test digits both it and the page score on (hub/pretrained/digits, train/digit_sets.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from digitzoo.hub.serving import digit_sets, leaderboard, own_model
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.manifest import read_manifest
from own_models import CONVENTIONS, LAYOUTS


def cli(*args):
    return subprocess.run([sys.executable, "-m", "digitzoo.hub", *args], capture_output=True, text=True, timeout=300)


def test_each_model_made_elsewhere_is_read_in_its_own_convention(good):
    for name, path in good.items():
        evaluation = own_model.evaluate_onnx(path)
        assert evaluation["convention"] == CONVENTIONS[name], name
        assert evaluation["layout"] == LAYOUTS[name], name
        assert evaluation["output"] == ("probabilities" if name == "torch_nhwc_softmax" else "logits"), name
        test = evaluation["sets"]["mnist_test"]
        assert test["accuracy"] >= 80 and test["count"] == 10000, (name, test["accuracy"])
        assert sum(map(sum, test["confusion"])) == 10000 and sum(test["confusion"][i][i] for i in range(10)) == test["correct"]
        assert all(test["confusion"][truth][read] > 0 and truth != read for truth, read in
                   ((digit_sets.load("mnist_test")[1][i], read) for i, read in test["wrong"][:20]))
        # The choice was measured, not a default: each other convention is either clearly worse or, for
        # the CNN, within the slack of its own (and then the commoner, listed first, is taken).
        images, labels = digit_sets.load("mnist_test")
        model = own_model.OwnModel(path.read_bytes())
        head, truth = images[:own_model.DETECT_ON], labels[:own_model.DETECT_ON]
        correct = {c: int((model.run(head, c).argmax(1) == truth).sum()) for c in own_model.CONVENTIONS}
        mine = correct[CONVENTIONS[name]]
        assert mine >= max(correct.values()) - own_model.DETECT_SLACK, (name, correct)
        assert sum(n < mine - 2 * own_model.DETECT_SLACK for n in correct.values()) >= 2, (name, correct)


def test_the_cli_prints_the_same_figures_as_json_and_as_lines(good):
    path = good["helper_flat784"]
    out = cli("eval", "--onnx", str(path), "--json")
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed["sets"]["mnist_test"]["accuracy"] == own_model.evaluate_onnx(path)["sets"]["mnist_test"]["accuracy"]
    text = cli("eval", "--onnx", str(path))
    assert text.returncode == 0
    assert "normalised with MNIST's mean and std" in text.stdout
    assert f"{printed['sets']['redrawn_test']['accuracy']:6.2f}%" in text.stdout


def test_list_ranks_your_file_among_the_zoos_classifiers(good):
    path = good["torch_nchw"]
    out = cli("list", "--table", "--with", str(path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    mine = [line for line in lines if "(yours)" in line]
    assert len(mine) == 1 and mine[0].startswith(f"{path.name} (yours)")
    accuracies = [float(line.split()[2] if "(yours)" in line else line.split()[1]) for line in lines[1:]]
    assert accuracies == sorted(accuracies, reverse=True)  # ranked by test accuracy
    assert len(lines) == 1 + 1 + len(leaderboard.classifiers(read_manifest()))  # the header, yours, the zoo's
    assert cli("list", "--with", str(path)).returncode == 2  # --with belongs to --table


REFUSED = {  # the whole sentence, where it does not depend on the runtime's words
    "cifar": "The input is 3x32x32; an MNIST classifier takes 1x28x28 (or 28x28x1, 28x28, 784) per image.",
    "two_scores": "The output is 2; an MNIST classifier gives 10 scores, one per digit.",
    "two_outputs": "The model has 2 outputs; an MNIST classifier gives one, 10 scores.",
    "external_data": own_model.SENTENCES["external"],
}


def test_each_refusal_is_one_sentence_naming_what_is_wrong(refused):
    for name, path in refused.items():
        with pytest.raises(DigitzooError) as refusal:
            own_model.evaluate_onnx(path)
        said = str(refusal.value)
        if name in REFUSED:
            assert said == REFUSED[name]
        elif name == "truncated":
            assert said.startswith("This is not a complete ONNX model (")
        else:
            assert said == f"The file is {path.stat().st_size / 1e6:.1f} MB; a model here may be at most 50 MB."
            assert path.stat().st_size > 60e6
    out = cli("eval", "--onnx", str(refused["cifar"]))  # the CLI: the sentence on one line, no traceback
    assert out.returncode == 2 and out.stderr.strip().endswith(REFUSED["cifar"]) and "Traceback" not in out.stderr


def test_the_shipped_digits_are_mnists_and_their_redrawing(mnist_test):
    from digitzoo.train.digit_sets import make_sets

    images, labels = mnist_test
    for name in ("mnist_test", "redrawn_test"):
        shipped, shipped_labels = digit_sets.load(name)
        assert shipped.shape == (10000, 28, 28) and np.array_equal(shipped_labels, labels.numpy())
    assert np.array_equal(digit_sets.load("mnist_test")[0], images.numpy())
    # The re-drawn set is train/sketches.py's, seed 0: the first 100 made again are the same bytes.
    again = make_sets(count=100)["redrawn_test"][0]
    assert again[:100 * 784] == digit_sets.load("redrawn_test")[0][:100].tobytes()


def test_a_damaged_digit_set_is_refused(tmp_path):
    import shutil

    shutil.copytree(digit_sets.SHIPPED_DIR, tmp_path / "digits")
    (tmp_path / "digits" / "mnist_test.u8.gz").write_bytes(b"not the digits")
    with pytest.raises(DigitzooError, match="could not be read"):
        digit_sets.load("mnist_test", tmp_path / "digits")


def test_pixels_follow_each_convention():
    p = np.array([[[0, 255, 51]]], np.uint8)
    assert own_model.pixels(p, "white01").tolist() == [[[0.0, 1.0, np.float32(0.2)]]]
    assert own_model.pixels(p, "white255").tolist() == [[[0.0, 255.0, 51.0]]]
    assert own_model.pixels(p, "black01")[0, 0, 1] == 0.0
    assert abs(own_model.pixels(p, "mnist_norm")[0, 0, 0] - (-0.1307 / 0.3081)) < 1e-6
