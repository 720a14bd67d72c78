"""The built Space, copied elsewhere, installs into a fresh virtual environment from its own
requirements.txt alone and serves: `python app.py` answers /classify over HTTP.

Needs the package registry (pip install); about a minute on 2 cores with a warm pip cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitzoo.hub.benchmarking import serving
from digitzoo.hub.serving.manifest import exports_root
from digitzoo.hub.publish.space import build_space


@pytest.fixture(scope="module")
def space_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("space")
    built = build_space(base / "built", exports_root(), "cpu-basic", "alice/digitzoo-mnist")
    moved = shutil.copytree(built, base / "elsewhere" / "my-space")  # nothing may point back at the checkout
    shutil.rmtree(built)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", "requirements.txt"], cwd=moved,
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITZOO_", "PYTHON"))}
    env.update(GRADIO_SERVER_PORT="{port}", GRADIO_ANALYTICS_ENABLED="False")
    with serving([str(python), "app.py"], cwd=moved, env=env, log_path=base / "app.log", timeout_s=180,
                 what="the Space") as server:
        yield {"url": server.url, "python": python, "dir": moved}


def test_space_venv_has_no_torch(space_server):
    out = subprocess.run([str(space_server["python"]), "-c", "import torch"], capture_output=True, timeout=60)
    assert out.returncode != 0  # the Space serves ONNX: torch is neither required nor installed


def test_space_serves_classify(space_server, tmp_path, mnist_test):
    from gradio_client import Client, handle_file

    images, labels = mnist_test
    client = Client(space_server["url"], verbose=False)
    right = 0
    for i in range(5):
        canvas = Image.new("L", (400, 400), 255)
        canvas.paste(Image.fromarray(255 - images[i].numpy()).resize((280, 280)), (60, 60))
        path = tmp_path / f"digit{i}.png"
        canvas.save(path)
        cnn, lstm, seen, _, info = client.predict(handle_file(str(path)), api_name="/classify")
        right += cnn["label"] == str(int(labels[i]))
        assert "onnxruntime" in info
        assert np.asarray(Image.open(seen)).shape[:2] == (28, 28)
    assert right >= 4
