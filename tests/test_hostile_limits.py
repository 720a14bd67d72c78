"""Limits a hostile probe found missing: an upload quota, an MCP body limit that agrees with the
tools' image limit, exports files opened through no link, and a pull that takes only what the
remote manifest lists and verifies it before anything is installed.

One real hub for the module (``serve(port=<free>, block=False, mcp=True)``), called with httpx and
the real ``mcp`` client; the pull runs the real huggingface_hub client against tests/fake_hub.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import zlib
from datetime import timedelta

import httpx
import numpy as np
import pytest
from fake_hub import FakeHub, FakeRepo
from PIL import Image, ImageDraw

from digitzoo.apps import upload_quota
from digitzoo.apps.bench import free_port
from digitzoo.hub.serving import paths
from digitzoo.cli import main
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import open_inside, read_inside
from digitzoo.hub.serving.manifest import MANIFEST_FORMAT, artifact, read_manifest

pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

MB = 2**20


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from digitzoo.apps import parts
    from digitzoo.apps.gradio_app import serve

    root = tmp_path_factory.mktemp("limits") / "exports"
    shutil.copytree(paths.pretrained_exports_dir(), root)
    app = serve(port=free_port(), block=False, root=str(root), tabs=["models"], mcp=True)
    try:
        yield f"http://127.0.0.1:{app.server_port}"
    finally:
        app.close()
        parts.configure()


# ---- a. uploads ---------------------------------------------------------------------------------

def test_uploads_over_a_clients_quota_are_refused_with_429(hub, monkeypatch):
    monkeypatch.setattr(upload_quota, "PER_CLIENT_BYTES", 3 * MB)
    with httpx.Client(base_url=hub, timeout=60) as http:
        answers = [http.post("/gradio_api/upload", files={"files": (f"f{i}.bin", os.urandom(MB))}) for i in range(4)]
    assert [a.status_code for a in answers[:2]] == [200, 200], answers[0].text
    assert answers[3].status_code == 429
    assert "Upload limit reached" in answers[3].json()["detail"]


def test_uploads_over_the_cache_budget_are_refused_for_everybody(hub, monkeypatch):
    monkeypatch.setattr(upload_quota, "PER_CLIENT_BYTES", 10**12)
    monkeypatch.setattr(upload_quota, "CACHE_BUDGET_BYTES", 0)  # full: what the earlier uploads left counts
    with httpx.Client(base_url=hub, timeout=60) as http:
        answer = http.post("/gradio_api/upload", files={"files": ("f.bin", b"x" * 1000)})
    assert answer.status_code == 429 and "no room for more uploads" in answer.json()["detail"]


# ---- b. MCP body limit and the tools' image limit ------------------------------------------------

def digit_png(padding: int) -> str:
    """A drawn "1" as a PNG data URL, made ``padding`` bytes larger by a private ancillary chunk (which
    readers skip), so the size of a call can be chosen without changing the picture."""
    img = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(img).line([(140, 40), (140, 240)], fill=0, width=24)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    png = buffer.getvalue()
    data = os.urandom(padding)
    chunk = struct.pack(">I", len(data)) + b"prVt" + data + struct.pack(">I", zlib.crc32(b"prVt" + data))
    return "data:image/png;base64," + base64.b64encode(png[:33] + chunk + png[33:]).decode()  # after IHDR


def test_a_large_mcp_call_is_answered_and_an_oversized_one_is_a_tool_error(hub):
    async def go():
        async with streamable_http_client(f"{hub}/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                limit = timedelta(seconds=60)
                five_mb = await s.call_tool("classify", {"image": digit_png(5 * MB)}, read_timeout_seconds=limit)
                eleven_mb = await s.call_tool("classify", {"image": digit_png(11 * MB)}, read_timeout_seconds=limit)
                after = await s.call_tool("classify", {"image": digit_png(0)}, read_timeout_seconds=limit)
                return five_mb, eleven_mb, after

    five_mb, eleven_mb, after = asyncio.run(asyncio.wait_for(go(), 120))
    assert not five_mb.isError and json.loads(five_mb.content[0].text)["digit"] == 1
    assert eleven_mb.isError and "larger than 10 MB" in eleven_mb.content[0].text
    assert not after.isError  # the session lives on


# ---- c. exports files through no link ------------------------------------------------------------

def test_a_file_swapped_for_a_link_after_a_first_read_is_refused(tmp_path):
    root, outside = tmp_path / "exports", tmp_path / "outside"
    (root / "m").mkdir(parents=True)
    outside.mkdir()
    (root / "m" / "f.onnx").write_bytes(b"model")
    (outside / "secret").write_bytes(b"secret")
    assert read_inside(root, "m/f.onnx", hashlib.sha256(b"model").hexdigest()) == b"model"
    (root / "m" / "f.onnx").unlink()
    (root / "m" / "f.onnx").symlink_to(outside / "secret")
    with pytest.raises(ValueError):
        read_inside(root, "m/f.onnx")
    (root / "m" / "f.onnx").unlink()
    (root / "m" / "f.onnx").symlink_to(root / "m" / "g")  # a link is refused even when it stays inside
    (root / "m" / "g").write_bytes(b"model")
    with pytest.raises(ValueError):
        read_inside(root, "m/f.onnx")
    shutil.rmtree(root / "m")
    (root / "m").symlink_to(outside)  # a folder on the way swapped for a link
    (outside / "f.onnx").write_bytes(b"model")
    with pytest.raises(ValueError):
        read_inside(root, "m/f.onnx")
    os.mkfifo(root / "fifo")  # never hangs
    for bad in ("fifo", "../outside/secret", "/etc/passwd", "m/../m/f.onnx"):
        with pytest.raises(ValueError):
            open_inside(root, bad)
    with pytest.raises(ValueError, match="does not match"):
        read_inside(outside, "f.onnx", "0" * 64)


def test_the_runtime_runs_the_bytes_it_checked(tmp_path, monkeypatch):
    """The file is swapped for a link to another model right after its bytes are read and checked:
    what runs is still the checked model (before, the runtime opened the path again after checking it)."""
    from digitzoo.hub.serving import files, runtime

    root = tmp_path / "exports"
    shutil.copytree(paths.pretrained_exports_dir(), root)
    item = artifact(read_manifest(root), "mnist_cnn", "model", "onnx")
    other = artifact(read_manifest(root), "mnist_mlp", "model", "onnx")
    checked_read = files.read_inside

    def read_then_swap(folder, relative, sha256=None):
        data = checked_read(folder, relative, sha256)
        (root / relative).unlink()
        (root / relative).symlink_to(root / other.file)
        return data

    monkeypatch.setattr(runtime, "read_inside", read_then_swap)
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    served = runtime.load_part("mnist_cnn", root=root, device="cpu")(x)[0]
    want = runtime.open_file(paths.pretrained_exports_dir() / item.file, "onnx", device="cpu")[0](x)[0]
    np.testing.assert_allclose(served, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(DigitzooError, match="manifest entry refused"):
        runtime.load_part("mnist_cnn", root=root, device="cpu")  # now a link: refused, whatever it points at


# ---- d. pull: only what the manifest lists, verified before anything is installed ----------------

REPO = "alice/digitzoo-mnist"


def fake_repo(files: dict[str, bytes], listed: dict[str, bytes]) -> FakeRepo:
    manifest = {"format": MANIFEST_FORMAT, "models": {},
                "repository": {"files": {p: {"sha256": hashlib.sha256(d).hexdigest()} for p, d in listed.items()}}}
    repo = FakeRepo("model", REPO)
    repo.add_commit("initial commit", "", [], {})
    repo.add_commit("push", "", [], {**files, "manifest.json": json.dumps(manifest).encode()})
    return repo


@pytest.fixture
def fake_hub(monkeypatch, tmp_path, store):
    with FakeHub() as hub:
        hub.use(monkeypatch, tmp_path / "hf_home")
        yield hub


def test_pull_downloads_only_the_files_the_manifest_lists(fake_hub, capsys):
    notes = b"listed notes"
    fake_hub.repos[("model", REPO)] = fake_repo({"notes/a.txt": notes, "run_me.py": b"import os", "big.bin": b"0" * MB},
                                                {"notes/a.txt": notes})
    assert main(["pull", REPO]) == 0, capsys.readouterr().err
    fetched = {path for method, path in fake_hub.requests if method == "GET" and "/resolve/" in path}
    assert not [p for p in fetched if p.endswith(("run_me.py", "big.bin"))], fetched
    installed = sorted(p.relative_to(paths.exports_dir()).as_posix() for p in paths.exports_dir().rglob("*") if p.is_file())
    assert installed == ["manifest.json", "notes/a.txt"]


def test_pull_copies_nothing_before_every_file_is_verified(fake_hub, monkeypatch, capsys):
    from digitzoo.hub.publish import hfclient

    fake_hub.repos[("model", REPO)] = fake_repo({"a.txt": b"tampered"}, {"a.txt": b"what was pushed"})
    copied = []
    monkeypatch.setattr(hfclient, "temp_dir_beside", lambda target: copied.append(target))
    assert main(["pull", REPO]) == 2
    assert "a.txt does not match the sha256" in capsys.readouterr().err
    assert copied == [] and not paths.exports_dir().exists()


@pytest.mark.parametrize("name", ["../escape.txt", "*", "/etc/passwd"])
def test_pull_refuses_a_manifest_naming_paths_or_patterns(fake_hub, capsys, name):
    fake_hub.repos[("model", REPO)] = fake_repo({"a.txt": b"a"}, {name: b"a"})
    assert main(["pull", REPO]) == 2
    assert "not a plain file of the repository" in capsys.readouterr().err
    assert not any("/resolve/" in path and not path.endswith("manifest.json") for _, path in fake_hub.requests)
