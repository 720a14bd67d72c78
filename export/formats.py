"""The three exporters; what they write is opened for verification by ``digitzoo.hub.serving.runtime``.

Each exporter writes exactly one self-contained file at ``path`` and returns a short note of
how (the ONNX exporter used). The batch dimension is dynamic in every format.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from digitzoo.hub.registry import PartSpec
from digitzoo.hub.torch_files import torchscript_deprecation_ignored

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


def _dynamic_batch(part: PartSpec) -> tuple:
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    return tuple({0: batch} for _ in part.inputs)


def export_torchscript(module: nn.Module, example: tuple, part: PartSpec, path: Path) -> str:
    with torchscript_deprecation_ignored(), torch.no_grad():
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
    with torchscript_deprecation_ignored(), _exporter_chatter_captured():
        torch.onnx.export(module, example, str(path), dynamo=False, opset_version=18,
                          dynamic_axes={n: {0: "batch"} for n in names["input_names"] + names["output_names"]},
                          **names)
    return f"torchscript fallback (opset 18; dynamo failed: {first})"


EXPORTERS = {"onnx": (".onnx", export_onnx), "torchscript": (".pt", export_torchscript), "pt2": (".pt2", export_pt2)}
