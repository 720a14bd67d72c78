"""The models as MCP tools (`digitzoo serve --mcp`): classify, explain, encode, decode, sample.

Gradio's MCP server (``launch(mcp_server=True)``, at /gradio_api/mcp/) turns endpoints into
tools: the function's docstring is the tool's description (its ``Args:`` lines describe the
parameters, one line each; its ``Returns:`` lines, which Gradio joins with ", ", the answer) and
the endpoint's input components give the JSON schema of each parameter. The page's own events
take what a page sends (a Sketchpad's layers, a slider's value), so the tools are small functions
of their own, each a hidden public endpoint (/tool_classify, ...) with plain inputs: an image as
text, numbers, whole numbers.

Gradio 6.31 would list every public endpoint as a tool, named after its function: the pages'
endpoints (/classify, /sample, ...), and the Playground's start/stop/reset of a training run.
``only_the_tools`` narrows its MCP server to the tools here (``TOOLS``), under their own names, before
the server takes its first request. That reaches into one attribute of Gradio's MCP server
(``tool_to_endpoint``), on the Gradio the project pins (see apps/startup.py's TESTED_GRADIO).

Coupling to the tabs is kept to their public functions: ``draw.default_pair`` (which classifiers
answer) and ``reading.read_digit`` (the one reading every way of asking shares, so a change in what
``draw.classify`` returns does not change this tool), ``latent.encode`` / ``latent.decode`` and
``gan.sample``; bad input is refused with the
sentences of ``apps.inputs`` (a gr.Error, which the tool answers as an error result).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import json
from urllib.parse import unquote

import gradio as gr
import numpy as np

from digitzoo.apps import draw, explaining, gan, latent, parts
from digitzoo.apps.inputs import MAX_IMAGE_BYTES, image_from_payload, integer, refuse
from digitzoo.apps.limits import MAX_REQUEST_BYTES
from digitzoo.apps.reading import read_digit
from digitzoo.hub.serving.explain import DEFAULT_METHOD, METHODS

FILE_ROUTE = "/gradio_api/file="
# The MCP transport's body limit. The mcp package (1.30) answers a body over 4 MiB, its default, with a
# plain-text 413, and its client then drops the session; Gradio 6.31 makes the transport with that
# default and has no setting for it. The tools take an inline image up to MAX_IMAGE_BYTES (13.4 MB as
# base64), so the transport takes what the server's body limit takes: any image up to the tools'
# limit reaches them, and one over it still reaches them and is refused with a sentence, as a tool error.
MCP_MAX_REQUEST_BYTES = MAX_REQUEST_BYTES
# Room for the JSON-RPC envelope around the largest image a tool takes.
_ENVELOPE_BYTES = 64 * 1024
IMAGE_FORMS = ("a data:image/png;base64,... URL, the bare base64 of a PNG, JPEG or WebP file, or a file on this server "
               f"(the path /gradio_api/upload answered, or an image URL this server gave, ...{FILE_ROUTE}...)")


def read_image(image):
    """The tools' image argument (text, see IMAGE_FORMS) -> a PIL image; a sentence for anything else."""
    if not isinstance(image, str):
        raise refuse(f"image must be text: {IMAGE_FORMS}.")
    text = image.strip()
    if not text:
        raise refuse(f"image is empty: send {IMAGE_FORMS}.")
    if text.startswith("data:"):
        return image_from_payload({"url": text})
    if text.startswith(("http://", "https://")):
        # Only this server's own files, read from its disk: no URL is ever fetched.
        _, found, path = text.partition(FILE_ROUTE)
        if not found:
            raise refuse(f"Only images on this server are read by URL (...{FILE_ROUTE}...); "
                         "send any other image inline as a data:image/png;base64,... URL.")
        return image_from_payload({"path": unquote(path)})
    if text.startswith("/") and not text.startswith("/9j/"):  # a path; "/9j/" starts the base64 of a JPEG
        return image_from_payload({"path": text})
    try:
        return image_from_payload({"url": "data:image/png;base64," + text})  # Pillow reads the format from the bytes
    except gr.Error:
        if not _is_base64(text):  # not meant as base64 at all: say what an image argument can be
            raise refuse(f"image is not one of: {IMAGE_FORMS}.") from None
        raise


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _top(probs: np.ndarray, k: int = 3) -> dict[str, float]:
    return {str(d): round(float(probs[d]), 4) for d in np.argsort(probs)[::-1][:k]}


def classify(image: str) -> str:
    """Read a handwritten digit: which digit (0-9) an image shows, as read by the zoo's two default MNIST
    classifiers (a CNN, and an LSTM that reads the image row by row). Any size and colours: dark on light,
    light on dark, strokes on a transparent background; one digit per image.

    Args:
        image: one digit's picture: a data:image/png;base64,... URL, bare base64 of a PNG/JPEG, or an image on this server
    Returns:
        JSON text: {"digit": the first classifier's answer, "confidence": its probability, "agree": true when all say so
        "not_a_digit": the detector's probability that the image is no digit at all (a letter, shape, scribble)
        "verdict": "digit", or "not sure: looks most like N" when not_a_digit is over 0.5
        "models": [{"model", "name", "digit", "confidence", "top3": {digit: probability}} per classifier]}
    """
    reading = read_digit(read_image(image), list(draw.default_pair()))
    answers = [{"model": model, "name": parts.label(model), "digit": reading.digit(model),
                "confidence": round(float(probs[reading.digit(model)]), 4), "top3": _top(probs)}
               for model, probs in reading.probs.items()]
    first = answers[0]
    verdict = f"not sure: looks most like {first['digit']}" if reading.not_sure else "digit"
    doubt = reading.not_digit  # None for exports made before there was a detector
    return json.dumps({"digit": first["digit"], "confidence": first["confidence"],
                       "agree": all(a["digit"] == first["digit"] for a in answers),
                       "not_a_digit": None if doubt is None else round(doubt, 4), "verdict": verdict, "models": answers})


# The map an agent gets: 28x28 numbers of this many significant digits (the page's colours need no more).
EXPLAIN_DIGITS = 3


def explain(image: str, model: str = "", method: str = DEFAULT_METHOD, target: int | None = None) -> str:
    """Explain why a model reads a handwritten digit as it does ("why this digit?"): which ink pushed its score for
    a digit up and which pushed it down, as a 28x28 map of the image the model read (MNIST-centred, rows top to bottom).
    A drawing that is probably no digit, or an empty one, still gets its map, marked "not sure".

    Args:
        image: one digit's picture: a data:image/png;base64,... URL, bare base64 of a PNG/JPEG, or an image on this server
        model: the classifier to explain, one of the names listed (default: the first, the zoo's CNN)
        method: how the map is made: occlusion (4x4 patches of ink blackened), integrated_gradients or gradient_x_input
        target: the digit 0-9 to explain, to ask "why not 9?"; leave it out for the model's own answer
    Returns:
        JSON text: {"model", "name", "method", "target", "digit": the model's answer, "probabilities": ten numbers
        "verdict": "digit" or "not sure: looks most like N", "not_a_digit": the detector's probability, "caption"
        "strongest": {"rows", "columns", "where"} of the 7x7 square that pushed the target's score up most, or null
        "map": 28 rows of 28 numbers, > 0 for the target and < 0 against, "rows": per image row, for row-reading models
        "blocks": the feature maps' names and shapes}
    """
    answer = explaining.explain_drawing(read_image(image), model or None, method, target)
    return json.dumps({k: v for k, v in answer.to_json(EXPLAIN_DIGITS, png=False).items() if k not in ("seen", "device", "ms")})


def encode(image: str) -> str:
    """Place a digit in the latent space of the zoo's 3-D autoencoder: the image of a digit -> its code, three
    numbers. Digits of a kind lie near each other; decode turns a code back into an image.

    Args:
        image: one digit's picture: a data:image/png;base64,... URL, bare base64 of a PNG/JPEG, or an image on this server
    Returns:
        JSON text: the code [x, y, z]
    """
    return json.dumps(latent.encode(read_image(image)))


def decode(x: float, y: float, z: float) -> np.ndarray:
    """Draw the digit at a point of the 3-D autoencoder's latent space: (x, y, z) -> a 28x28 image shown at
    168x168, white on black. Codes of real digits lie within a few tens of the origin; encode gives the code
    of a digit's image, a place to start from.

    Args:
        x: first coordinate of the code, from -1000 to 1000
        y: second coordinate of the code, from -1000 to 1000
        z: third coordinate of the code, from -1000 to 1000
    Returns:
        a 168x168 PNG image of the decoded digit
    """
    return latent.decode(x, y, z)


def sample(digit: int | None = None, count: int = 16, seed: int = -1) -> np.ndarray:
    """Draw new handwritten digits with the zoo's class-conditional GAN: a grid of `count` digits, all of one
    digit or mixed. The same digit, count and seed give the same grid.

    Args:
        digit: the digit to draw, 0-9; leave it out for a random digit per image
        count: how many digits to draw, 1-64, in a grid of ceil(sqrt(count)) columns filled row by row
        seed: 0 to 2147483647 for a repeatable grid; -1 (the default) for a fresh random one
    Returns:
        a PNG image of the grid: white digits on dark grey, 28x28 pixels each, scaled up at least twice
    """
    count = integer(count, "count", 1, gan.MAX_GRID)
    image, _ = gan.sample("any" if digit is None else digit, seed, count)  # and a line of text for the page
    return image


# name -> the endpoint's api_name; the tool's name is the function's.
TOOLS = {"classify": "tool_classify", "explain": "tool_explain", "encode": "tool_encode", "decode": "tool_decode",
         "sample": "tool_sample"}


def build(app: gr.Blocks) -> None:
    """Add the tools as hidden public endpoints to ``app`` (inside its context).

    preprocess=False: the functions get what the client sent, and answer a wrong type or an
    out-of-range value with apps.inputs' sentences (the tab functions validate every argument).
    One output each: Gradio 6.31's MCP server answers a queued tool of several outputs with their
    list as one text (a MCP client that asks for progress would get them apart; most do not).
    """
    def image_box():
        return gr.Textbox(visible=False, label="image")

    def whole(label, value=None):
        return gr.Number(value=value, precision=0, visible=False, label=label)  # schema: integer

    def result():
        return gr.Textbox(visible=False, label="result")

    def picture(label):
        return gr.Image(type="numpy", format="png", visible=False, label=label)

    models = explaining.explainable()  # the explain tool's schema lists them
    events = {
        classify: ([image_box()], [result()]),
        explain: ([image_box(), gr.Dropdown(models, value=models[0] if models else None, visible=False, label="model"),
                   gr.Dropdown(list(METHODS), value=DEFAULT_METHOD, visible=False, label="method"), whole("target")],
                  [result()]),
        encode: ([image_box()], [result()]),
        decode: ([gr.Number(visible=False, label=axis) for axis in "xyz"], [picture("decoded digit")]),
        sample: ([whole("digit"), whole("count", 16), whole("seed", -1)], [picture("grid of digits")]),
    }
    for fn, (inputs, outputs) in events.items():
        gr.Button(visible=False).click(fn, inputs, outputs, api_name=TOOLS[fn.__name__], preprocess=False)


def allow_the_tools_images(server) -> None:
    """Set the MCP transport's body limit to MCP_MAX_REQUEST_BYTES (see there).

    Reaches into the session manager Gradio made (``GradioMCPServer.manager``) and the mcp package's
    body-limit middleware in front of it (``manager.asgi_app.max_body_size``, read per request), since
    neither offers a setting once made. An mcp older than its body limit has neither, and no limit.
    """
    if MAX_IMAGE_BYTES * 4 // 3 + _ENVELOPE_BYTES > MCP_MAX_REQUEST_BYTES:
        raise RuntimeError("MCP_MAX_REQUEST_BYTES is under the largest inline image the tools take")
    manager = server.manager
    if not hasattr(manager, "max_request_body_size"):
        return
    limiter = getattr(manager, "asgi_app", None)
    if not hasattr(limiter, "max_body_size"):  # a newer mcp: serve on, with its own limit, and say so once
        logging.getLogger("digitzoo.apps").warning(
            "digitzoo: the mcp package's body limit was not found; MCP calls over its default (4 MiB) are refused by the transport")
        return
    manager.max_request_body_size = limiter.max_body_size = MCP_MAX_REQUEST_BYTES


def only_the_tools(app: gr.Blocks):
    """A lifespan for ``launch(app_kwargs=...)``: once Gradio made its MCP server, and before the
    server answers anything, narrow the tools it lists and calls to ``TOOLS``, and let its transport
    take the images the tools take (``allow_the_tools_images``)."""
    @contextlib.asynccontextmanager
    async def lifespan(_fastapi_app):
        server = app.mcp_server_obj
        if server is not None:
            named = server.api_info["named_endpoints"]
            missing = [api for api in TOOLS.values() if f"/{api}" not in named]
            if missing:
                raise RuntimeError(f"MCP tools without a public endpoint: {', '.join(missing)}")
            server.tool_to_endpoint = {server.tool_prefix + name: f"/{api}" for name, api in TOOLS.items()}
            allow_the_tools_images(server)
        yield

    return lifespan
