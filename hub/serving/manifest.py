"""The manifest of exported files: what exists, its checksum, and how to call it.

``exports/manifest.json`` lists per model its metrics and artifacts (part, format, file,
sha256, bytes, exporter, inputs/outputs with shapes, dtypes and value ranges) and the ``versions``
of torch, onnx, onnxruntime, python and digitzoo in the process that exported them (see
``ModelEntry.versions_of``). Files are only ever opened through ``verified_path``, which
refuses anything outside the exports folder and anything whose sha256 differs from the
manifest. Stdlib only: no torch here.

``read_manifest`` returns a typed, frozen ``Manifest`` (``models`` of ``ModelEntry``, each with its
``Artifact`` files, their ``Tensor`` inputs/outputs and any ``DemoData``), checked once when read;
``write_manifest`` writes one back (``to_json``, sorted keys: the file on disk is unchanged).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from digitzoo.hub.serving import paths
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import atomic_write_text, inside, read_format_json, sha256_file

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "digitzoo-manifest/1"


# ---- the typed manifest -------------------------------------------------------------------------
# Every reader gets these frozen objects, never the raw dict: ``Manifest.from_json`` checks the
# shape once (one DigitzooError sentence for a missing key, a wrong type or an unknown format) and
# ``to_json`` gives back exactly the dict it was made from. Keys this version does not know (a newer
# exporter's, a Hub repository's) are kept in ``extra`` and written back unchanged: refusing them
# would make older installs refuse newer pulls, and dropping them would change the file on disk.

_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true or false"}


def _kind(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # true/false is not a number here
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, kinds)


def _field(data: dict, key: str, kind: type | tuple[type, ...], where: str, optional: bool = False,
           nullable: bool = False) -> Any:
    """``data[key]`` when it has type ``kind``; a one-sentence DigitzooError otherwise."""
    if key not in data:
        if optional:
            return None
        raise DigitzooError(f"the manifest's {where or 'top level'} lacks the key {key!r}")
    value = data[key]
    if value is None and nullable:
        return None
    if not _is(value, kind):
        want = " or ".join(_JSON_TYPES[k] for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DigitzooError(f"the manifest's {where + '.' if where else ''}{key} should be {want}, not {_kind(value)}")
    return value


def _object(data: Any, where: str) -> dict:
    if not isinstance(data, dict):
        raise DigitzooError(f"the manifest's {where} should be an object, not {_kind(data)}")
    return data


def _extra(data: dict, known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


def _versions(data: dict, where: str) -> dict[str, str] | None:
    """``data["versions"]`` when present: an object of strings (package -> version)."""
    versions = _field(data, "versions", dict, where, optional=True)
    if versions is not None and not all(isinstance(v, str) for v in versions.values()):
        raise DigitzooError(f"the manifest's {where + '.' if where else ''}versions should be an object of strings")
    return versions


def _put(out: dict, **optional: Any) -> dict:
    """``out`` plus the optional keys that are present (not None): absent stays absent on disk."""
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


@dataclass(frozen=True)
class Tensor:
    """One input or output of an exported file: name, dtype, shape (``"batch"`` for the batch axis),
    the value range when it has one, and what it means."""

    name: str
    dtype: str
    shape: list[int | str]
    value_range: list[float] | None
    description: str
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    KEYS = ("name", "dtype", "shape", "value_range", "description")

    @classmethod
    def from_json(cls, data: Any, where: str) -> Tensor:
        data = _object(data, where)
        return cls(_field(data, "name", str, where), _field(data, "dtype", str, where),
                   _field(data, "shape", list, where), _field(data, "value_range", list, where, nullable=True),
                   _field(data, "description", str, where), _extra(data, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "name": self.name, "dtype": self.dtype, "shape": self.shape,
                "value_range": self.value_range, "description": self.description}


@dataclass(frozen=True)
class Artifact:
    """One exported file of a model's part: where it is, its sha256, how it was made and checked, and
    how to call it (``inputs``/``outputs``). ``test_data`` (ONNX files only) is the folder of
    sample inputs and outputs in the ONNX test-data layout. ``versions`` is set only on a file
    re-exported alone (``digitzoo export NAME --parts ...``) by other versions than its model's
    entry records; otherwise the entry's ``versions`` hold for it."""

    part: str
    role: str
    format: str
    file: str
    sha256: str
    bytes: int
    exporter: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    verified: dict[str, Any]
    test_data: str | None = None
    versions: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    KEYS = ("part", "role", "format", "file", "sha256", "bytes", "exporter", "inputs", "outputs", "verified",
            "test_data", "versions")

    @classmethod
    def from_json(cls, data: Any, where: str) -> Artifact:
        data = _object(data, where)
        tensors = {key: tuple(Tensor.from_json(t, f"{where}.{key}[{i}]")
                              for i, t in enumerate(_field(data, key, list, where))) for key in ("inputs", "outputs")}
        return cls(*(_field(data, key, str, where) for key in ("part", "role", "format", "file", "sha256")),
                   _field(data, "bytes", int, where), _field(data, "exporter", str, where),
                   tensors["inputs"], tensors["outputs"], _field(data, "verified", dict, where),
                   _field(data, "test_data", str, where, optional=True), _versions(data, where),
                   _extra(data, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        return _put({**self.extra, "part": self.part, "role": self.role, "format": self.format, "file": self.file,
                     "sha256": self.sha256, "bytes": self.bytes, "exporter": self.exporter,
                     "inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs],
                     "verified": self.verified}, test_data=self.test_data, versions=self.versions)


@dataclass(frozen=True)
class DemoData:
    """A data file the demo reads besides the model files (the latent plot's points), with its sha256."""

    file: str
    sha256: str
    bytes: int
    points: int
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    KEYS = ("file", "sha256", "bytes", "points")

    @classmethod
    def from_json(cls, data: Any, where: str) -> DemoData:
        data = _object(data, where)
        return cls(_field(data, "file", str, where), _field(data, "sha256", str, where),
                   _field(data, "bytes", int, where), _field(data, "points", int, where), _extra(data, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "file": self.file, "sha256": self.sha256, "bytes": self.bytes, "points": self.points}


@dataclass(frozen=True)
class ModelEntry:
    """One exported model: what it is (title, summary, task, labels), how the demo shows it (``demo``,
    the model file's ``Demo`` settings, or None), its metrics and checkpoint, its files, when
    measured its batch-1 ``latency`` and its ``demo_data``, and the ``versions`` (torch, onnx,
    onnxruntime, python, digitzoo) of the process that exported it: None in a manifest written
    before entries had them. A block recovered from the files afterwards has only what they record
    (torch) and says where from in ``recovered_from``."""

    title: str
    summary: str
    task: str
    labels: list[str]
    demo: dict[str, Any] | None
    metrics: dict[str, Any]
    parameters: int
    checkpoint: dict[str, Any]
    artifacts: tuple[Artifact, ...]
    latency: dict[str, Any] | None = None
    demo_data: DemoData | None = None
    versions: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    KEYS = ("title", "summary", "task", "labels", "demo", "metrics", "parameters", "checkpoint", "artifacts",
            "latency", "demo_data", "versions")

    @classmethod
    def from_json(cls, data: Any, where: str) -> ModelEntry:
        data = _object(data, where)
        artifacts = tuple(Artifact.from_json(a, f"{where}.artifacts[{i}]")
                          for i, a in enumerate(_field(data, "artifacts", list, where)))
        labels = _field(data, "labels", list, where)
        if not all(isinstance(label, str) for label in labels):
            raise DigitzooError(f"the manifest's {where}.labels should be a list of strings")
        demo_data = _field(data, "demo_data", dict, where, optional=True)
        return cls(_field(data, "title", str, where), _field(data, "summary", str, where),
                   _field(data, "task", str, where), labels, _field(data, "demo", dict, where, nullable=True),
                   _field(data, "metrics", dict, where), _field(data, "parameters", int, where),
                   _field(data, "checkpoint", dict, where), artifacts,
                   _field(data, "latency", dict, where, optional=True),
                   None if demo_data is None else DemoData.from_json(demo_data, f"{where}.demo_data"),
                   _versions(data, where), _extra(data, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        return _put({**self.extra, "title": self.title, "summary": self.summary, "task": self.task,
                     "labels": self.labels, "demo": self.demo, "metrics": self.metrics, "parameters": self.parameters,
                     "checkpoint": self.checkpoint, "artifacts": [a.to_json() for a in self.artifacts]},
                    latency=self.latency, demo_data=None if self.demo_data is None else self.demo_data.to_json(),
                    versions=self.versions)

    def versions_of(self, item: Artifact) -> dict[str, str] | None:
        """The versions that exported ``item``: its own when it was re-exported alone, else the entry's.

        >>> entry = read_manifest().models["mnist_cnn"]
        >>> "torch" in entry.versions_of(entry.artifacts[-1])
        True
        """
        return item.versions if item.versions is not None else self.versions

    @property
    def demo_settings(self) -> dict[str, Any]:
        """``demo``, or {} for a model the demo does not show."""
        return self.demo or {}


@dataclass(frozen=True)
class Manifest:
    """The manifest of an exports folder: its format, the exported models by name (in the file's
    order) and, in a published Hub repository, ``repository`` (its id and every file with its sha256).

    ``versions`` is the one top-level block of manifests written before each entry had its own (the
    versions of the last export run into the folder, whichever models it made): still read and
    written back, never written by the exporter, which drops it when it next writes the manifest."""

    models: dict[str, ModelEntry] = field(default_factory=dict)
    versions: dict[str, str] | None = None
    repository: dict[str, Any] | None = None
    format: str = MANIFEST_FORMAT
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    KEYS = ("format", "models", "versions", "repository")

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """The typed manifest of ``data`` (a parsed manifest.json); DigitzooError if it has the wrong shape.

        >>> Manifest.from_json({"format": "digitzoo-manifest/0", "models": {}})
        Traceback (most recent call last):
        ...
        digitzoo.hub.serving.errors.DigitzooError: the manifest's format is 'digitzoo-manifest/0', not digitzoo-manifest/1
        """
        data = _object(data, "top level")  # the file's JSON value
        if data.get("format") != MANIFEST_FORMAT:
            raise DigitzooError(f"the manifest's format is {data.get('format')!r}, not {MANIFEST_FORMAT}")
        models = _field(data, "models", dict, "")
        return cls({name: ModelEntry.from_json(entry, f"models.{name}") for name, entry in models.items()},
                   _field(data, "versions", dict, "", optional=True),
                   _field(data, "repository", dict, "", optional=True), MANIFEST_FORMAT,
                   _extra(data, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        """The manifest.json dict: ``Manifest.from_json(d).to_json() == d``."""
        return _put({**self.extra, "format": self.format,
                     "models": {name: entry.to_json() for name, entry in self.models.items()}},
                    versions=self.versions, repository=self.repository)

    def with_model(self, name: str, entry: ModelEntry) -> Manifest:
        """This manifest with ``name``'s entry added or replaced (in place of the old one)."""
        return replace(self, models={**self.models, name: entry})

    def with_artifact(self, model: str, old: Artifact, new: Artifact) -> Manifest:
        """This manifest with ``model``'s artifact ``old`` replaced by ``new``."""
        entry = self.models[model]
        artifacts = tuple(new if item == old else item for item in entry.artifacts)
        return self.with_model(model, replace(entry, artifacts=artifacts))

    def only(self, names: list[str]) -> Manifest:
        """This manifest with only the models ``names``, in that order."""
        return replace(self, models={name: self.models[name] for name in names})

    def artifacts(self) -> Iterator[tuple[str, Artifact]]:
        """(model, artifact) of every exported file, in the manifest's order."""
        return ((name, item) for name, entry in self.models.items() for item in entry.artifacts)


def exports_root() -> Path:
    """The exports you made (``$DIGITZOO_HOME/exports``) if any, else the shipped ones.

    >>> (exports_root() / MANIFEST_FILE).is_file()
    True
    """
    mine = paths.exports_dir()
    return mine if (mine / MANIFEST_FILE).is_file() else paths.pretrained_exports_dir()


def empty_manifest() -> Manifest:
    return Manifest()


def read_manifest(root: str | os.PathLike | None = None) -> Manifest:
    """The manifest in ``root`` (default ``exports_root()``); clear errors when absent or broken.

    >>> read_manifest().models["mnist_cnn"].labels[:3]
    ['0', '1', '2']
    """
    path = Path(root or exports_root()) / MANIFEST_FILE
    data = read_format_json(path, MANIFEST_FORMAT, "manifest", DigitzooError,
                            f"no exported models in {path.parent}: run `digitzoo export all`")
    try:
        return Manifest.from_json(data)
    except DigitzooError as exc:
        reason = str(exc).removeprefix("the manifest's ")
        raise DigitzooError(f"{path} is not a valid digitzoo manifest: {reason}") from None


def manifest_text(manifest: Manifest) -> str:
    """The text of manifest.json (sorted keys, so the file does not depend on the order of fields)."""
    return json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n"


def write_manifest(root: str | os.PathLike, manifest: Manifest) -> None:
    atomic_write_text(Path(root) / MANIFEST_FILE, manifest_text(manifest))


def artifact(manifest: Manifest, model: str, part: str, fmt: str) -> Artifact:
    """The manifest entry of one exported file.

    >>> artifact(read_manifest(), "mnist_cnn", "model", "onnx").file
    'mnist_cnn/mnist_cnn.onnx'
    """
    entry = manifest.models.get(model)
    if entry is None:
        raise DigitzooError(f"{model} is not in the manifest; exported models: {', '.join(manifest.models)}")
    for item in entry.artifacts:
        if item.part == part and item.format == fmt:
            return item
    raise DigitzooError(f"{model} has no exported {fmt} file for part {part!r}")


def verified_path(root: str | os.PathLike, item: Artifact | DemoData) -> Path:
    """Path of an artifact (or demo data file) after checking it stays inside ``root`` and matches its sha256."""
    try:
        path = inside(root, item.file)
    except ValueError as exc:
        raise DigitzooError(f"manifest entry refused: {exc}") from None
    if not path.is_file():
        raise DigitzooError(f"{path} is listed in the manifest but missing")
    if sha256_file(path) != item.sha256:
        raise DigitzooError(f"{path} does not match the sha256 in the manifest: refusing to load it")
    return path


def demo_models(manifest: Manifest, tab: str) -> list[str]:
    """The models the demo hub shows on ``tab``, in their demo order (set in each model file).

    >>> demo_models(read_manifest(), "draw")  # doctest: +NORMALIZE_WHITESPACE
    ['mnist_cnn', 'mnist_lstm', 'mnist_mlp', 'mnist_tutorial_cnn', 'mnist_inception', 'mnist_resnet',
     'mnist_lenet']
    """
    shown = [(entry.demo_settings.get("order", 0), name) for name, entry in manifest.models.items()
             if entry.demo_settings.get("tab") == tab]
    return [name for _, name in sorted(shown)]


def parts_with_role(manifest: Manifest, role: str) -> list[tuple[str, str]]:
    """(model, part) of every exported part whose role is ``role``, in the manifest's order.

    >>> parts_with_role(read_manifest(), "generator")
    [('mnist_gan', 'generator')]
    """
    found = {(name, item.part): None for name, item in manifest.artifacts() if item.role == role}
    return list(found)


def part_with_role(manifest: Manifest, model: str, role: str) -> str:
    """The name of ``model``'s part with ``role``; a clear error when it has none."""
    for name, part in parts_with_role(manifest, role):
        if name == model:
            return part
    raise DigitzooError(f"{model} has no exported {role} part in the manifest")
