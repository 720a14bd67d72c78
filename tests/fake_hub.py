"""A loopback fake of the Hugging Face Hub HTTP API, to run the real ``huggingface_hub`` client in tests.

Usage (see ``tests/test_fake_hub.py``)::

    with FakeHub(tokens={"hf_good": "alice"}) as hub:
        hub.use(monkeypatch, tmp_path / "hf_home")  # HF_ENDPOINT & co., in-process and for subprocesses
        HfApi(token="hf_good").upload_folder(...)
        assert hub.repos[("model", "alice/demo")].files["config.json"] == b"..."

Emulated, with the URLs, JSON fields and headers that huggingface_hub 2.4 sends and reads:

- ``GET /api/whoami-v2``: the user that a bearer token belongs to.
- ``POST /api/repos/create``: model, dataset and Space repositories (``visibility``, ``sdk``, ``hardware``);
  an existing repository answers 409 with its ``url``, which is what ``create_repo(exist_ok=True)`` accepts.
  A new repository gets an "initial commit" without files (the real Hub adds a ``.gitattributes``).
- ``GET /api/{type}s/{id}[/revision/{rev}]``: repository info with ``sha`` and ``siblings`` (always with size and
  blob id, as with ``files_metadata=True``); Spaces also carry ``sdk`` and a ``runtime``.
- ``GET /api/{type}s/{id}/tree/{rev}[/{path}]``: the file listing (recursive or not, in one page) that
  ``snapshot_download``, ``list_repo_files`` and ``upload_folder(delete_patterns=...)`` use.
- ``POST /api/validate-yaml``: accepts any README metadata.
- ``POST /api/{type}s/{id}/preupload/{rev}``: every file is "regular" and never ignored, with the git blob id of
  the current version as ``oid``, so the client skips unchanged files as it does against the real Hub. No file is
  ever "lfs", so neither LFS nor Xet is used: file contents travel base64-encoded in the commit, and the client
  takes this path even with ``hf_xet`` installed.
- ``POST /api/{type}s/{id}/commit/{rev}``: the NDJSON commit (header, ``file``, ``deletedFile``,
  ``deletedFolder`` lines), applied atomically to ``main``.
- ``HEAD``/``GET /[datasets/|spaces/]{id}/resolve/{rev}/{path}``: file metadata (``X-Repo-Commit``, ``ETag`` =
  git blob id, ``Content-Length``, no Xet headers) and contents, for ``main`` or any commit sha.
- Errors as the client maps them: ``X-Error-Code`` ``RepoNotFound`` (404, or 401 when a private repository is read
  without a token), ``RevisionNotFound``, ``EntryNotFound``; a token that is not in ``tokens`` gets
  401 "Invalid credentials in Authorization header" on any request, and so does a write without a token.

Not emulated: branches, tags and pull requests (``create_branch``, ``create_pr``; commits go to ``main`` only),
``parentCommit`` checks, LFS/Xet uploads and commit copies (answered 400), ``Range`` requests, redirects to a CDN,
pagination, gated repositories, organizations and permissions (any valid token may read and write any repository),
and every other endpoint (answered 404 without an error code).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_API_RE = re.compile(
    r"^/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+(?:/[^/]+)?)"
    r"(?:/(?P<action>revision|tree|preupload|commit)/(?P<rev>[^/]+)(?:/(?P<path>.*))?)?$"
)
_RESOLVE_RE = re.compile(r"^/(?:(?P<type>datasets|spaces)/)?(?P<repo>[^/]+(?:/[^/]+)?)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_COMMIT_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def git_blob_id(data: bytes) -> str:
    """The git object id of a file (what the Hub reports as ``oid``/``ETag`` for non-LFS files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class FakeRepo:
    """One repository. ``commits`` is the history of ``main``, oldest first; each commit is a dict with
    ``sha``, ``message``, ``description``, ``date``, ``operations`` (``(path, size)`` per added file,
    ``(path, None)`` per deleted one) and ``files`` (the whole tree after the commit, path -> bytes)."""

    repo_type: str
    repo_id: str
    private: bool = False
    space_sdk: str | None = None
    space_hardware: str | None = None
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def files(self) -> dict[str, bytes]:
        """The files on ``main``."""
        return self.commits[-1]["files"]

    def add_commit(self, message: str, description: str, operations: list, files: dict[str, bytes]) -> dict:
        parent = self.commits[-1]["sha"] if self.commits else ""
        seed = json.dumps([parent, message, operations, sorted((p, git_blob_id(d)) for p, d in files.items())])
        commit = {"sha": hashlib.sha1(seed.encode()).hexdigest(), "message": message, "description": description,
                  "date": _now(), "operations": operations, "files": files}
        self.commits.append(commit)
        return commit

    def commit_at(self, revision: str) -> dict:
        """The commit that ``revision`` (``main`` or a full commit sha) names."""
        if revision == "main":
            return self.commits[-1]
        if _COMMIT_SHA_RE.match(revision):
            for commit in self.commits:
                if commit["sha"] == revision:
                    return commit
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


class HubError(Exception):
    """An error answer, shaped like the Hub's: JSON ``{"error": ...}`` plus ``X-Error-Code``/``X-Error-Message``."""

    def __init__(self, status: int, message: str, code: str | None = None, *,
                 extra: dict | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.extra, self.headers = extra or {}, headers or {}


class FakeHub:
    """The fake Hub: a ``ThreadingHTTPServer`` on 127.0.0.1 (free port), served while the context is open.

    ``tokens`` maps valid bearer tokens to user names. ``repos`` maps ``(repo_type, repo_id)`` to a
    :class:`FakeRepo`; ``requests`` lists every ``(method, path)`` received (path without the query string).
    """

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.tokens = dict(tokens or {})
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.hub = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def use(self, monkeypatch: Any, hf_home: Path) -> None:
        """Point ``huggingface_hub`` at this fake, with ``hf_home`` as its home (cache, token file), for the test.

        Environment variables alone are not enough in-process: ``huggingface_hub.constants`` reads ``HF_ENDPOINT``
        (into ``ENDPOINT`` and ``HUGGINGFACE_CO_URL_TEMPLATE``, the template of every download URL), ``HF_HOME``,
        ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_HUB_DISABLE_TELEMETRY`` and the token path once, at import.
        So both are set: the module constants for this process (``HfApi()``, ``hf_hub_download`` and
        ``snapshot_download`` read them at call time), the environment for subprocesses. Saved tokens and
        ``HF_TOKEN`` are hidden, so only the tokens a test passes (or sets in ``HF_TOKEN``) are sent.
        """
        from huggingface_hub import constants

        hf_home = Path(hf_home)
        env = {"HF_ENDPOINT": self.url, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
               "HF_XET_CACHE": str(hf_home / "xet"), "HF_TOKEN_PATH": str(hf_home / "token"),
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
            monkeypatch.delenv(name, raising=False)
        patched = {"ENDPOINT": self.url,
                   "HUGGINGFACE_CO_URL_TEMPLATE": self.url + "/{repo_id}/resolve/{revision}/{filename}",
                   "HF_HOME": env["HF_HOME"], "HF_HUB_CACHE": env["HF_HUB_CACHE"], "HF_XET_CACHE": env["HF_XET_CACHE"],
                   "HF_TOKEN_PATH": env["HF_TOKEN_PATH"], "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
                   "HF_HUB_OFFLINE": False, "HF_HUB_DISABLE_TELEMETRY": True}
        for name, value in patched.items():
            monkeypatch.setattr(constants, name, value)

    # ---- request handling (server threads; state is guarded by the lock) ----

    def handle(self, method: str, raw_path: str, token: str | None, body: bytes) -> tuple[int, dict, bytes]:
        """Answer one request: (status, headers, body)."""
        url = urlsplit(raw_path)
        path, query = url.path, parse_qs(url.query)
        with self._lock:
            self.requests.append((method, path))
            try:
                status, headers, payload = self._route(method, path, query, token, body)
            except HubError as err:
                status, headers, payload = _error_answer(err)
            except (KeyError, ValueError, TypeError) as exc:  # a malformed request: answer, don't drop the connection
                status, headers, payload = _error_answer(HubError(400, f"FakeHub cannot handle {method} {path}: {exc!r}"))
        if isinstance(payload, bytes):
            return status, {"Content-Type": "application/octet-stream", **headers}, payload
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()

    def _route(self, method: str, path: str, query: dict, token: str | None, body: bytes):
        if token is not None and token not in self.tokens:
            raise HubError(401, INVALID_CREDENTIALS)
        user = self.tokens.get(token) if token is not None else None
        if (method, path) == ("GET", "/api/whoami-v2"):
            return 200, {}, self._whoami(_need_user(user))
        if (method, path) == ("POST", "/api/repos/create"):
            return self._create_repo(_need_user(user), json.loads(body))
        if (method, path) == ("POST", "/api/validate-yaml"):
            return 200, {}, {"errors": [], "warnings": []}
        if match := _API_RE.match(path):
            repo_type, repo_id = _TYPES[match["type"]], unquote(match["repo"])
            action, rev = match["action"], unquote(match["rev"] or "main")
            if method == "GET" and action in (None, "revision"):
                repo = self._readable(repo_type, repo_id, user)
                return 200, {}, self._info(repo, repo.commit_at(rev))
            if method == "GET" and action == "tree":
                repo = self._readable(repo_type, repo_id, user)
                return 200, {}, _tree(repo.commit_at(rev)["files"], unquote(match["path"] or ""),
                                      query.get("recursive", ["false"])[0].lower() == "true")
            if method == "POST" and action in ("preupload", "commit"):
                repo = self._writable(repo_type, repo_id, user, rev, query)
                return 200, {}, (_preupload if action == "preupload" else self._commit)(repo, body)
        if method in ("HEAD", "GET") and (match := _RESOLVE_RE.match(path)):
            repo = self._readable(_TYPES[match["type"] or "models"], unquote(match["repo"]), user)
            commit = repo.commit_at(unquote(match["rev"]))
            headers = {"X-Repo-Commit": commit["sha"]}
            file_path = unquote(match["path"])
            if file_path not in commit["files"]:
                raise HubError(404, "Entry not found", "EntryNotFound", headers=headers)
            data = commit["files"][file_path]
            return 200, {**headers, "ETag": f'"{git_blob_id(data)}"'}, data
        raise HubError(404, f"FakeHub does not emulate {method} {path}")

    def _whoami(self, user: str) -> dict:
        return {"type": "user", "id": hashlib.sha1(user.encode()).hexdigest()[:24], "name": user, "fullname": user,
                "isPro": False, "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "fake-hub", "role": "write"}}}

    def _create_repo(self, user: str, body: dict):
        repo_type = body.get("type") or "model"
        repo_id = f"{body.get('organization') or user}/{body['name']}"
        url = f"{self.url}/{URL_PREFIXES[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.repos:
            raise HubError(409, f"You already created this {repo_type} repo", extra={"url": url})
        repo = FakeRepo(repo_type, repo_id, private=body.get("visibility") == "private",
                        space_sdk=body.get("sdk"), space_hardware=body.get("hardware"))
        repo.add_commit("initial commit", "", [], {})
        self.repos[(repo_type, repo_id)] = repo
        return 200, {}, {"url": url, "name": repo_id, "id": repo.commits[0]["sha"][:24]}

    def _readable(self, repo_type: str, repo_id: str, user: str | None) -> FakeRepo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        if repo.private and user is None:
            raise HubError(401, "Repository not found", "RepoNotFound")
        return repo

    def _writable(self, repo_type: str, repo_id: str, user: str | None, rev: str, query: dict) -> FakeRepo:
        repo = self._readable(repo_type, repo_id, _need_user(user))
        if "create_pr" in query:
            raise HubError(400, "FakeHub does not emulate pull requests (create_pr)")
        if rev != "main":
            raise HubError(404, f"Invalid rev id: {rev} (FakeHub commits to main only)", "RevisionNotFound")
        return repo

    def _info(self, repo: FakeRepo, commit: dict) -> dict:
        info = {"id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit["sha"],
                "private": repo.private, "gated": False, "disabled": False, "tags": [],
                "lastModified": repo.commits[-1]["date"], "createdAt": repo.commits[0]["date"],
                "siblings": [{"rfilename": p, "size": len(d), "blobId": git_blob_id(d)}
                             for p, d in sorted(commit["files"].items())]}
        if repo.repo_type == "space":
            info["sdk"] = repo.space_sdk
            info["runtime"] = {"stage": "BUILDING", "hardware": {"current": None, "requested": repo.space_hardware}}
        return info

    def _commit(self, repo: FakeRepo, body: bytes) -> dict:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            raise HubError(400, "The commit payload must start with a header line")
        header, files, operations = lines[0]["value"], dict(repo.files), []
        for line in lines[1:]:
            key, path = line["key"], line["value"]["path"]
            if key == "file":
                files[path] = base64.b64decode(line["value"]["content"])
                operations.append((path, len(files[path])))
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                operations.append((path, None))
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                for gone in [p for p in files if p.startswith(prefix)]:
                    del files[gone]
                    operations.append((gone, None))
            else:
                raise HubError(400, f"FakeHub does not emulate {key!r} commit operations (LFS/Xet, copies)")
        commit = repo.add_commit(header["summary"], header.get("description", ""), operations, files)
        url = f"{self.url}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}/commit/{commit['sha']}"
        return {"success": True, "commitOid": commit["sha"], "commitUrl": url, "hookOutput": ""}


def _error_answer(err: HubError) -> tuple[int, dict, dict]:
    headers = {"X-Error-Message": err.message, **err.headers}
    if err.code:
        headers["X-Error-Code"] = err.code
    return err.status, headers, {"error": err.message, **err.extra}


def _need_user(user: str | None) -> str:
    if user is None:
        raise HubError(401, INVALID_CREDENTIALS)
    return user


def _preupload(repo: FakeRepo, body: bytes) -> dict:
    files = repo.files
    return {"commitOid": repo.commits[-1]["sha"],
            "files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                       "oid": git_blob_id(files[f["path"]]) if f["path"] in files else None}
                      for f in json.loads(body)["files"]]}


def _tree(files: dict[str, bytes], folder: str, recursive: bool) -> list[dict]:
    """The ``/tree`` entries under ``folder``: files and folders, all levels or only the first."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    entries: dict[str, dict] = {}
    for path, data in sorted(files.items()):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix):].split("/")
        shown = parts if recursive else parts[:1]
        for depth in range(1, len(shown) + 1):
            sub = prefix + "/".join(shown[:depth])
            if sub == path:
                entries[sub] = {"type": "file", "path": sub, "size": len(data), "oid": git_blob_id(data)}
            else:
                entries.setdefault(sub, {"type": "directory", "path": sub,
                                         "oid": hashlib.sha1(f"tree {sub}".encode()).hexdigest()})
    if prefix and not entries:
        raise HubError(404, f"{folder} does not exist", "EntryNotFound")
    return list(entries.values())


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 (one request per connection), so no keep-alive thread outlives the server."""

    server: ThreadingHTTPServer

    def _serve(self) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, payload = self.server.hub.handle(self.command, self.path, token, body)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: `hub.requests` records the traffic
        pass
