"""`digitzoo serve --mcp`: a real server, a real MCP client (the `mcp` package) over streamable HTTP.

Lists the tools (exactly the five, each described, with typed parameters), calls classify on
drawn and MNIST digits, sample, encode -> decode -> classify on the server's own image, and bad
input, which must come back as a sentence in an error result.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import os
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip("mcp")  # digitzoo[test] installs it (through digitzoo[mcp])
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from digitzoo.hub.benchmarking import serving  # noqa: E402
from pictures import drawn_one, png_data_url

TOOLS = {"classify", "explain", "encode", "decode", "sample"}


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory):
    """`python -m digitzoo.hub serve --mcp` until it answers; yields its MCP URL, stops it after."""
    command = [sys.executable, "-m", "digitzoo.hub", "serve", "--mcp", "--port", "{port}"]
    with serving(command, env={**os.environ, "OMP_NUM_THREADS": "1"},
                 log_path=tmp_path_factory.mktemp("mcp-server") / "server.log") as server:
        yield server.url + "gradio_api/mcp/"


def session(url: str, work):
    """Run ``await work(session)`` in one MCP session (initialised) and return what it returns."""
    async def go():
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await work(s)

    return asyncio.run(go())


def call(url: str, name: str, arguments: dict):
    return session(url, lambda s: s.call_tool(name, arguments))


def text(result) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def image(result) -> Image.Image:
    (content,) = [c for c in result.content if c.type == "image"]
    assert content.mimeType == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(content.data)))


def test_lists_exactly_the_five_tools_described_and_typed(mcp_url):
    tools = {t.name: t for t in session(mcp_url, lambda s: s.list_tools()).tools}
    # Not the pages' own endpoints, not the Playground's start/stop/reset of a training run.
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 80 and "Returns:" in tool.description, tool
        schema = tool.inputSchema
        assert schema["type"] == "object" and schema["properties"], tool.name
        for name, param in schema["properties"].items():
            assert param.get("type") and len(param.get("description", "")) > 20, (tool.name, name, param)
    types = {name: {p: v["type"] for p, v in t.inputSchema["properties"].items()} for name, t in tools.items()}
    assert types == {"classify": {"image": "string"}, "encode": {"image": "string"},
                     "explain": {"image": "string", "model": "string", "method": "string", "target": "integer"},
                     "decode": {"x": "number", "y": "number", "z": "number"},
                     "sample": {"digit": "integer", "count": "integer", "seed": "integer"}}
    assert tools["classify"].inputSchema["required"] == ["image"] == tools["explain"].inputSchema["required"]
    assert tools["decode"].inputSchema["required"] == ["x", "y", "z"]
    assert "required" not in tools["sample"].inputSchema  # every argument has a default
    assert tools["sample"].inputSchema["properties"]["count"]["default"] == 16


def test_classify_reads_a_drawn_digit_and_mnist_digits(mcp_url, mnist_test):
    answer = json.loads(text(call(mcp_url, "classify", {"image": png_data_url(drawn_one())})))
    assert answer["digit"] == 1 and answer["agree"] and answer["confidence"] > 0.5, answer
    assert len(answer["models"]) == 2 and all(m["digit"] == 1 and len(m["top3"]) == 3 for m in answer["models"])
    assert answer["verdict"] == "digit" and answer["not_a_digit"] < 0.5

    star = Image.new("L", (280, 280), 255)  # a five-pointed star in one stroke: not a digit
    points = [(140 + 110 * math.cos(math.pi / 2 + i * 4 * math.pi / 5), 140 - 110 * math.sin(math.pi / 2 + i * 4 * math.pi / 5))
              for i in range(6)]
    ImageDraw.Draw(star).line(points, fill=0, width=12, joint="curve")
    doubt = json.loads(text(call(mcp_url, "classify", {"image": png_data_url(star)})))
    assert doubt["not_a_digit"] > 0.5 and doubt["verdict"] == f"not sure: looks most like {doubt['digit']}", doubt

    images, labels = mnist_test
    right = 0
    for i in range(6):
        digit = Image.fromarray(255 - images[i].numpy()).resize((224, 224), Image.BILINEAR)  # dark on white, larger
        # Bare base64 (no data: header) is read too: what an agent often sends.
        sent = png_data_url(digit) if i % 2 else png_data_url(digit).split(",", 1)[1]
        right += json.loads(text(call(mcp_url, "classify", {"image": sent})))["digit"] == int(labels[i])
    assert right >= 5


def test_sample_answers_a_seeded_grid_image(mcp_url):
    first = call(mcp_url, "sample", {"digit": 3, "count": 4, "seed": 5})
    assert not first.isError, text(first)
    grid = image(first)
    # 4 digits: 2x2 cells of 30 px (28 + gaps), scaled 5x (the smallest grids are shown large).
    assert grid.size == (300, 300)
    again = image(call(mcp_url, "sample", {"digit": 3, "count": 4, "seed": 5}))
    assert np.array_equal(np.asarray(grid), np.asarray(again))  # same seed, same digits
    assert image(call(mcp_url, "sample", {})).size == (240, 240)  # the defaults: 16 random digits, 4x4


def test_encode_decode_and_classify_the_servers_own_image(mcp_url):
    code = json.loads(text(call(mcp_url, "encode", {"image": png_data_url(drawn_one())})))
    assert len(code) == 3 and all(np.isfinite(code))
    decoded = call(mcp_url, "decode", dict(zip("xyz", code)))
    assert image(decoded).size == (168, 168)
    # The decoded image's URL on this server is an image argument like any other.
    url = text(decoded).split("Image URL: ")[1].strip()
    assert json.loads(text(call(mcp_url, "classify", {"image": url})))["digit"] == 1


@pytest.mark.parametrize("name, arguments, message", [
    ("classify", {"image": "hello"}, "image is not one of"),
    ("classify", {"image": "data:image/png;base64,aGVsbG8="}, "not an image this server reads"),
    ("classify", {"image": png_data_url(Image.new("L", (280, 280), 255))}, "empty"),
    ("classify", {"image": "/etc/passwd"}, "Only uploaded files are read"),
    ("classify", {"image": "https://example.com/seven.png"}, "Only images on this server are read by URL"),
    ("sample", {"count": 1000}, "count must be a whole number from 1 to 64"),
    ("sample", {"digit": 12}, "digit must be a whole number from 0 to 9"),
    ("sample", {"seed": -5}, "seed must be"),
    ("decode", {"x": 1e9, "y": 0, "z": 0}, "x must be between -1000 and 1000"),
    ("decode", {"x": "far", "y": 0, "z": 0}, "is not of type 'number'"),  # the MCP server checks the schema
    ("start", {}, "Unknown tool"),  # a Playground endpoint is no tool
])
def test_bad_input_is_a_clear_error(mcp_url, name, arguments, message):
    result = call(mcp_url, name, arguments)
    assert result.isError
    assert message in text(result) and "Traceback" not in text(result), text(result)
