"""Run TorchScript (.pt) and torch.export (.pt2) files: the part of running exports that needs torch.

The serving core (``digitzoo.hub.serving``) runs ONNX without torch; this module adds the torch
formats on top of it, with the same care: the archive is inspected with the standard library
(``filechecks.check_torch_archive``) before torch parses a byte of it, and the one pickle a .pt2 of
ours holds must load with torch's weights-only unpickler.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Callable

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.filechecks import check_torch_archive, first_line
from digitzoo.hub.serving import runtime
from digitzoo.hub.serving.runtime import Part, open_onnx


def open_file(path: str | os.PathLike, fmt: str, device: str = "auto", threads: int | None = None,
              spinning: bool = True, data: bytes | None = None):
    """(runner, device label) for an exported file of format ``fmt`` (onnx, torchscript, pt2); ``data``: its
    bytes when the caller has read and checked them (``read_artifact``), else the file is read here once.

    The one place that knows how to run every format: the exporter's verification, the benchmarks
    and ``digitzoo serve --backend torchscript`` come through here; the serving core's ONNX-only
    ``open_file`` has the same signature.
    """
    if fmt == "onnx":
        return open_onnx(path, device, threads, spinning, data)
    if fmt in ("torchscript", "pt2"):
        return open_torch(path, fmt, device, threads, data)
    raise DigitzooError(f"format must be one of onnx, torchscript, pt2, not {fmt!r}")


def load_part(*args, **kwargs) -> Part:
    """``digitzoo.hub.serving.runtime.load_part`` for every backend (onnx, torchscript, pt2)."""
    return runtime.load_part(*args, opener=open_file, **kwargs)


def open_torch(path: str | os.PathLike, fmt: str, device: str = "auto", threads: int | None = None,
               data: bytes | None = None):
    """(runner, device label) for a TorchScript .pt or torch.export .pt2 file (``data``: its bytes, already
    read and checked).

    The module is moved to the device the label names, and inputs follow it there, so a
    "torchscript-cuda" answer really ran on the GPU.
    """
    data = Path(path).read_bytes() if data is None else data  # checked and loaded from the same bytes
    sample_inputs = check_torch_archive(path, fmt, data)  # before torch parses a byte of it
    import torch

    for name, data in sample_inputs:
        refuse_unsafe_pickle(path, fmt, name, data)
    if device == "cuda" and not torch.cuda.is_available():
        raise DigitzooError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu or auto")
    if threads:
        torch.set_num_threads(threads)
    dev = "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"
    try:
        # torch.export.load (torch 2.15) fails on an in-memory archive, so a .pt2 is loaded by path: its bytes
        # were checked just before, and the served ONNX files and TorchScript load from the checked bytes.
        module = _load_torchscript(io.BytesIO(data)) if fmt == "torchscript" else _load_pt2(Path(path))
        runner = torch_runner(module.to(dev), dev)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad archives
        raise DigitzooError(f"{path} is not a valid {fmt} file ({first_line(exc)})") from None
    return runner, f"{fmt}-{dev}"


def torch_runner(module, device: str = "cpu") -> Callable[..., list]:
    """A callable taking numpy arrays and returning a list of numpy arrays, for any torch module."""
    import warnings

    import torch

    def run(*arrays):
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"_check_is_size will be removed")
            out = module(*[torch.from_numpy(a).to(device) for a in arrays])
        return [o.cpu().numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]
    return run


@contextlib.contextmanager
def torchscript_deprecation_ignored():
    """TorchScript is deprecated upstream but still what many users load: silence only that warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*TorchScript.*deprecated", category=DeprecationWarning)
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


def _load_torchscript(archive: io.BytesIO):
    import torch

    with torchscript_deprecation_ignored():
        return torch.jit.load(archive, map_location="cpu").eval()


def _load_pt2(path: Path):
    import torch

    # The deserialiser logs unused size symbols of the LSTM's loop as warnings: not actionable.
    # torch.export.load itself ("torch.export") logs a whole traceback at warning level before
    # raising for a damaged archive; the caller turns the exception into one line.
    with _quiet_loggers("torch._export.serde.serialize", "torch.export.pt2_archive._package", "torch.export"):
        return torch.export.load(str(path)).module()


def refuse_unsafe_pickle(path, fmt: str, name: str, data: bytes) -> None:
    """A pickle inside an archive must load with torch's restricted unpickler, or the file is refused."""
    import torch

    try:
        torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - UnpicklingError, RuntimeError, ... all mean: refuse
        raise DigitzooError(f"{path} is not a valid {fmt} file ({name} is a pickle of more than tensors, "
                            "which torch's weights-only loader refuses; digitzoo will not unpickle it)") from None
