"""The model registry: one file per model in ``hub/models/``, registered by function name.

A model file declares everything that differs between models as fields of a ``ModelSpec``
(architecture, training recipes, export parts, demo metadata, quality floors), so no code
elsewhere needs ``if name == "mnist_gan"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from digitzoo.hub.serving.errors import DigitzooError

# Tasks a training loop knows how to run; a spec names one of them.
TASKS = ("classifier", "autoencoder", "gan", "detector")
# What a deployable part does. Export picks its verification inputs by role, the model card its
# snippet, and the apps their parts (through the manifest, which records it).
# A detector says whether its input is what the zoo's models were made for (a digit at all).
ROLES = ("classifier", "encoder", "decoder", "generator", "detector")
# Export adds one more part to every classifier, made by the exporter rather than declared in a
# model file: the explainer (export/explain_graph.py), whose role is EXPLAINER.
EXPLAINER = "explainer"
# The tabs of the demo hub that show a model.
DEMO_TABS = ("draw", "latent", "gan")


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
    exported files (``mnist_cnn.onnx``, ``mnist_ae3d_decoder.onnx``); ``role`` (one of
    ``ROLES``) says what it computes: a classifier and an encoder are verified on real test
    images, a decoder on the codes its model's encoder gives them, a generator on seeded noise.
    """

    name: str
    module: str | None
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    file: str
    role: str
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
class Demo:
    """How the demo hub shows a model.

    Export copies it into the manifest, and the apps read it from there: they serve without
    torch, so they never import the model files.
    """

    tab: str  # the hub tab that uses the model: one of DEMO_TABS
    label: str  # its short name on screen, as in "CNN reads"
    order: int = 0  # its place among the models of its tab (the draw tab: CNN, then LSTM)
    featured: bool = False  # its card is open when the Models tab opens
    belief_by_row: bool = False  # its second output is the belief after each image row: the page charts it
    scatter_points: int = 0  # latent tab: how many test digits export places with the encoder


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
    demo: Demo | None = None
    # Blocks whose outputs the "Why?" view shows as feature maps, as (submodule path, label) in the
    # order the image flows through them: ("features.0", "conv block 1"). Empty for nets without
    # spatial maps (the MLP, the row-LSTM).
    feature_blocks: tuple[tuple[str, str], ...] = ()

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
    import digitzoo.hub.models  # noqa: F401  (importing the package runs every @register_model)


def list_models() -> list[str]:
    """Names of all registered models.

    >>> list_models()  # doctest: +NORMALIZE_WHITESPACE
    ['mnist_ae3d', 'mnist_cnn', 'mnist_gan', 'mnist_inception', 'mnist_lenet', 'mnist_lstm', 'mnist_mlp', 'mnist_not_digit',
     'mnist_resnet', 'mnist_tutorial_cnn']
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
    bad_roles = [p.role for p in spec.parts if p.role not in ROLES]
    if bad_roles or (spec.demo and spec.demo.tab not in DEMO_TABS):
        raise ValueError(f"spec of {name} is inconsistent: roles {bad_roles} not in {ROLES}, or demo tab not in {DEMO_TABS}")
    return spec
