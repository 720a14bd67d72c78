"""The fake Hub (tests/fake_hub.py) driven by the real huggingface_hub client, as push and pull use it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fake_hub import FakeHub
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

GOOD = "hf_good"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with FakeHub(tokens={GOOD: "alice"}) as hub:
        hub.use(monkeypatch, tmp_path / "hf_home")
        yield hub


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(token=GOOD)  # no endpoint argument: HF_ENDPOINT, as `hub.use` made it effective


@pytest.fixture
def folder(tmp_path) -> Path:
    """A small model folder: text, a README with metadata, a ~2 MB binary and a file in a subfolder."""
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "README.md").write_text("---\nlicense: mit\n---\n# Demo\n")
    (root / "config.json").write_text('{"classes": 10}\n')
    (root / "weights.bin").write_bytes(random.Random(0).randbytes(2 * 1024 * 1024 + 17))
    (root / "sub" / "notes.txt").write_text("hello from a subfolder\n")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (but a local_dir's ``.cache`` bookkeeping) -> its bytes."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file() and ".cache" not in p.relative_to(root).parts)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def test_use_points_the_imported_client_and_subprocesses_at_the_fake(hub, tmp_path):
    assert os.environ["HF_ENDPOINT"] == hub.url
    assert HfApi().endpoint == hub.url
    assert hf_hub_url("alice/demo", "a.txt").startswith(hub.url + "/alice/demo/resolve/main/")
    assert constants.HF_HUB_CACHE == str(tmp_path / "hf_home" / "hub")

    code = "from huggingface_hub import HfApi; print(HfApi().whoami()['name'])"
    env = {**os.environ, "HF_TOKEN": GOOD}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "alice"


def test_whoami(hub, api):
    me = api.whoami()
    assert (me["name"], me["type"]) == ("alice", "user")
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(token="hf_bad").whoami()
    assert err.value.response.status_code == 401
    assert err.value.response.json() == {"error": "Invalid credentials in Authorization header"}
    assert ("GET", "/api/whoami-v2") in hub.requests


def test_create_repo_model_and_space(hub, api):
    url = api.create_repo("alice/demo", private=True)
    assert (url, url.repo_id, url.repo_type) == (f"{hub.url}/alice/demo", "alice/demo", "model")
    space_url = api.create_repo("alice/app", repo_type="space", space_sdk="gradio", space_hardware="cpu-basic")
    assert space_url == f"{hub.url}/spaces/alice/app"

    model, space = hub.repos[("model", "alice/demo")], hub.repos[("space", "alice/app")]
    assert (model.private, space.private) == (True, False)
    assert (space.space_sdk, space.space_hardware) == ("gradio", "cpu-basic")
    assert api.space_info("alice/app").sdk == "gradio"

    assert api.create_repo("alice/demo", exist_ok=True) == url  # the client accepts the 409 for exist_ok
    assert api.create_repo("alice/app", repo_type="space", space_sdk="gradio", exist_ok=True) == space_url
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("alice/demo")
    assert err.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(token=False).create_repo("alice/other")
    assert err.value.response.status_code == 401
    assert len(hub.repos) == 2


def test_upload_folder_lands_in_one_commit(hub, api, folder):
    api.create_repo("alice/demo")
    info = api.upload_folder(repo_id="alice/demo", folder_path=folder, commit_message="First weights")

    repo = hub.repos[("model", "alice/demo")]
    assert repo.files == tree_bytes(folder)
    assert [c["message"] for c in repo.commits] == ["initial commit", "First weights"]
    assert sorted(repo.commits[-1]["operations"]) == sorted((p, len(d)) for p, d in tree_bytes(folder).items())
    assert info.oid == repo.commits[-1]["sha"]
    assert info.commit_url == f"{hub.url}/alice/demo/commit/{info.oid}"
    assert ("POST", "/api/validate-yaml") in hub.requests  # README.md metadata is checked first
    assert ("POST", "/api/models/alice/demo/preupload/main") in hub.requests

    again = api.upload_folder(repo_id="alice/demo", folder_path=folder, commit_message="Same again")
    assert again.oid == info.oid and len(repo.commits) == 2  # unchanged files: no commit, as on the real Hub


def test_create_commit_adds_and_deletes(hub, api, folder):
    api.create_repo("alice/demo")
    api.upload_folder(repo_id="alice/demo", folder_path=folder, commit_message="First")
    info = api.create_commit(
        "alice/demo",
        [CommitOperationAdd("config.json", b'{"classes": 11}\n'), CommitOperationDelete("sub/notes.txt")],
        commit_message="Second",
        commit_description="more classes",
    )
    repo = hub.repos[("model", "alice/demo")]
    last = repo.commits[-1]
    assert (last["sha"], last["message"], last["description"]) == (info.oid, "Second", "more classes")
    assert last["operations"] == [("config.json", 16), ("sub/notes.txt", None)]
    assert repo.files["config.json"] == b'{"classes": 11}\n' and "sub/notes.txt" not in repo.files

    api.upload_folder(repo_id="alice/demo", folder_path=folder / "sub", commit_message="Prune", delete_patterns="*.bin")
    assert "weights.bin" not in repo.files and repo.files["notes.txt"] == b"hello from a subfolder\n"
    assert [c["message"] for c in repo.commits][-1] == "Prune"


def test_snapshot_download_and_hf_hub_download(hub, api, folder, tmp_path):
    api.create_repo("alice/demo")
    first = api.upload_folder(repo_id="alice/demo", folder_path=folder, commit_message="First")

    snapshot = Path(snapshot_download("alice/demo"))
    assert tree_bytes(snapshot) == tree_bytes(folder)
    assert snapshot.is_relative_to(tmp_path / "hf_home" / "hub")  # the cache of `hub.use`, not the user's

    api.create_commit("alice/demo", [CommitOperationAdd("sub/notes.txt", b"changed\n")], commit_message="Second")
    assert Path(hf_hub_download("alice/demo", "sub/notes.txt")).read_bytes() == b"changed\n"
    old = hf_hub_download("alice/demo", "sub/notes.txt", revision=first.oid)
    assert Path(old).read_bytes() == b"hello from a subfolder\n"
    local = tmp_path / "local"
    snapshot_download("alice/demo", revision=first.oid, local_dir=local)
    assert tree_bytes(local) == tree_bytes(folder)
    assert ("HEAD", "/alice/demo/resolve/main/sub/notes.txt") in hub.requests

    api.create_repo("alice/app", repo_type="space", space_sdk="gradio")
    api.upload_file(path_or_fileobj=b"print('hi')\n", path_in_repo="app.py", repo_id="alice/app", repo_type="space")
    assert Path(hf_hub_download("alice/app", "app.py", repo_type="space")).read_bytes() == b"print('hi')\n"
    assert ("GET", "/spaces/alice/app/resolve/main/app.py") in hub.requests


def test_private_repo_needs_a_token_to_read(hub, api, folder):
    api.create_repo("alice/secret", private=True)
    api.upload_folder(repo_id="alice/secret", folder_path=folder, commit_message="First")
    with pytest.raises(RepositoryNotFoundError):
        snapshot_download("alice/secret", token=False)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/secret", "config.json", token=False)
    with pytest.raises(HfHubHTTPError) as err:
        hf_hub_download("alice/secret", "config.json", token="hf_bad")
    assert err.value.response.status_code == 401
    assert tree_bytes(Path(snapshot_download("alice/secret", token=GOOD))) == tree_bytes(folder)


def test_missing_repo_revision_and_file(hub, api):
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/nothing")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/nothing", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        snapshot_download("alice/nothing")
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/nothing")

    api.create_repo("alice/demo")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("alice/demo", "missing.txt")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("alice/demo", "missing.txt", revision="v9")
    with pytest.raises(RevisionNotFoundError):
        snapshot_download("alice/demo", revision="0" * 40)
