"""Shared fixtures. MNIST comes from DIGITZOO_DATA (CI: ../shared/data); nothing touches the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config):
    # Hermetic: checkpoints/exports a user trained must not leak in; tests see the shipped ones.
    import tempfile

    os.environ["DIGITZOO_HOME"] = tempfile.mkdtemp(prefix="digitzoo-test-home-")
    if not os.environ.get("DIGITZOO_DATA") and (SHARED_DATA / "MNIST" / "raw").is_dir():
        os.environ["DIGITZOO_DATA"] = str(SHARED_DATA)
    import torch

    torch.set_num_threads(2)


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """A private DIGITZOO_HOME so tests never touch the user's checkpoints."""
    home = tmp_path / "store"
    monkeypatch.setenv("DIGITZOO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def mnist_test():
    from digitzoo.hub.mnist import load_mnist

    return load_mnist(train=False)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, one per test module (browser_support skips without it)."""
    from browser_support import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


# "Bring your own model": ONNX files the zoo did not make (tests/own_models.py), made once per run for
# tests/test_own_model.py (the CLI) and tests/test_yours_browser.py (the page). torch is imported only here.
@pytest.fixture(scope="session")
def good(tmp_path_factory):
    """Three working classifiers in three conventions: name -> path."""
    from own_models import write_good_models

    return write_good_models(tmp_path_factory.mktemp("own-good"))


@pytest.fixture(scope="session")
def refused(tmp_path_factory):
    """Files the checks must refuse, each wrong in one way: name -> path."""
    from own_models import write_refused_models

    return write_refused_models(tmp_path_factory.mktemp("own-refused"))
