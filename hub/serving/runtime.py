"""Run exported models with ONNX Runtime: no torch (TorchScript and torch.export: digitzoo.hub.torch_files).

Files are found through the manifest and checked against its sha256 before they are opened;
a file that is not what it claims to be (truncated, random bytes, another format) gives a
one-line DigitzooError instead of a runtime's stack trace. Files are also checked for what the
runtimes would do beyond reading weights, before a runtime sees them: an ONNX file that reads
external data (which the manifest's sha256 does not cover) and a .pt2 archive whose loading would
unpickle anything (``torch.export.load`` runs pickles it finds in the archive) are refused.

>>> classify = load_part("mnist_cnn")
>>> logits, = classify(np.zeros((1, 1, 28, 28), np.float32))
>>> logits.shape
(1, 10)
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.filechecks import first_line, refuse_onnx_external_data
from digitzoo.hub.serving.files import read_inside
from digitzoo.hub.serving.manifest import Artifact, artifact, exports_root, read_manifest

BACKEND_FORMATS = {"onnx": "onnx", "torchscript": "torchscript", "pt2": "pt2"}


def cuda_usable() -> bool:
    """True when ONNX Runtime can really run on an NVIDIA GPU here (not merely has the provider)."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    if not (Path("/dev/nvidiactl").exists() or os.environ.get("CUDA_VISIBLE_DEVICES")):
        return False  # no driver: asking for CUDA would only print errors
    try:
        ort.preload_dlls()  # CUDA/cuDNN from the nvidia-* wheels, when installed
    except Exception:  # noqa: BLE001 - older runtimes lack it; the session check below decides
        pass
    return True


def open_onnx(path: str | os.PathLike, device: str = "auto", threads: int | None = None, spinning: bool = True,
              data: bytes | None = None):
    """(runner, device label) for an ONNX file (``data``: its bytes, already read and checked); DigitzooError
    when it is not a valid model. The runtime is given the bytes that were checked, never the path again."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: CPU-only machines should not read CUDA warnings
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        # Idle ORT worker threads busy-wait for more work after each run; in a web server that
        # is CPU taken from the threads that answer the request.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    want_cuda = device == "cuda" or (device == "auto" and cuda_usable())
    if device == "cuda" and not cuda_usable():
        raise DigitzooError("--device cuda: ONNX Runtime has no usable CUDA GPU here; use --device cpu or auto")
    providers = (["CUDAExecutionProvider"] if want_cuda else []) + ["CPUExecutionProvider"]
    data = Path(path).read_bytes() if data is None else data
    refuse_onnx_external_data(data, path)
    try:
        session = ort.InferenceSession(data, options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises several types for bad files
        raise DigitzooError(f"{path} is not a valid ONNX model ({first_line(exc)})") from None
    names = [i.name for i in session.get_inputs()]
    label = "cuda" if session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
    return (lambda *arrays: session.run(None, dict(zip(names, arrays)))), f"onnxruntime-{label}"


def open_file(path: str | os.PathLike, fmt: str, device: str = "auto", threads: int | None = None,
              spinning: bool = True, data: bytes | None = None):
    """(runner, device label) for an exported ONNX file; ``data``: its bytes when the caller has read and
    checked them (``read_artifact``), else the file is read here once.

    The serving core runs ONNX only, so that it needs no torch; ``digitzoo.hub.torch_files.open_file``
    has the same signature and runs TorchScript and torch.export files too (pass it as ``load_part``'s
    ``opener``).

    >>> run, label = open_file(exports_root() / "mnist_cnn/mnist_cnn.onnx", "onnx", device="cpu")
    >>> run(np.zeros((1, 1, 28, 28), np.float32))[0].shape, label
    ((1, 10), 'onnxruntime-cpu')
    """
    if fmt == "onnx":
        return open_onnx(path, device, threads, spinning, data)
    if fmt in ("torchscript", "pt2"):
        raise DigitzooError(f"{path}: a {fmt} file needs torch (digitzoo.hub.torch_files.open_file opens it)")
    raise DigitzooError(f"format must be one of onnx, torchscript, pt2, not {fmt!r}")


@dataclass
class Part:
    """A loaded exported part: call it with numpy arrays, get a list of numpy arrays."""

    model: str
    part: str
    backend: str
    device: str
    path: Path
    run: Callable[..., list]
    entry: Artifact = field(repr=False)

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.run(*arrays)

    def timed(self, *arrays: np.ndarray) -> tuple[list[np.ndarray], float]:
        """The outputs and the milliseconds this call took (kept by the caller: a Part is shared by
        every request at once, so a time stored on it would be whichever call ended last)."""
        began = time.perf_counter()
        out = self.run(*arrays)
        return out, (time.perf_counter() - began) * 1000


def load_part(model: str, part: str = "model", backend: str = "onnx", device: str = "auto",
              root: str | os.PathLike | None = None, threads: int | None = None, spinning: bool = True,
              opener: Callable = open_file) -> Part:
    """Open the verified exported file of ``model``/``part`` for ``backend``.

    ``opener`` runs the file: this module's ONNX-only ``open_file``, or for the torch backends
    ``digitzoo.hub.torch_files.open_file`` (same signature).
    """
    if backend not in BACKEND_FORMATS:
        raise DigitzooError(f"backend must be one of {', '.join(BACKEND_FORMATS)}, not {backend!r}")
    root = Path(root) if root else exports_root()
    manifest = read_manifest(root)
    item = artifact(manifest, model, part, BACKEND_FORMATS[backend])
    data = read_artifact(root, item)
    path = root / item.file
    run, label = opener(path, BACKEND_FORMATS[backend], device, threads, spinning, data)
    return Part(model, part, backend, label, path, run, item)


def read_artifact(root: str | os.PathLike, item: Artifact) -> bytes:
    """The bytes of a manifest entry's file, read through no link (``files.open_inside``) and matching its
    sha256; DigitzooError otherwise. The runtime then opens these bytes, not the path, so a file swapped
    for another (or for a link) after the check is never what runs.

    >>> item = artifact(read_manifest(), "mnist_cnn", "model", "onnx")
    >>> hashlib.sha256(read_artifact(exports_root(), item)).hexdigest() == item.sha256
    True
    """
    path = Path(root) / item.file
    try:
        data = read_inside(root, item.file)
    except FileNotFoundError:
        raise DigitzooError(f"{path} is listed in the manifest but missing") from None
    except (ValueError, OSError) as exc:
        raise DigitzooError(f"manifest entry refused: {exc}") from None
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise DigitzooError(f"{path} does not match the sha256 in the manifest: refusing to load it")
    return data
