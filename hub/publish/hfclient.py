"""The only code that talks to the Hugging Face Hub: push, space push, pull.

Everything goes through the real ``huggingface_hub`` client (``HF_ENDPOINT`` points it
elsewhere, which is how the tests run it against a loopback server). Each failure a user can
fix (no token, a refused token, a bad repo name, an unreachable Hub, a missing repo) becomes a
one-line ``PublishError``. ``--dry-run`` stops before the first network call and prints exactly
what would be created and uploaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from digitzoo.hub.serving import paths
from digitzoo.hub.checkpoint import CARD_FILE, WEIGHTS_FILE, read_card
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import sha256_file, temp_dir_beside
from digitzoo.hub.serving.manifest import MANIFEST_FILE, Manifest, read_manifest
from digitzoo.hub.publish.model_repo import RepoFile

Print = Callable[[str], None]


class PublishError(DigitzooError):
    """A push or pull that cannot go on, with the reason on one line."""


def endpoint() -> str:
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def check_repo_id(repo_id: str) -> str:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise PublishError(f"{repo_id!r} is not a valid repository name: {str(exc).split(':')[0]}") from None
    if "/" not in repo_id:
        raise PublishError(f"{repo_id!r}: give the owner too, as in 'your-name/{repo_id}'")
    return repo_id


def token_or_fail() -> str:
    """The token from HF_TOKEN or a saved `hf auth login`; a clear error when there is none."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)")
    return token


def _transport_errors() -> tuple[type[Exception], ...]:
    """Connection-level errors of the HTTP library huggingface_hub uses (httpx, or its fork httpx2)."""
    errors = []
    for module in ("httpx2", "httpx"):
        try:
            errors.append(__import__(module).TransportError)
        except ImportError:
            pass
    return tuple(errors)


@contextlib.contextmanager
def hub_errors(what: str, repo_id: str) -> Iterator[None]:
    """Turn the client's exceptions into one sentence that says what to do."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except RevisionNotFoundError:
        raise PublishError(f"{what}: {repo_id} has no such revision") from None
    except (RepositoryNotFoundError, GatedRepoError):
        raise PublishError(f"{what}: {repo_id} does not exist on {endpoint()}, or your token cannot see it") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            reason = "the Hub refused the token (401): check HF_TOKEN or run `hf auth login`"
        elif status == 403:
            reason = f"your token may not write to {repo_id} (403): use a token with write access"
        else:
            reason = f"the Hub answered {status}: {str(exc).splitlines()[0][:200]}"
        raise PublishError(f"{what}: {reason}") from None
    except (*_transport_errors(), LocalEntryNotFoundError, ConnectionError) as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc) else "no answer"
        raise PublishError(f"{what}: cannot reach the Hugging Face Hub at {endpoint()} ({type(exc).__name__}: {detail})") from None


def describe_plan(title: str, files: list[RepoFile], readme: str | None, out: Print) -> None:
    """The dry-run listing: every file with size and sha256, then the rendered README."""
    out(title)
    out(f"{len(files)} files, {sum(f.size for f in files) / 1e6:.1f} MB, in one commit:")
    for f in files:
        out(f"  {f.path:60s} {f.size:>11,d} B  sha256 {f.sha256}")
    if readme is not None:
        out("\n---- README.md ----")
        out(readme)


def _operations(files: list[RepoFile]):
    from huggingface_hub import CommitOperationAdd

    return [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.data if f.data is not None else str(f.source))
            for f in files]


def push_files(repo_id: str, files: list[RepoFile], *, repo_type: str, private: bool, revision: str | None,
               message: str, dry_run: bool, out: Print, space_hardware: str | None = None,
               space_sdk: str = "gradio") -> str | None:
    """Create the repository if needed and upload ``files`` in one commit; returns the commit URL."""
    check_repo_id(repo_id)
    card = next((f for f in files if f.path == "README.md"), None)
    readme = None if card is None else (card.data if card.data is not None else card.source.read_bytes()).decode()
    kind = {"space": "Space", "dataset": "dataset repository"}.get(repo_type, "model repository")
    where = f"{endpoint()}/{ {'space': 'spaces/', 'dataset': 'datasets/'}.get(repo_type, '')}{repo_id}"
    title = (f"Would create (if needed) the {'private' if private else 'public'} {kind} {where}"
             + (f" (sdk {space_sdk}" + (f", hardware {space_hardware})" if space_hardware else ")")
                if repo_type == "space" else "")
             + f" and commit to {revision or 'main'}: {message!r}")
    if dry_run:
        describe_plan(title, files, readme, out)
        out("\n(dry run: nothing was sent)")
        return None
    token = token_or_fail()
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint(), token=token)
    with hub_errors("checking the token", repo_id):
        user = api.whoami()["name"]
    out(f"Signed in to {endpoint()} as {user}")
    with hub_errors(f"creating {repo_id}", repo_id):
        # A static Space has no hardware to ask for: the visitors' browsers run it.
        extra = ({"space_sdk": space_sdk, **({"space_hardware": space_hardware} if space_hardware else {})}
                 if repo_type == "space" else {})
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **extra)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    with hub_errors(f"uploading to {repo_id}", repo_id):
        info = api.create_commit(repo_id, _operations(files), commit_message=message, repo_type=repo_type,
                                 revision=revision)
    out(f"Committed {len(files)} files: {info.commit_url}")
    return info.commit_url


def folder_files(folder: Path) -> list[RepoFile]:
    """The files of a built folder (a Space), as repository files."""
    return sorted((RepoFile.from_disk(p.relative_to(folder).as_posix(), p) for p in folder.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts), key=lambda f: f.path)


# ---- pull ----------------------------------------------------------------------------------
# A pull takes only what the repository's manifest lists, and checks every byte against it before
# anything reaches the store: the manifest comes first, alone; then only the files it lists are
# downloaded (``allow_patterns``), from the same commit; they are verified in the cache; and the
# copies made into the store are checked again as they are written. A file the manifest does not
# list (a script, a pickle, a 10 GB blob) is never downloaded, let alone installed.

# Characters fnmatch reads as a pattern: a listed name with them would allow more than itself.
_PATTERN_CHARACTERS = set("*?[]")


def listed_files(manifest: Manifest, where: Path) -> dict[str, dict]:
    """{path in the repository: its entry} of a pulled manifest; PublishError for a name that is not a
    plain relative path (``..``, absolute, a pattern) or for a manifest that lists nothing."""
    listed = (manifest.repository or {}).get("files")
    if not listed or not isinstance(listed, dict):
        raise PublishError(f"{where / MANIFEST_FILE} lists no repository files: not a repository pushed by digitzoo")
    for rel in listed:
        parts = rel.split("/")
        if (rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts)
                or _PATTERN_CHARACTERS & set(rel) or rel == MANIFEST_FILE):
            raise PublishError(f"the pulled manifest names {rel!r}, which is not a plain file of the repository: refusing the pull")
    return listed


def verify_snapshot(folder: Path) -> Manifest:
    """Check every file the manifest in ``folder`` lists against its sha256; the manifest, or PublishError."""
    manifest = read_manifest(folder)
    listed = listed_files(manifest, folder)
    for rel, meta in sorted(listed.items()):
        path = folder / rel  # a plain relative name (listed_files); in the cache, a link into its blob store
        if not path.is_file():
            raise PublishError(f"the pulled repository lacks {rel}, which its manifest lists")
        if sha256_file(path) != meta["sha256"]:
            raise PublishError(f"{rel} does not match the sha256 in the pulled manifest: refusing the whole pull")
    for _, item in manifest.artifacts():
        if item.file not in listed or listed[item.file]["sha256"] != item.sha256:
            raise PublishError(f"{item.file} is not listed consistently in the pulled manifest: refusing it")
    for name in manifest.models:
        weights, card_file = folder / name / WEIGHTS_FILE, folder / name / CARD_FILE
        if weights.is_file() and card_file.is_file() and sha256_file(weights) != read_card(folder / name)["weights_sha256"]:
            raise PublishError(f"{name}/{WEIGHTS_FILE} does not match its card: refusing the whole pull")
    return manifest


def _copy_checked(source: Path, target: Path, sha256: str) -> None:
    """Copy ``source`` to ``target``, checking the very bytes written against ``sha256``."""
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise PublishError(f"{source.name} changed in the Hugging Face cache while it was being installed: refusing the pull")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _swap_in(staging: Path, target: Path, out: Print) -> None:
    """Rename a complete ``staging`` folder onto ``target``; an existing ``target`` is kept aside, never deleted."""
    if target.exists():
        kept = target.with_name(f"{target.name}.before-pull-{time.strftime('%Y%m%d-%H%M%S')}")
        target.rename(kept)
        out(f"  kept your previous {target.name} as {kept}")
    staging.rename(target)


def install_snapshot(snapshot: Path, out: Print) -> Manifest:
    """Verify a pulled snapshot, copy the files its manifest lists next to the store, then make them the
    served exports.

    Nothing is copied before every listed file matched its sha256 in the cache, and only listed files
    are copied (each checked again as it is written). Checkpoints (weights + card) are restored the same way.
    """
    manifest = verify_snapshot(snapshot)
    listed = manifest.repository["files"]
    exports = paths.exports_dir()
    exports.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_dir_beside(exports)
    try:
        shutil.copyfile(snapshot / MANIFEST_FILE, staging / MANIFEST_FILE)
        if read_manifest(staging) != manifest:
            raise PublishError(f"{MANIFEST_FILE} changed in the Hugging Face cache while it was being installed: refusing the pull")
        for rel, meta in listed.items():
            _copy_checked(snapshot / rel, staging / rel, meta["sha256"])
        for name in manifest.models:
            if (staging / name / WEIGHTS_FILE).is_file() and (staging / name / CARD_FILE).is_file():
                target = paths.checkpoint_dir(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                checkpoint = temp_dir_beside(target)
                for file in (WEIGHTS_FILE, CARD_FILE):
                    shutil.copy2(staging / name / file, checkpoint / file)
                _swap_in(checkpoint, target, out)
        _swap_in(staging, exports, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def download_listed(repo_id: str, revision: str | None) -> Path:
    """The snapshot folder in the Hugging Face cache holding the repository's manifest and only the files it lists.

    The revision is first resolved to its commit (one request, which fails at once when the Hub cannot be
    reached, where a file download retries for half a minute); the manifest is downloaded alone, and the
    files it lists from the same commit, so a push between the downloads cannot mix versions.
    """
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    with hub_errors(f"downloading {repo_id}", repo_id):
        commit = HfApi(endpoint=endpoint()).repo_info(repo_id, revision=revision).sha
        snapshot = Path(hf_hub_download(repo_id, MANIFEST_FILE, revision=commit, endpoint=endpoint())).parent
    listed = listed_files(read_manifest(snapshot), snapshot)
    with hub_errors(f"downloading {repo_id}", repo_id):
        return Path(snapshot_download(repo_id, revision=commit, endpoint=endpoint(), allow_patterns=[MANIFEST_FILE, *listed]))


def pull(repo_id: str, revision: str | None, out: Print) -> Path:
    """Download what the repository's manifest lists through the huggingface_hub cache, verify every file,
    install; the exports folder."""
    check_repo_id(repo_id)
    snapshot = download_listed(repo_id, revision)
    manifest = install_snapshot(snapshot, out)
    out(f"Pulled {repo_id}@{revision or 'main'} through the Hugging Face cache ({snapshot}); "
        f"{len(manifest.repository['files'])} files match their sha256")
    out(f"Installed {', '.join(manifest.models)} in {paths.exports_dir()}: "
        "`digitzoo serve` and digitzoo.hub.serving.runtime use them now")
    return paths.exports_dir()
