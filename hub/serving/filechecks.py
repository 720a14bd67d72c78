"""Checks on files before a runtime opens them: what the runtimes would do beyond reading weights.

The manifest's sha256 says a file is the one that was exported; these checks refuse files whose
loading could reach beyond themselves, before onnxruntime or torch parses a byte: an ONNX file
that reads external data (not covered by the sha256), and a TorchScript / torch.export archive
that is not what torch.save writes or whose loading would unpickle objects (``torch.export.load``
runs pickles it finds in an archive). Standard library only, so the serving path stays light.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

from digitzoo.hub.serving.errors import DigitzooError


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, cut to 200 characters (runtimes' messages
    can start with a newline or run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


# --- ONNX: refuse external data ------------------------------------------------------------------
# Our exports are one self-contained file each. An ONNX file can instead name other files to read
# its weights from ("external data"); those bytes are not covered by the manifest's sha256, and a
# location such as "../../../etc/passwd" or "/etc/passwd" would make the runtime read outside the
# exports folder. ONNX Runtime 1.31 itself refuses locations that leave the model's folder
# (absolute paths, "..", symlinks), but it reads in-folder ones, and older runtimes checked less.
# So any external data is refused here, before a session is created.
#
# Why a hand-written scan of the protobuf wire format rather than `onnx.load(...,
# load_external_data=False)`: `import onnx` costs ~0.2 s of server start-up, and the Space this
# code also runs in installs onnxruntime but not onnx. ONNX Runtime has no API that says whether a
# model uses external data. The scan below walks only the messages that can hold a TensorProto
# (field numbers from onnx.proto) and skips every other field by its length, so it costs a few ms
# for a 7 MB model. Anything it cannot parse is refused as not a valid ONNX model.

_ONNX_CHILDREN = {  # message -> {field number: message of that field} on every path to a TensorProto
    "model": {7: "graph", 20: "training", 25: "function"},  # ModelProto: graph, training_info, functions
    "graph": {1: "node", 5: "tensor", 15: "sparse"},  # GraphProto: node, initializer, sparse_initializer
    "node": {5: "attribute"},  # NodeProto.attribute
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},  # SparseTensorProto: values, indices
    "function": {7: "node", 11: "attribute"},  # FunctionProto: node, attribute_proto
    "training": {1: "graph", 2: "graph"},  # TrainingInfoProto: initialization, algorithm
    "tensor": {},
}
_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION, _EXTERNAL = 13, 14, 1


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def onnx_uses_external_data(data: bytes) -> bool:
    """True when any tensor of a serialized ModelProto lives in an external file; ValueError if it is not protobuf.

    >>> from digitzoo.hub.serving.manifest import exports_root
    >>> onnx_uses_external_data((exports_root() / "mnist_cnn/mnist_cnn.onnx").read_bytes())
    False
    """
    buf = memoryview(data)
    stack = [("model", 0, len(buf))]  # iterative: nesting depth cannot exhaust Python's stack
    while stack:
        kind, pos, end = stack.pop()
        children = _ONNX_CHILDREN[kind]
        while pos < end:
            tag, pos = _varint(buf, pos, end)
            field, wire = tag >> 3, tag & 7
            if kind == "tensor" and (field == _TENSOR_EXTERNAL_DATA
                                     or (field == _TENSOR_DATA_LOCATION and wire != 0)):
                return True
            if wire == 0:
                value, pos = _varint(buf, pos, end)
                if kind == "tensor" and field == _TENSOR_DATA_LOCATION and value == _EXTERNAL:
                    return True
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                length, pos = _varint(buf, pos, end)
                if pos + length > end:
                    raise ValueError("a field runs past the end of its message")
                if field in children:
                    stack.append((children[field], pos, pos + length))
                pos += length
            else:  # groups (3, 4) are not used by ONNX; 6 and 7 do not exist
                raise ValueError(f"wire type {wire} is not used by ONNX")
            if pos > end:
                raise ValueError("a field runs past the end of its message")
    return False


def refuse_onnx_external_data(data: bytes, path: str | os.PathLike) -> None:
    """DigitzooError unless ``data`` (the bytes of ``path``) is an ONNX model that keeps all its weights inside itself."""
    try:
        external = onnx_uses_external_data(data)
    except ValueError as exc:
        raise DigitzooError(f"{path} is not a valid ONNX model ({exc})") from None
    if external:
        raise DigitzooError(f"{path} refers to external data files; digitzoo loads only self-contained "
                            "ONNX files (re-export it with `digitzoo export`)")


# --- TorchScript / torch.export: the archive must be what torch.save wrote -----------------------
# Both formats are zip archives whose entries share one top folder. torch.jit.load unpickles
# data.pkl and constants.pkl with TorchScript's own unpickler, which knows only torch types and
# refuses other globals (checked: a data.pkl that calls pathlib.Path.touch is refused). So for .pt
# the structure check is enough.
#
# torch.export.load is different: it runs Python's pickle on parts of the archive (weights or
# constants marked "use_pickle", "opaque" constants, legacy weight files, and the sample inputs,
# where a weights_only load that fails is retried with weights_only=False). A crafted .pt2 runs
# code when loaded, even though the load then fails (checked with torch 2.15). So a .pt2 may hold
# only the records listed below; its weights and constants must be raw tensor bytes; and its
# sample inputs must load with torch's restricted unpickler (weights_only=True), so torch never
# falls back to the unrestricted one. Anything else is refused before torch opens the file.

_PT2_RECORDS = re.compile(r"""(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id
    |models/[\w.-]+\.json|data/sample_inputs/[\w.-]+\.pt
    |data/weights/[\w.-]+_weights_config\.json|data/weights/weight_\d+
    |data/constants/[\w.-]+_constants_config\.json|data/constants/tensor_\d+
    |extra/[\w./-]+)""", re.X)  # extra/ files are read as text only
_TORCHSCRIPT_REQUIRED = {"data.pkl", "constants.pkl", "version"}


def _archive_records(archive: zipfile.ZipFile) -> dict[str, str]:
    """{record name without the archive's top folder: full name}; ValueError for a zip torch did not write."""
    names = archive.namelist()
    if not names:
        raise ValueError("an empty zip archive")
    top = names[0].split("/", 1)[0] + "/"
    if len(set(names)) != len(names):
        raise ValueError("a zip archive with duplicate entries")
    if not all(name.startswith(top) and len(name) > len(top) for name in names):
        raise ValueError("a zip archive whose entries are not in one folder")
    return {name[len(top):]: name for name in names}


def check_torch_archive(path: str | os.PathLike, fmt: str, data: bytes | None = None) -> list[tuple[str, bytes]]:
    """Refuse a .pt / .pt2 that is not a plain torch archive (``data``, its bytes already read, or the file
    at ``path``); returns the .pt2's pickled sample inputs.

    The sample inputs are the one pickle a .pt2 of ours holds; the caller checks them with torch
    (``digitzoo.hub.torch_files.refuse_unsafe_pickle``) so that this function needs only the standard library.
    """
    def refuse(why: str) -> DigitzooError:
        return DigitzooError(f"{path} is not a valid {fmt} file ({why})")

    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as archive:
            records = _archive_records(archive)
            if fmt == "torchscript":
                missing = _TORCHSCRIPT_REQUIRED - set(records)
                if missing:
                    raise refuse(f"not a TorchScript archive: no {', '.join(sorted(missing))}")
                return []
            if "archive_format" not in records or archive.read(records["archive_format"]) != b"pt2":
                raise refuse("not a torch.export archive")
            unexpected = sorted(name for name in records if not _PT2_RECORDS.fullmatch(name))
            if unexpected:
                raise refuse(f"holds {unexpected[0]!r}, which a torch.export archive of weights and a "
                             "graph does not: digitzoo does not load compiled code or pickled objects")
            for name in records:
                if name.endswith(("_weights_config.json", "_constants_config.json")):
                    config = json.loads(archive.read(records[name])).get("config", {})
                    folder = name.rsplit("/", 1)[0]
                    for fqn, payload in config.items():
                        raw = payload.get("use_pickle") is False
                        if not raw or not _PT2_RECORDS.fullmatch(f"{folder}/{payload.get('path_name')}"):
                            raise refuse(f"{name} stores {fqn!r} as a pickle or an object; digitzoo loads only raw tensors")
            return [(name, archive.read(records[name])) for name in records if name.startswith("data/sample_inputs/")]
    except DigitzooError:
        raise
    except FileNotFoundError:
        raise DigitzooError(f"{path} does not exist") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise refuse(f"not a zip archive: {first_line(exc)}") from None
    except (ValueError, KeyError, AttributeError, OSError, EOFError, NotImplementedError) as exc:
        raise refuse(first_line(exc)) from None
