"""The three exporters and the loaders used to verify what they wrote.

Each exporter writes exactly one self-contained file at ``path`` and returns a short note of
how (the ONNX exporter used). The batch dimension is dynamic in every format.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from hub.registry import PartSpec

ONNX_OPSET = 20
MAX_BATCH = 65536


class _OneInput(nn.Module):
    """Exposes ``module.<method>`` as ``forward`` so every exporter sees a plain module."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, a):
        return getattr(self.module, self.method)(a)


class _TwoInputs(_OneInput):
    def forward(self, a, b):
        return getattr(self.module, self.method)(a, b)


def part_module(model: nn.Module, part: PartSpec) -> nn.Module:
    """The eval-mode module that computes ``part`` of ``model``."""
    module = model if part.module is None else getattr(model, part.module)
    wrapper = {1: _OneInput, 2: _TwoInputs}[len(part.inputs)]
    return wrapper(module, part.method).eval()


@contextlib.contextmanager
def _torchscript_deprecation_ignored():
    """TorchScript is deprecated upstream but still what many users load: silence only that warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*TorchScript.*deprecated", category=DeprecationWarning)
        yield


def _dynamic_batch(part: PartSpec) -> tuple:
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    return tuple({0: batch} for _ in part.inputs)


def export_torchscript(module: nn.Module, example: tuple, part: PartSpec, path: Path) -> str:
    with _torchscript_deprecation_ignored(), torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, str(path))
    return "torch.jit.trace"


@contextlib.contextmanager
def _exporter_chatter_captured():
    """The exporters narrate progress on stdout and as warnings; keep the user's terminal for results."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # nn.LSTM re-assigns its flat weight list while being traced; harmless for export.
        warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights")
        warnings.filterwarnings("ignore", message=r"_check_is_size will be removed")
        warnings.filterwarnings("ignore", message=r".*The axis name: .* will not be used")
        yield


@contextlib.contextmanager
def _quiet_loggers(*names: str):
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_pt2(module: nn.Module, example: tuple, part: PartSpec, path: Path) -> str:
    with _exporter_chatter_captured():
        program = torch.export.export(module, example, dynamic_shapes=_dynamic_batch(part))
        torch.export.save(program, str(path))
    return "torch.export"


def export_onnx(module: nn.Module, example: tuple, part: PartSpec, path: Path) -> str:
    """Dynamo exporter first; the TorchScript-based exporter where dynamo fails for this part."""
    names = dict(input_names=[t.name for t in part.inputs], output_names=[t.name for t in part.outputs])
    try:
        with _exporter_chatter_captured():
            program = torch.onnx.export(module, example, dynamo=True, opset_version=ONNX_OPSET,
                                        dynamic_shapes=_dynamic_batch(part), external_data=False,
                                        optimize=True, **names)
            program.save(str(path), external_data=False)
        return f"dynamo (opset {ONNX_OPSET})"
    except Exception as dynamo_error:  # noqa: BLE001 - any exporter failure means: try the other one
        first = f"{type(dynamo_error).__name__}: {str(dynamo_error).splitlines()[0][:200]}"
    with _torchscript_deprecation_ignored(), _exporter_chatter_captured():
        torch.onnx.export(module, example, str(path), dynamo=False, opset_version=18,
                          dynamic_axes={n: {0: "batch"} for n in names["input_names"] + names["output_names"]},
                          **names)
    return f"torchscript fallback (opset 18; dynamo failed: {first})"


EXPORTERS = {"onnx": (".onnx", export_onnx), "torchscript": (".pt", export_torchscript), "pt2": (".pt2", export_pt2)}


# Loaders: each returns a callable taking numpy arrays and returning a list of numpy arrays.

def load_onnx(path: Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda *arrays: session.run(None, dict(zip(names, arrays)))


def _torch_runner(module):
    def run(*arrays):
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"_check_is_size will be removed")
            out = module(*[torch.from_numpy(a) for a in arrays])
        return [o.numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]
    return run


def load_torchscript(path: Path):
    with _torchscript_deprecation_ignored():
        return _torch_runner(torch.jit.load(str(path), map_location="cpu").eval())


def load_pt2(path: Path):
    # The deserialiser logs unused size symbols of the LSTM's loop as warnings: not actionable.
    # torch.export.load itself ("torch.export") logs a whole traceback at warning level before
    # raising for a damaged archive; the caller turns the exception into one line.
    with _quiet_loggers("torch._export.serde.serialize", "torch.export.pt2_archive._package", "torch.export"):
        return _torch_runner(torch.export.load(str(path)).module())


LOADERS = {"onnx": load_onnx, "torchscript": load_torchscript, "pt2": load_pt2}
