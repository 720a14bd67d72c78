""""Why this digit?" on the server: hub/serving/explain.py's maps, from the shipped ONNX files, held
to captum on the eager checkpoints; the explainer files listed in the manifest and matching
autograd; and every way of asking (`digitzoo explain`, the /explain API, the MCP explain tool),
which all answer through apps.explaining, including for an empty pad and a model or method that
does not exist.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitzoo.hub.serving import explain
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import exports_root, read_manifest
from pictures import drawn_one, png_data_url

MANIFEST = read_manifest()
# The Draw tab's classifiers, as the manifest lists them: each must have an explainer.
DRAW_CLASSIFIERS = [name for name in MANIFEST.models if MANIFEST.models[name].demo_settings.get("tab") == "draw"
                    and any(a.role == "classifier" for a in MANIFEST.models[name].artifacts)]
# The cross-check with captum: per digit, the largest difference between the two maps is at most
# TOLERANCE x the largest |value| of captum's map. Measured on 100 digits: under 3e-5 for occlusion and
# gradient x input, and for integrated gradients under 3e-6 on most digits. The exception is a kink: a
# ReLU or a max-pool whose two candidates lie within float rounding of each other at one of the 16
# scaled drawings, where ONNX Runtime and PyTorch (whose forward passes differ by ~1e-7) send that
# step's gradient different ways (the CNN's test digit 57 at alpha 0.28: 8.8e-3 of the map's max;
# two of the ResNet's: 2.4e-3). As the export's own check allows near ties (export/verify.py), a digit
# may miss TOLERANCE at such a kink, if its maps still agree within KINK_L1 (the summed |difference|
# over the summed |captum's map|) and at most KINK_SHARE of the digits do.
TOLERANCE = 1e-3
KINK_L1 = 1e-2
KINK_SHARE = 0.05
FEW, MANY = 6, 100  # test digits per model and method: the default run, and the slow one


def as_drawn(digit: np.ndarray) -> Image.Image:
    """An MNIST digit (28, 28) uint8 as a person's picture of it: dark ink on white, 224 px."""
    return Image.fromarray(255 - digit).resize((224, 224), Image.BILINEAR)


# ---- (a) the maps against captum ------------------------------------------------------------------

@cache
def runners(name: str):
    from digitzoo.hub.serving.runtime import load_part

    return load_part(name, threads=1), load_part(name, "explain", threads=1)


def digits_and_targets(mnist_test, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` test digits (n, 28, 28) in [0, 1], each asked about its own digit, every third
    about another one ("why not 3?")."""
    images, labels = mnist_test
    x = images[:n].numpy().astype(np.float32) / 255
    targets = labels[:n].numpy().astype(np.int64)
    other = np.arange(n) % 3 == 2
    targets[other] = (targets[other] + 1 + np.arange(n)[other] % 9) % 10
    return x, targets


def captum_maps(name: str, method: str, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(n, 28, 28): captum's map of each digit, on the eager model rebuilt from its checkpoint."""
    import torch
    from captum.attr import InputXGradient, IntegratedGradients, Occlusion

    from digitzoo.hub.checkpoint import load_checkpoint

    model, _ = load_checkpoint(name)
    images, target = torch.from_numpy(x[:, None]), torch.from_numpy(targets)  # (n, 1, 28, 28), (n,)
    if method == "occlusion":
        window, stride = explain.OCCLUSION_WINDOW, explain.OCCLUSION_STRIDE
        with torch.no_grad():
            maps = Occlusion(model).attribute(images, sliding_window_shapes=(1, window, window), strides=(1, stride, stride),
                                              baselines=0, target=target, perturbations_per_eval=16)
    elif method == "integrated_gradients":
        maps = IntegratedGradients(model).attribute(images, baselines=0, target=target, n_steps=explain.IG_STEPS,
                                                    method="riemann_middle")
    else:
        maps = InputXGradient(model).attribute(images.clone().requires_grad_(True), target=target)
    return maps.detach()[:, 0].numpy()


def relative_diffs(name: str, method: str, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per digit (n,), max |explain.py's map - captum's| / max |captum's map|, and the same for the sums
    of |...| (the relative L1 difference)."""
    classify, explainer = runners(name)
    ours = np.stack([explain.attribution(xi, int(t), method, classify, explainer) for xi, t in zip(x, targets)])
    reference = captum_maps(name, method, x, targets)
    assert ours.shape == reference.shape == (len(x), 28, 28)
    scale = np.abs(reference).reshape(len(x), -1).max(axis=1)
    assert scale.min() > 0, "captum gives a digit an empty map"
    diff = np.abs(ours - reference).reshape(len(x), -1)
    return diff.max(axis=1) / scale, diff.sum(axis=1) / np.abs(reference).reshape(len(x), -1).sum(axis=1)


def assert_maps_agree(name: str, method: str, worst: np.ndarray, l1: np.ndarray) -> None:
    missed = np.flatnonzero(worst > TOLERANCE)
    assert len(missed) <= KINK_SHARE * len(worst) and np.all(l1[missed] <= KINK_L1), (
        f"{name} {method}: {len(missed)} of {len(worst)} digits over {TOLERANCE:g} of the map's max "
        f"(worst {worst.max():.2e}, digit {worst.argmax()}; relative L1 of those {l1[missed].round(5).tolist()})")


@pytest.mark.parametrize("method", list(explain.METHODS))
@pytest.mark.parametrize("name", DRAW_CLASSIFIERS)
def test_maps_match_captum_on_a_few_digits(name, method, mnist_test):
    assert_maps_agree(name, method, *relative_diffs(name, method, *digits_and_targets(mnist_test, FEW)))


@pytest.mark.slow
@pytest.mark.parametrize("method", list(explain.METHODS))
@pytest.mark.parametrize("name", DRAW_CLASSIFIERS)
def test_maps_match_captum_on_a_hundred_digits(name, method, mnist_test):
    assert_maps_agree(name, method, *relative_diffs(name, method, *digits_and_targets(mnist_test, MANY)))


# ---- (b) the explainer files ----------------------------------------------------------------------

def test_every_draw_classifier_has_a_listed_explainer_with_its_feature_maps():
    from digitzoo.hub.registry import get_spec

    assert len(DRAW_CLASSIFIERS) >= 2
    root = exports_root()
    for name in DRAW_CLASSIFIERS:
        (item,) = [a for a in MANIFEST.models[name].artifacts if a.role == "explainer"]
        assert (item.part, item.format, item.file) == ("explain", "onnx", f"{name}/{name}_explain.onnx"), name
        assert sha256_file(root / item.file) == item.sha256, name
        assert [t.name for t in item.inputs] == ["image", "target"]
        names = [t.name for t in item.outputs]
        assert names[:2] == ["logits", "input_x_gradient"], name
        blocks = get_spec(name).feature_blocks  # conv models name theirs; the MLP and the LSTM have none
        assert names[2:] == [f"block{i + 1}" for i in range(len(blocks))], name
        for (module, label), tensor in zip(blocks, item.outputs[2:]):
            assert tensor.description.startswith(f"{label}: ") and f"({module})" in tensor.description, tensor
            assert len(tensor.shape) == 4 and tensor.shape[0] == "batch", tensor
    featured = {name: any(t.name.startswith("block") for a in MANIFEST.models[name].artifacts if a.role == "explainer"
                          for t in a.outputs) for name in DRAW_CLASSIFIERS}
    assert not featured["mnist_mlp"] and not featured["mnist_lstm"] and featured["mnist_cnn"], featured


@pytest.mark.parametrize("name", DRAW_CLASSIFIERS)
def test_the_shipped_explainer_matches_autograd(name, mnist_test):
    import torch

    from digitzoo.export.explain_graph import EagerExplainer
    from digitzoo.export.verify import compare_explainer
    from digitzoo.hub.checkpoint import load_checkpoint
    from digitzoo.hub.registry import get_spec

    x, targets = digits_and_targets(mnist_test, 8)
    model, _ = load_checkpoint(name)
    eager = EagerExplainer(model, get_spec(name).feature_blocks).eval()
    parity = compare_explainer(runners(name)[1], lambda *a: [o.numpy() for o in eager(*map(torch.from_numpy, a))],
                               (x[:, None], targets))
    assert parity.ok, parity


# ---- (c) digitzoo explain -------------------------------------------------------------------------

def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "digitzoo.hub", "explain", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def seven_png(tmp_path_factory, mnist_test):
    """The first MNIST test digit (a 7), as a picture of it: dark ink on white, 224 px."""
    images, labels = mnist_test
    assert int(labels[0]) == 7
    path = tmp_path_factory.mktemp("digits") / "seven.png"
    as_drawn(images[0].numpy()).save(path)
    return path


def test_cli_explains_a_digit_as_json_and_writes_the_png(seven_png, tmp_path):
    out = cli("mnist_cnn", seven_png, "--json", "--out", tmp_path / "map.png", "--method", "gradient_x_input")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert (answer["model"], answer["method"], answer["digit"], answer["target"]) == ("mnist_cnn", "gradient_x_input", 7, 7)
    assert answer["verdict"] == "digit" and answer["not_a_digit"] < 0.5 and not answer["empty"]
    assert np.argmax(answer["probabilities"]) == 7 and abs(sum(answer["probabilities"]) - 1) < 1e-4
    attr = np.array(answer["map"])
    assert attr.shape == (28, 28) and np.abs(attr).max() > 0
    assert all(float(f"{v:.6g}") == v for v in attr.ravel())  # 6 significant digits
    # The same map as explain.py's on the 28x28 the CLI read (rounded to 6 digits on the way).
    seen = np.array(answer["seen"], np.float32)
    want = explain.attribution(seen, 7, "gradient_x_input", *runners("mnist_cnn"))
    np.testing.assert_allclose(attr, want, atol=1e-4 * np.abs(want).max())
    assert [b["label"] for b in answer["blocks"]] == ["conv block 1", "conv block 2", "conv block 3"]
    assert answer["blocks"][0]["shape"] == [32, 28, 28] and answer["rows"] is None
    picture = Image.open(tmp_path / "map.png")
    assert picture.format == "PNG" and picture.size == (280, 280)
    # The strongest square lies on the ink the model read.
    rows, cols = answer["strongest"]["rows"], answer["strongest"]["columns"]
    assert seen[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1].sum() > 2


def test_cli_summary_for_a_person_and_the_lstms_rows(seven_png):
    out = cli("mnist_lstm", seven_png, "--target", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mnist_lstm reads 7 (") and f"method: {explain.DEFAULT_METHOD}" in lines[1], out.stdout
    assert "for digit 1" in lines[1] and any(line.startswith("row by row: reading row") for line in lines), out.stdout


@pytest.mark.parametrize("args, message", [
    (["mnist_ae3d", "{png}"], "'mnist_ae3d' is not a model this hub explains: choose one of mnist_cnn, "),
    (["mnist_vit", "{png}"], "'mnist_vit' is not a model this hub explains"),
    (["mnist_cnn", "{png}", "--method", "lime"], "'lime' is not a method: choose one of occlusion, integrated_gradients"),
    (["mnist_cnn", "{png}", "--target", "12"], "target must be a whole number from 0 to 9, got 12."),
    (["mnist_cnn", "{missing}"], "no such file"),
    (["mnist_cnn", "{text}"], "That is not an image this server reads"),
])
def test_cli_errors_are_one_line(args, message, seven_png, tmp_path, capsys):
    from digitzoo.cli import main

    (tmp_path / "notes.txt").write_text("not a picture")
    fill = {"png": seven_png, "missing": tmp_path / "nowhere.png", "text": tmp_path / "notes.txt"}
    code = main(["explain", *[a.format(**fill) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_cli_unknown_model_exits_with_status_2_in_a_real_process(seven_png):
    out = cli("mnist_gan", seven_png)
    assert out.returncode == 2 and out.stdout == "", out
    assert out.stderr.strip().startswith("digitzoo: error: 'mnist_gan' is not a model this hub explains")
    assert out.stderr.count("\n") == 1, out.stderr


# ---- (e) bad input: an empty pad, a scribble --------------------------------------------------------

def test_an_empty_pad_is_explained_as_not_sure_with_a_map_of_zeros():
    from digitzoo.apps import explaining

    for method in explain.METHODS:
        answer = explaining.explain_drawing(Image.new("RGB", (280, 280), "white"), None, method)
        assert answer.empty and answer.not_sure and answer.verdict().startswith("not sure: looks most like")
        assert answer.map.shape == (28, 28) and not answer.map.any()
        assert answer.caption().startswith("not sure:") and "CNN" in answer.caption()
        assert answer.strongest() is None and "not sure" in answer.report()
        data = answer.to_json()
        assert data["empty"] and data["png"].startswith("data:image/png;base64,")
    # The pad's own value when nothing is drawn, and a Sketchpad without a composite.
    for value in ({"strokes": [], "png": None}, {"background": None, "layers": [], "composite": None}):
        assert explaining.explain_drawing(value, "mnist_lstm").empty


def test_a_scribble_is_explained_as_not_sure_and_still_gets_its_map():
    from digitzoo.apps import explaining

    star = Image.new("L", (280, 280), 255)  # a five-pointed star in one stroke: not a digit
    points = [(140 + 110 * np.cos(np.pi / 2 + i * 4 * np.pi / 5), 140 - 110 * np.sin(np.pi / 2 + i * 4 * np.pi / 5))
              for i in range(6)]
    ImageDraw.Draw(star).line(points, fill=0, width=12, joint="curve")
    answer = explaining.explain_drawing(star, "mnist_cnn", "occlusion")
    assert answer.not_digit > 0.5 and answer.not_sure and not answer.empty
    assert answer.caption() == "not sure: the map shows what CNN saw anyway"
    assert np.abs(answer.map).max() > 0 and answer.target == answer.digit


def test_a_method_found_not_faithful_on_a_model_is_said_so(seven_png):
    """The shipped verdicts of `digitzoo bench explain` label a map as the page does: said where the
    method failed the deletion test on that model, silent where it passed."""
    from digitzoo.apps import explaining
    from digitzoo.hub.serving import faithfulness

    verdicts = faithfulness.method_verdicts()
    for model in ("mnist_cnn", "mnist_mlp"):
        answer = explaining.explain_drawing(Image.open(seven_png), model, "occlusion")
        verdict = verdicts[model]["occlusion"]
        assert answer.to_json(png=False)["faithfulness"] == verdict
        said = answer.unfaithful()
        assert bool(said) == (not verdict["faithful"]) and (said in answer.report()) is True
        if said:
            assert f"on {100 * verdict['share']:.0f}% of test digits (goal 90%)" in said


def test_the_explainer_is_opened_as_onnx_under_the_torchscript_backend(seven_png):
    """`digitzoo serve --backend torchscript` opens every part of a shown model at start: the
    explainer, exported as ONNX only, opens as ONNX there, and explains like under the ONNX backend."""
    from digitzoo.apps import explaining, parts

    onnx_map = explaining.explain_drawing(Image.open(seven_png), "mnist_cnn", "gradient_x_input").map
    try:
        parts.configure(backend="torchscript")
        assert parts.get("mnist_cnn", "explain").backend == "onnx" and parts.get("mnist_cnn").backend == "torchscript"
        torch_map = explaining.explain_drawing(Image.open(seven_png), "mnist_cnn", "gradient_x_input").map
    finally:
        parts.configure()
    np.testing.assert_allclose(torch_map, onnx_map, atol=1e-5)


# ---- (d) the /explain API and the MCP explain tool, on one real server -----------------------------

@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """`python -m digitzoo.hub serve --mcp --tab draw` until it answers (as tests/test_mcp.py starts it)."""
    pytest.importorskip("mcp")
    from digitzoo.hub.benchmarking import serving

    command = [sys.executable, "-m", "digitzoo.hub", "serve", "--mcp", "--tab", "draw", "--port", "{port}"]
    with serving(command, env={**os.environ, "OMP_NUM_THREADS": "1"},
                 log_path=tmp_path_factory.mktemp("explain-server") / "server.log") as server:
        yield server.url


def test_the_explain_api_answers_a_map_and_its_png(hub, mnist_test):
    from gradio_client import Client

    images, labels = mnist_test
    client = Client(hub, verbose=False)
    inline = {"url": png_data_url(as_drawn(images[1].numpy())), "meta": {"_type": "gradio.FileData"}}
    answer = client.predict(inline, "mnist_lstm", "integrated_gradients", None, api_name="/explain")
    assert (answer["model"], answer["digit"], answer["target"]) == ("mnist_lstm", int(labels[1]), int(labels[1]))
    assert np.array(answer["map"]).shape == (28, 28) and len(answer["rows"]) == 28 and answer["blocks"] == []
    picture = Image.open(io.BytesIO(base64.b64decode(answer["png"].split(",", 1)[1])))
    assert picture.size == (280, 280)
    # "Why not 3?" for the CNN, with the defaults of the other inputs.
    why_not = client.predict(inline, "mnist_cnn", "occlusion", 3, api_name="/explain")
    assert why_not["target"] == 3 and why_not["digit"] == int(labels[1]) and why_not["verdict"] == "digit"
    # An empty pad: a map (of zeros), not an error.
    blank = client.predict({"url": png_data_url(Image.new("L", (200, 200), 255))}, "mnist_cnn", "occlusion", None,
                           api_name="/explain")
    assert blank["empty"] and blank["verdict"].startswith("not sure") and not np.any(blank["map"])


@pytest.mark.parametrize("model, method, target, message", [
    ("mnist_ae3d", "occlusion", None, "'mnist_ae3d' is not a model this hub explains"),
    ("mnist_cnn", "saliency", None, "'saliency' is not a method"),
    ("mnist_cnn", "occlusion", 10, "target must be a whole number from 0 to 9"),
])
def test_the_explain_api_refuses_with_a_sentence(hub, model, method, target, message):
    from gradio_client import Client

    client = Client(hub, verbose=False)
    with pytest.raises(Exception, match=message):
        client.predict({"url": png_data_url(drawn_one())}, model, method, target, api_name="/explain")


def mcp_call(url: str, name: str, arguments: dict):
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def go():
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                return tools, await session.call_tool(name, arguments)

    return asyncio.run(go())


def test_the_mcp_explain_tool(hub):
    url = hub + "gradio_api/mcp/"
    tools, result = mcp_call(url, "explain", {"image": png_data_url(drawn_one()), "method": "gradient_x_input"})
    schema = tools["explain"].inputSchema
    assert {p: v.get("type") for p, v in schema["properties"].items()} == \
        {"image": "string", "model": "string", "method": "string", "target": "integer"}
    assert schema["required"] == ["image"] and "Returns:" in tools["explain"].description
    assert not result.isError, result
    answer = json.loads("\n".join(c.text for c in result.content if c.type == "text"))
    assert (answer["model"], answer["digit"], answer["method"], answer["verdict"]) == ("mnist_cnn", 1, "gradient_x_input", "digit")
    assert np.array(answer["map"]).shape == (28, 28) and "png" not in answer
    # A model not listed: the MCP server checks the schema's choices; a digit out of range: the tool's sentence.
    for arguments, message in (({"model": "mnist_gan"}, "'mnist_gan' is not one of ['mnist_cnn', "),
                               ({"target": 10}, "target must be a whole number from 0 to 9, got 10.")):
        _, bad = mcp_call(url, "explain", {"image": png_data_url(drawn_one()), **arguments})
        text = "\n".join(c.text for c in bad.content if c.type == "text")
        assert bad.isError and message in text and "Traceback" not in text, text
