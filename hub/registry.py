"""The model registry: one file per model in ``hub/models/``, registered by function name.

A model file declares everything that differs between models as fields of a ``ModelSpec``
(architecture, training recipes, export parts, demo metadata, quality floors), so no code
elsewhere needs ``if name == "mnist_gan"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from hub.errors import DigitzooError

# Tasks a training loop knows how to run; a spec names one of them.
TASKS = ("classifier", "autoencoder", "gan")


@dataclass(frozen=True)
class Recipe:
    """How to train a model. Every field can be overridden by a CLI flag of the same name."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    # "sketch": position/size/stroke-width/rotation jitter for browser drawings; "none": raw MNIST.
    augment: str = "sketch"
    # Constructor arguments that differ from the spec's defaults (the fast recipe is smaller).
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a deployable part; ``"batch"`` marks the dynamic dimension."""

    name: str
    shape: tuple[Any, ...]
    dtype: str
    value_range: tuple[float, float] | None
    description: str


@dataclass(frozen=True)
class PartSpec:
    """A deployable piece of a model: the whole net (``module=None``) or a named submodule.

    ``method`` is the function that is exported (``forward`` unless the part needs more
    outputs than training does, like the LSTM's per-row beliefs); ``file`` is the stem of the
    exported files (``mnist_cnn.onnx``, ``mnist_ae3d_decoder.onnx``).
    """

    name: str
    module: str | None
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    file: str
    method: str = "forward"


@dataclass(frozen=True)
class Floor:
    """A quality floor the shipped checkpoint must meet: ``metric >= value`` or ``<= value``."""

    metric: str
    op: str  # ">=" or "<="
    value: float

    def holds(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured <= self.value


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    summary: str
    task: str
    builder: Callable[..., Any]
    kwargs: dict[str, Any]
    recipes: dict[str, Recipe]
    parts: tuple[PartSpec, ...]
    floors: tuple[Floor, ...] = ()
    labels: tuple[str, ...] = ()
    # Classifier that scores this model's samples (GAN metrics); None when not needed.
    judge: str | None = None
    # Also measure accuracy on test digits re-drawn as browser sketches (classifiers in the draw tab).
    eval_on_sketches: bool = False
    demo: dict[str, Any] = field(default_factory=dict)

    def build(self, **overrides: Any):
        """Instantiate the architecture with the spec's kwargs updated by ``overrides``."""
        return self.builder(**{**self.kwargs, **overrides})

    def recipe(self, name: str = "default") -> Recipe:
        if name not in self.recipes:
            raise DigitzooError(
                f"{self.name} has no recipe {name!r}; choose one of: {', '.join(self.recipes)}"
            )
        return self.recipes[name]


_REGISTRY: dict[str, Callable[[], ModelSpec]] = {}


def register_model(fn: Callable[[], ModelSpec]) -> Callable[[], ModelSpec]:
    """Register a spec factory under its function name (timm's ``@register_model``)."""
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"model {fn.__name__} registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def _load_model_files() -> None:
    import hub.models  # noqa: F401  (importing the package runs every @register_model)


def list_models() -> list[str]:
    """Names of all registered models.

    >>> list_models()
    ['mnist_ae3d', 'mnist_cnn', 'mnist_gan', 'mnist_lstm']
    """
    _load_model_files()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model; a clear error for an unknown name.

    >>> get_spec("mnist_cnn").task
    'classifier'
    """
    _load_model_files()
    if name not in _REGISTRY:
        raise DigitzooError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    spec = _REGISTRY[name]()
    if spec.name != name or spec.task not in TASKS:
        raise ValueError(f"spec of {name} is inconsistent: name={spec.name!r} task={spec.task!r}")
    return spec


def spec_summary(spec: ModelSpec) -> dict[str, Any]:
    """JSON-friendly description of a spec (no callables)."""
    return {
        "name": spec.name,
        "title": spec.title,
        "summary": spec.summary,
        "task": spec.task,
        "kwargs": spec.kwargs,
        "recipes": {k: dataclasses.asdict(r) for k, r in spec.recipes.items()},
        "parts": [dataclasses.asdict(p) for p in spec.parts],
        "floors": [dataclasses.asdict(f) for f in spec.floors],
        "labels": list(spec.labels),
    }
