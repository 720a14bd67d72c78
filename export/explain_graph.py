"""The explainer: a classifier's input gradient and feature maps as one forward-only ONNX graph.

onnxruntime-web has no autograd (its training build was removed in 2024), so the page cannot ask
a model "which pixels pushed toward this digit?" by itself. Here the gradient is traced once, at
export time: ``make_fx`` records the forward pass and autograd's backward pass as plain ATen ops,
which the dynamo ONNX exporter then turns into a graph the page runs like any other. The graph's
outputs are the logits, the image times d logits[target] / d image and the feature maps of the model file's
``feature_blocks``; the pipeline verifies all of them against eager PyTorch (autograd, hooks)
before the file enters the manifest.

Three backward ops have no ONNX translation in torch 2.14's exporter: they are rewritten here
into forward ops that do the same arithmetic (a convolution's input gradient is the transposed
convolution with the same weights; max-pooling's sends each gradient back to the pixel its
index names; average-pooling's spreads it evenly over the window).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from digitzoo.hub.models.common import IMAGE_INPUT, LOGITS_OUTPUT
from digitzoo.hub.registry import EXPLAINER, ModelSpec, PartSpec, TensorSpec

TARGET_INPUT = TensorSpec(
    name="target",
    shape=("batch",),
    dtype="int64",
    value_range=(0.0, 9.0),
    description="the digit (class index) whose score the gradient is taken of, one per image",
)

GRADIENT_OUTPUT = TensorSpec(
    name="input_x_gradient",
    shape=("batch", 1, 28, 28),
    dtype="float32",
    value_range=None,
    description="image x d logits[target] / d image: each pixel's ink times how it moves the target digit's score",
)


def explainer_part(spec: ModelSpec, block_shapes: list[tuple[int, ...]]) -> PartSpec:
    """The explainer's part: image + target in; logits, gradient and one output per feature block."""
    blocks = tuple(
        TensorSpec(name=f"block{i + 1}", shape=("batch", *shape), dtype="float32", value_range=None,
                   description=f"{label}: {shape[0]} feature maps of {shape[1]}x{shape[2]} ({module})")
        for i, ((module, label), shape) in enumerate(zip(spec.feature_blocks, block_shapes)))
    return PartSpec(name="explain", module=None, inputs=(IMAGE_INPUT, TARGET_INPUT),
                    outputs=(LOGITS_OUTPUT, GRADIENT_OUTPUT, *blocks), file=f"{spec.name}_explain", role=EXPLAINER)


class EagerExplainer(nn.Module):
    """The reference: autograd for the gradient, forward hooks for the feature maps."""

    def __init__(self, model: nn.Module, blocks: tuple[tuple[str, str], ...]):
        super().__init__()
        self.model = model
        self.blocks = [model.get_submodule(path) for path, _ in blocks]

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        maps: list[torch.Tensor] = []
        hooks = [block.register_forward_hook(lambda _m, _i, out: maps.append(out)) for block in self.blocks]
        try:
            with torch.enable_grad():
                image = image.detach().requires_grad_(True)
                logits = self.model(image)  # (B, 10)
                picked = logits.gather(1, target[:, None].long()).sum()  # the images are independent: one sum
                (gradient,) = torch.autograd.grad(picked, image)  # (B, 1, 28, 28)
        finally:
            for hook in hooks:
                hook.remove()
        # Times the image: where several pooled values tie (blank background before a ReLU), eager
        # PyTorch and ONNX Runtime may route the gradient to different tied pixels; those pixels
        # hold no ink, so the product is the same in both, and it is what every method uses.
        return (logits.detach(), image.detach() * gradient, *[m.detach() for m in maps])


def _output_padding(size_in, size_out, kernel, stride, padding, dilation) -> list[int]:
    """What a transposed convolution must add to give back the forward input's exact size."""
    return [size_in[i] - ((size_out[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1)
            for i in range(2)]


def _convolution_backward(grad, image, weight, bias_sizes, stride, padding, dilation, transposed, output_padding,
                          groups, output_mask):
    if transposed or image.dim() != 4:
        raise NotImplementedError("the explainer handles 2-D, non-transposed convolutions only")
    pad = _output_padding(image.shape[2:], grad.shape[2:], weight.shape[2:], stride, padding, dilation)
    grad_input = F.conv_transpose2d(grad, weight, None, stride, padding, pad, groups, dilation) if output_mask[0] else None
    return grad_input, None, None  # the weights are constants here: their gradients are never asked for


def _avg_pool2d_backward(grad, image, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if ceil_mode or not count_include_pad or divisor_override is not None:
        raise NotImplementedError("the explainer handles avg_pool2d with its default options only")
    stride = stride or kernel
    channels = image.shape[1]
    spread = torch.full((channels, 1, *kernel), 1.0 / (kernel[0] * kernel[1]), dtype=grad.dtype, device=grad.device)
    pad = _output_padding(image.shape[2:], grad.shape[2:], kernel, stride, padding, (1, 1))
    return F.conv_transpose2d(grad, spread, None, stride, padding, pad, channels)


def _decompositions() -> dict:
    from torch._decomp import core_aten_decompositions, decomposition_table

    aten = torch.ops.aten
    table = dict(core_aten_decompositions())
    table[aten.convolution_backward.default] = _convolution_backward
    table[aten.avg_pool2d_backward.default] = _avg_pool2d_backward
    # torch ships this one (scatter the gradient to the argmax indices), outside the core set.
    table[aten.max_pool2d_with_indices_backward.default] = decomposition_table[aten.max_pool2d_with_indices_backward.default]
    return table


@contextlib.contextmanager
def nondeterministic_allowed():
    """Tracing and exporting with ``torch.use_deterministic_algorithms(True)`` on (a training run in
    the same process leaves it on) makes the dynamo exporter fail on the traced backward ops; the
    graph is the same either way, so the flag is off while the explainer is made, then restored."""
    was, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn_only)


def traced_explainer(eager: EagerExplainer, example: tuple[torch.Tensor, torch.Tensor]) -> nn.Module:
    """The eager explainer with its backward pass written out as forward ops (an fx GraphModule)."""
    from torch.fx.experimental.proxy_tensor import make_fx

    for p in eager.parameters():
        p.requires_grad_(False)  # only the image's gradient is wanted: no weight-gradient ops in the graph
    # symbolic: the batch stays a dimension; the weights are real tensors the graph keeps as constants.
    return make_fx(eager, decomposition_table=_decompositions(), tracing_mode="symbolic",
                   _allow_non_fake_inputs=True)(*example).eval()
