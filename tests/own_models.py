"""ONNX files of MNIST classifiers that the zoo did not make, for tests of "bring your own model".

The zoo's own exports all share one convention (NCHW, white ink on black in [0, 1], logits out), so
they cannot show that hub/serving/own_model.py and the page really find out how a stranger's file wants
its pixels. The files made here differ the way files found in the wild do: layout (NCHW, NHWC, flat
784), pixel convention (0..1, 0..255, MNIST-normalised), batch axis (dynamic, fixed at 1, symbolic),
head (logits or softmax) and exporter (torch, or onnx.helper without torch). Beside them are files a
checker must refuse, each wrong in one way.

Both writers are deterministic (seed 0) and quick on two cores: the torch models train for one short
pass, the linear one is fitted in closed form. They need MNIST (DIGITZOO_DATA; tests/conftest.py sets it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

OPSET = 17
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
TRAIN_COUNT = 20_000  # enough for >= 80% test accuracy in one pass, few enough for a few seconds

# How each good model wants its pixels (own_model.CONVENTIONS) and its image laid out.
CONVENTIONS = {"torch_nchw": "white01", "torch_nhwc_softmax": "white255", "helper_flat784": "mnist_norm"}
LAYOUTS = {"torch_nchw": "nchw", "torch_nhwc_softmax": "nhwc", "helper_flat784": "flat"}


# ---------------------------------------------------------------------------------------------- models


def small_cnn(channels: int = 1, side: int = 28) -> nn.Module:
    """conv 3x3 -> relu -> pool, twice, then one linear layer: a typical first MNIST CNN."""
    flat = 16 * (((side - 2) // 2 - 2) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 10),
    )


class NhwcSoftmaxMlp(nn.Module):
    """784 -> 64 -> 10 over (batch, 28, 28, 1) pixels in 0..255, probabilities out (a Keras-style file)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x / 255.0)  # softmax is added for export only: training wants the logits


class Softmaxed(nn.Module):
    """A trained module with softmax on top, so the file gives probabilities rather than logits."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.inner(x), dim=1)


# -------------------------------------------------------------------------------------------- training


def train_images(count: int = TRAIN_COUNT) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `count` MNIST train images (uint8, N x 28 x 28) and labels."""
    from digitzoo.hub.mnist import load_mnist

    images, labels = load_mnist(train=True)
    return images[:count], labels[:count]


def train_one_pass(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> nn.Module:
    """One epoch of Adam (lr 1e-3, batch 64), seeded: the same weights on every run."""
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(inputs))
    model.train()
    for start in range(0, len(inputs), 64):
        batch = order[start:start + 64]
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
        optimiser.step()
    return model.eval()


def ridge_classifier(images: np.ndarray, labels: np.ndarray, lam: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge regression onto one-hot targets over MNIST-normalised pixels: (W 784x10, b 10).

    The bias is a constant column that is not penalised, so the fit needs no centring.
    """
    x = normalise(images).reshape(len(images), 784).astype(np.float64)
    x = np.hstack([x, np.ones((len(x), 1))])
    targets = np.eye(10)[labels]
    penalty = lam * np.eye(785)
    penalty[-1, -1] = 0.0
    solution = np.linalg.solve(x.T @ x + penalty, x.T @ targets)
    return solution[:-1].astype(np.float32), solution[-1].astype(np.float32)


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> (pixel/255 - mean) / std, the torchvision tutorial's MNIST normalisation."""
    return ((images.astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD).astype(np.float32)


# ------------------------------------------------------------------------------------------- exporting


def export_torch(model: nn.Module, example: torch.Tensor, path: Path, dynamic_batch: bool) -> Path:
    """torch.onnx.export as most people call it (the TorchScript exporter), input "input", output "output"."""
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(model.eval(), (example,), str(path), input_names=["input"], output_names=["output"],
                      dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return path


def linear_graph(weights: np.ndarray, bias: np.ndarray, extra: list[onnx.TensorProto] = ()) -> onnx.ModelProto:
    """pixels (N, 784) -> MatMul W -> Add b -> scores (N, 10), made with onnx.helper alone (no torch)."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["pixels", "W"], ["projected"]),
         helper.make_node("Add", ["projected", "b"], ["scores"])],
        "flat784_linear",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 784])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b"), *extra],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="own_models")
    model.ir_version = 8  # what onnxruntime builds of the last few years all read
    onnx.checker.check_model(model)
    return model


# ------------------------------------------------------------------------------------------ good files


def write_good_models(out: Path) -> dict[str, Path]:
    """Three working MNIST classifiers (>= 80% on the test set, each in its own convention): name -> path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = train_images()
    return {
        "torch_nchw": write_torch_nchw(out / "torch_nchw.onnx", images, labels),
        "torch_nhwc_softmax": write_torch_nhwc_softmax(out / "torch_nhwc_softmax.onnx", images, labels),
        "helper_flat784": write_helper_flat784(out / "helper_flat784.onnx", images, labels),
    }


def write_torch_nchw(path: Path, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """The small CNN on (batch, 1, 28, 28) white-on-black in [0, 1], logits out, dynamic batch."""
    torch.manual_seed(0)
    model = train_one_pass(small_cnn(), images.unsqueeze(1).float() / 255.0, labels)
    return export_torch(model, torch.zeros(1, 1, 28, 28), path, dynamic_batch=True)


def write_torch_nhwc_softmax(path: Path, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """The MLP on (1, 28, 28, 1) pixels in 0..255, probabilities out, batch fixed at 1."""
    torch.manual_seed(0)
    model = train_one_pass(NhwcSoftmaxMlp(), images.unsqueeze(-1).float(), labels)
    return export_torch(Softmaxed(model), torch.zeros(1, 28, 28, 1), path, dynamic_batch=False)


def write_helper_flat784(path: Path, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """The ridge classifier on (N, 784) MNIST-normalised pixels, scores out; no torch in the file's making."""
    np.random.seed(0)  # the fit draws nothing at random; seeded all the same, as the brief for these files says
    weights, bias = ridge_classifier(images.numpy(), labels.numpy())
    onnx.save_model(linear_graph(weights, bias), str(path))
    return path


# --------------------------------------------------------------------------------------- refused files


def write_refused_models(out: Path) -> dict[str, Path]:
    """Files a checker must refuse, each wrong in one way: name -> path. Untrained: only their shape matters."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    return {
        "cifar": write_cifar(out / "cifar.onnx"),
        "two_scores": write_two_scores(out / "two_scores.onnx"),
        "two_outputs": write_two_outputs(out / "two_outputs.onnx"),
        "external_data": write_external_data(out / "external_data.onnx"),
        "truncated": write_truncated(out / "truncated.onnx"),
        "too_big": write_too_big(out / "too_big.onnx"),
    }


def write_cifar(path: Path) -> Path:
    """A CIFAR-10 classifier: (batch, 3, 32, 32) in, 10 out. The right head on the wrong images."""
    return export_torch(small_cnn(channels=3, side=32), torch.zeros(1, 3, 32, 32), path, dynamic_batch=True)


def write_two_scores(path: Path) -> Path:
    """An MNIST-shaped input with a 2-score output (a "digit or not" model, say): not a digit classifier."""
    model = small_cnn()
    model[-1] = nn.Linear(model[-1].in_features, 2)
    return export_torch(model, torch.zeros(1, 1, 28, 28), path, dynamic_batch=True)


class LogitsAndFeatures(nn.Module):
    """The small CNN giving its 10 logits and its 400 features: two outputs, which is one too many."""

    def __init__(self):
        super().__init__()
        self.inner = small_cnn()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.inner[:-1](x)
        return self.inner[-1](features), features


def write_two_outputs(path: Path) -> Path:
    """Two output tensors (logits and features): which one holds the scores is not the page's to guess."""
    torch.onnx.export(LogitsAndFeatures().eval(), (torch.zeros(1, 1, 28, 28),), str(path), input_names=["input"],
                      output_names=["logits", "features"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    return path


def write_external_data(path: Path) -> Path:
    """The CNN with every weight in <name>.data beside it: the .onnx alone, as uploaded, cannot run."""
    export_torch(small_cnn(), torch.zeros(1, 1, 28, 28), path, dynamic_batch=True)
    model = onnx.load_model(str(path))
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=f"{path.stem}.data", size_threshold=0)
    return path


def write_truncated(path: Path) -> Path:
    """The first half of a valid model's bytes, as an interrupted download leaves it."""
    whole = path.with_name(f"{path.stem}_whole.onnx")
    export_torch(small_cnn(), torch.zeros(1, 1, 28, 28), whole, dynamic_batch=True)
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[:len(data) // 2])
    return path


def write_too_big(path: Path) -> Path:
    """A real, runnable ONNX file over 60 MB: the linear classifier carrying an unused 15.1M-float tensor.

    Zeros compress away, but the limit is on the file as sent, so the size is honest.
    """
    ballast = numpy_helper.from_array(np.zeros(15_100_000, np.float32), "unused")
    model = linear_graph(np.zeros((784, 10), np.float32), np.zeros(10, np.float32), extra=[ballast])
    onnx.save_model(model, str(path))
    return path
