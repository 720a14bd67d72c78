"""Every registered model builds and runs forward with the shapes its spec declares."""

from __future__ import annotations

import pytest
import torch

from digitzoo.hub.registry import get_spec, list_models


def make_input(tensor_spec, batch: int) -> torch.Tensor:
    shape = [batch if d == "batch" else d for d in tensor_spec.shape]
    if tensor_spec.dtype == "int64":
        lo, hi = tensor_spec.value_range
        return torch.randint(int(lo), int(hi) + 1, shape)
    if tensor_spec.value_range is not None:
        lo, hi = tensor_spec.value_range
        return lo + (hi - lo) * torch.rand(shape)
    return torch.randn(shape)


def test_registry_has_the_ten_models():
    assert list_models() == ["mnist_ae3d", "mnist_cnn", "mnist_gan", "mnist_inception", "mnist_lenet", "mnist_lstm",
                             "mnist_mlp", "mnist_not_digit", "mnist_resnet", "mnist_tutorial_cnn"]


CLASSIFIERS = [n for n in list_models() if get_spec(n).task == "classifier"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifiers_take_the_common_image_and_are_on_the_draw_tab(name):
    spec = get_spec(name)
    (part,) = [p for p in spec.parts if p.role == "classifier"]
    assert part.inputs[0].shape == ("batch", 1, 28, 28) and part.outputs[0].shape == ("batch", 10)
    assert spec.eval_on_sketches and spec.demo.tab == "draw"
    assert any(f.metric == "test_accuracy" and f.op == ">=" for f in spec.floors)


def test_draw_tab_orders_are_distinct_and_cnn_lstm_come_first():
    orders = {get_spec(n).demo.order: n for n in CLASSIFIERS}
    assert len(orders) == len(CLASSIFIERS)
    assert [orders[o] for o in sorted(orders)][:2] == ["mnist_cnn", "mnist_lstm"]


def test_tutorial_cnn_is_the_course_net():
    model = get_spec("mnist_tutorial_cnn").build()
    assert (model.conv1.in_channels, model.conv1.out_channels, model.conv1.kernel_size) == (1, 10, (5, 5))
    assert (model.conv2.in_channels, model.conv2.out_channels, model.conv2.kernel_size) == (10, 20, (5, 5))
    assert (model.fc.in_features, model.fc.out_features) == (320, 10)


def test_lenet_pads_the_digit_to_32x32_inside_forward():
    model = get_spec("mnist_lenet").build().eval()
    seen = []
    model.conv1.register_forward_hook(lambda m, args, out: seen.append(args[0].shape))
    with torch.inference_mode():
        assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert tuple(seen[0]) == (2, 1, 32, 32) and model.fc1.in_features == 16 * 5 * 5


def test_inception_block_concatenates_four_branches():
    from digitzoo.hub.models.mnist_inception import InceptionBlock

    block = InceptionBlock(10).eval()
    with torch.inference_mode():
        assert block(torch.rand(2, 10, 12, 12)).shape == (2, 88, 12, 12)


def test_residual_block_adds_its_input():
    from digitzoo.hub.models.mnist_resnet import ResidualBlock

    block = ResidualBlock(8).eval()
    torch.nn.init.zeros_(block.bn2.weight)  # the branch adds nothing: the block is relu(x)
    x = torch.randn(2, 8, 6, 6)
    with torch.inference_mode():
        assert torch.equal(block(x), torch.relu(x))


@pytest.mark.parametrize("name", list_models())
def test_parts_run_forward_with_declared_shapes(name):
    spec = get_spec(name)
    torch.manual_seed(0)
    model = spec.build().eval()
    for part in spec.parts:
        module = model if part.module is None else getattr(model, part.module)
        call = getattr(module, part.method)
        for batch in (1, 5):
            inputs = [make_input(t, batch) for t in part.inputs]
            with torch.inference_mode():
                outputs = call(*inputs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            assert len(outputs) == len(part.outputs)
            for out, declared in zip(outputs, part.outputs):
                expected = tuple(batch if d == "batch" else d for d in declared.shape)
                assert tuple(out.shape) == expected, (name, part.name, declared.name)
                assert str(out.dtype) == f"torch.{declared.dtype}"
                assert torch.isfinite(out).all()
                if declared.value_range is not None:
                    lo, hi = declared.value_range
                    assert out.min() >= lo and out.max() <= hi


@pytest.mark.parametrize("name", list_models())
def test_recipes_build(name):
    spec = get_spec(name)
    for recipe in spec.recipes.values():
        model = spec.build(**recipe.model_kwargs)
        assert sum(p.numel() for p in model.parameters()) > 1000


def test_lstm_reads_rows_and_its_last_step_is_the_prediction():
    model = get_spec("mnist_lstm").build().eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        steps = model.step_logits(x)
        assert steps.shape == (3, 28, 10)
        assert torch.equal(steps[:, -1], model(x))
        # Rows below row 10 cannot change the belief after row 10: the net reads top to bottom.
        y = x.clone()
        y[:, :, 10:] = torch.rand(3, 1, 18, 28)
        assert torch.allclose(model.step_logits(y)[:, :10], steps[:, :10])
        assert model.lstm.hidden_size <= 128


def test_autoencoder_bottleneck_is_three_numbers_and_parts_compose():
    model = get_spec("mnist_ae3d").build().eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        code = model.encoder(x)
        assert code.shape == (4, 3)
        assert torch.equal(model.decoder(code), model(x))


def test_gan_label_changes_the_image():
    model = get_spec("mnist_gan").build().eval()
    z = torch.randn(1, model.generator.z_dim).repeat(2, 1)
    with torch.inference_mode():
        images = model.generator(z, torch.tensor([3, 7]))
    assert not torch.allclose(images[0], images[1])


def test_unknown_model_is_a_clear_error():
    from digitzoo.hub.serving.errors import DigitzooError

    with pytest.raises(DigitzooError, match="unknown model 'mnist_vit'.*mnist_cnn"):
        get_spec("mnist_vit")
