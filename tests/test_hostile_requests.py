"""Hostile requests against a real running hub: nothing outside what the app offers can be read,
oversized bodies are refused early, malformed payloads get an error (a sentence where our code
handles the input) and never a traceback, and the server keeps answering.

One server for the module (``serve(port=<free>, block=False, root=<a copy of the exports>)``),
called over raw HTTP (``http.client`` for paths, so that ``..`` reaches the server unnormalised;
httpx for the Gradio API) and with gradio_client.
"""

from __future__ import annotations

import base64
import hashlib
import http.client as httplib
import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from digitzoo.apps.bench import free_port
from digitzoo.hub.serving import paths
from digitzoo.hub.lessons.lesson import get_lesson, list_lessons
from digitzoo.hub.serving.manifest import read_manifest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "DIGITZOO-HOSTILE-TEST-SECRET-7f3a"
ENDPOINTS = {"/classify": 1, "/explain": 4, "/encode": 1, "/decode": 3, "/interpolate": 2, "/sample": 3, "/sample_interpolate": 3}
# The Playground's endpoints, one set per lesson: Start (seed, knobs, steps), Stop, Reset, and the code
# download (seed, steps, knobs: the lesson as a script and a notebook).
LESSON_ENDPOINTS = {}
for _name in list_lessons():
    LESSON_ENDPOINTS |= {f"/lesson_{_name}": 2 + len(get_lesson(_name).knobs), f"/lesson_{_name}_stop": 0,
                         f"/lesson_{_name}_reset": 0, f"/lesson_{_name}_code": 2 + len(get_lesson(_name).knobs)}
ENDPOINTS |= LESSON_ENDPOINTS
FILE_DATA = {"_type": "gradio.FileData"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The hub on a copy of the shipped exports with an unlisted ``secret.txt`` dropped into it."""
    from digitzoo.apps import parts
    from digitzoo.apps.gradio_app import serve

    root = tmp_path_factory.mktemp("hostile") / "exports"
    shutil.copytree(paths.pretrained_exports_dir(), root)
    (root / "secret.txt").write_text(SECRET)
    (root / "mnist_cnn" / "secret.txt").write_text(SECRET)
    app = serve(port=free_port(), block=False, root=str(root))
    try:
        yield {"url": f"http://127.0.0.1:{app.server_port}", "port": app.server_port, "root": root}
    finally:
        app.close()
        parts.configure()  # back to the default exports for whatever runs next


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server["url"], timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory) -> Path:
    """A drawn "1" (black stroke on white) outside Gradio's upload folder."""
    path = tmp_path_factory.mktemp("digit") / "one.png"
    img = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(img).line([(140, 40), (140, 240)], fill="black", width=24)
    img.save(path)
    return path


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client-side normalisation of ``..`` or %-escapes)."""
    conn = httplib.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def call(http: httpx.Client, api: str, body) -> tuple[int, str, str]:
    """POST /gradio_api/call/<api>, then read its event stream: (HTTP status, last event, its data)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = http.post(f"/gradio_api/call/{api.strip('/')}", content=content, headers={"content-type": "application/json"})
    if r.status_code != 200:
        return r.status_code, "", r.text
    stream = http.get(f"/gradio_api/call/{api.strip('/')}/{r.json()['event_id']}").text
    events = [line[len("event: "):] for line in stream.splitlines() if line.startswith("event: ")]
    data = [line[len("data: "):] for line in stream.splitlines() if line.startswith("data: ")]
    return 200, events[-1] if events else "", data[-1] if data else ""


def error_message(data: str) -> str | None:
    return json.loads(data).get("error")


def assert_refused_cleanly(status: int, event: str, data: str) -> None:
    """An error (a 4xx, or an SSE error event), and no Python traceback in what the client gets."""
    assert (400 <= status < 500) or (status == 200 and event == "error"), (status, event, data[:300])
    assert "Traceback" not in data and 'File "/' not in data, data[:300]


def assert_still_answering(http: httpx.Client) -> None:
    status, event, data = call(http, "/decode", {"data": [0.0, 0.0, 0.0]})
    assert (status, event) == (200, "complete"), data[:300]


# --- the file route: only what the Models tab offers can be downloaded ------------------------

def download_buttons(http: httpx.Client) -> list[dict]:
    """The files the page offers. (The Playground's buttons start empty: they offer a lesson's own
    verified net only after a run, and only to that visitor.)"""
    config = http.get("/config").json()
    return [c["props"]["value"] for c in config["components"]
            if c.get("type") == "downloadbutton" and c["props"].get("value")]


def test_models_tab_offers_exactly_the_manifest_files_and_they_download(server, http):
    """Positive control: every file in the manifest has a download button, nothing else does, and each
    download is byte for byte the manifest's file (its sha256)."""
    manifest = read_manifest(server["root"])
    want = {Path(a.file).name: a.sha256 for e in manifest.models.values() for a in e.artifacts}
    buttons = download_buttons(http)
    assert sorted(b["orig_name"] for b in buttons) == sorted(want)
    for b in buttons:
        r = http.get(b["url"].removeprefix(server["url"]))
        assert r.status_code == 200, b["url"]
        assert hashlib.sha256(r.content).hexdigest() == want[b["orig_name"]], b["orig_name"]


def test_file_not_in_the_manifest_is_not_offered(server, http):
    """secret.txt dropped into the exports folder is neither in the page config nor downloadable."""
    assert SECRET not in http.get("/config").text
    for path in (server["root"] / "secret.txt", server["root"] / "mnist_cnn" / "secret.txt"):
        status, body = raw_get(server["port"], f"/gradio_api/file={path}")
        assert 400 <= status < 500 and SECRET.encode() not in body


def secrets(server) -> dict[str, tuple[Path, bytes]]:
    """Files the server can read but must not serve, each with bytes that would prove a leak."""
    home = Path(os.environ["DIGITZOO_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "secret.txt").write_text(SECRET)
    weights = paths.pretrained_dir("mnist_cnn") / "model.safetensors"
    found = {
        "repo: hub/serving/manifest.py": (REPO / "hub" / "manifest.py", b"MANIFEST_FORMAT"),
        "repo: pyproject.toml": (REPO / "pyproject.toml", b"[project]"),
        "repo: a checkpoint": (weights, weights.read_bytes()[8:40]),
        "exports: unlisted secret.txt": (server["root"] / "secret.txt", SECRET.encode()),
        "exports: manifest.json": (server["root"] / "manifest.json", b"digitzoo-manifest/1"),
        "DIGITZOO_HOME": (home / "secret.txt", SECRET.encode()),
        "/proc/self/environ": (Path("/proc/self/environ"), b"DIGITZOO_HOME="),
    }
    if Path("/etc/passwd").is_file():
        found["/etc/passwd"] = (Path("/etc/passwd"), b"root:")
    return found


SECRET_NAMES = ["/etc/passwd", "/proc/self/environ", "repo: hub/serving/manifest.py", "repo: pyproject.toml",
                "repo: a checkpoint", "exports: unlisted secret.txt", "exports: manifest.json", "DIGITZOO_HOME"]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_file_route_refuses_paths_outside_what_it_offers(server, http, name):
    """/gradio_api/file= with the secret's absolute path, a relative path with "..", the same with
    %2e%2e, %2f and double-encoded escapes, and a path that starts inside the folder the downloads are
    served from and climbs out: every form answers 4xx and the body holds none of the secret."""
    known = secrets(server)
    if name not in known:
        pytest.skip(f"{name} does not exist here")
    path, proof = known[name]
    relative = os.path.relpath(path, os.getcwd())  # the server resolves relative paths from its cwd
    served_from = Path(download_buttons(http)[0]["path"]).parent
    climb = "../" * len(served_from.parts) + str(path).lstrip("/")
    forms = {
        "absolute": str(path),
        "relative": relative,
        "%2e%2e": relative.replace("..", "%2e%2e"),
        "%2f": relative.replace("/", "%2f"),
        "double-encoded": relative.replace("..", "%252e%252e").replace("/", "%252f"),
        "from the download folder": f"{served_from}/{climb}",
        "from the download folder, encoded": f"{served_from}/{climb.replace('..', '%2e%2e')}",
    }
    for form, target in forms.items():
        status, body = raw_get(server["port"], f"/gradio_api/file={target}")
        assert 400 <= status < 500, (form, target, status)
        assert proof not in body, (form, target)
        assert b"Traceback" not in body


@pytest.mark.parametrize("target", ["/gradio_api/file=file:///etc/passwd", "/gradio_api/file=//etc/passwd",
                                    "/static/../../../../etc/passwd", "/assets/../../../../etc/passwd",
                                    "/gradio_api/file=http://127.0.0.1:1/secret"])
def test_other_routes_and_schemes_do_not_read_files(server, target):
    status, body = raw_get(server["port"], target)
    assert 400 <= status < 500, status
    assert b"root:" not in body and b"Traceback" not in body


# --- /classify with file payloads that name files on the server -------------------------------

def classify_path_payloads(digit_png: Path) -> dict[str, dict | str]:
    upload_dir = __import__("gradio.utils", fromlist=["get_upload_folder"]).get_upload_folder()
    return {
        "FileData /etc/passwd": {"path": "/etc/passwd", "meta": FILE_DATA},
        "FileData ../../etc/passwd": {"path": "../../etc/passwd", "meta": FILE_DATA},
        "FileData image outside uploads": {"path": str(digit_png), "meta": FILE_DATA},
        "FileData file:// URL": {"path": "file:///etc/passwd", "meta": FILE_DATA},
        "no meta /etc/passwd": {"path": "/etc/passwd"},
        "no meta ../../etc/passwd": {"path": "../../../../../../etc/passwd"},
        "no meta image outside uploads": {"path": str(digit_png)},
        "no meta climbing out of uploads": {"path": f"{upload_dir}/../../../../{str(digit_png).lstrip('/')}"},
        "no meta /proc/self/environ": {"path": "/proc/self/environ"},
        "no meta /dev/zero": {"path": "/dev/zero"},
        "plain string path": "/etc/passwd",
        "sketch dict with a path": {"background": None, "layers": [], "composite": {"path": "/etc/passwd", "meta": FILE_DATA}},
    }


# Payloads without Gradio's FileData mark reach our code (preprocess=False), which must refuse them
# itself; before this check, "no meta image outside uploads" was read and classified.
OUR_REFUSAL = "Only uploaded files are read"


@pytest.mark.parametrize("case", list(classify_path_payloads(Path("/x.png"))))
def test_classify_never_reads_a_server_path(http, digit_png, case):
    payload = classify_path_payloads(digit_png)[case]
    status, event, data = call(http, "/classify", {"data": [payload]})
    assert_refused_cleanly(status, event, data)
    assert "root:" not in data and "DIGITZOO_HOME" not in data
    if case.startswith("no meta"):
        assert OUR_REFUSAL in (error_message(data) or ""), data[:300]


def test_classify_reads_files_that_were_uploaded(http, digit_png):
    """Positive control for the path check: a file uploaded through /gradio_api/upload is classified,
    with and without the FileData mark."""
    with open(digit_png, "rb") as f:
        r = http.post("/gradio_api/upload", files={"files": ("one.png", f, "image/png")})
    assert r.status_code == 200, r.text
    uploaded = r.json()[0]
    for payload in ({"path": uploaded, "meta": FILE_DATA}, {"path": uploaded}):
        status, event, data = call(http, "/classify", {"data": [payload]})
        assert (status, event) == (200, "complete"), data[:300]
        assert len(json.loads(data)[0]["confidences"]) == 3


# --- sizes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("megabytes, says", [(11, "File size exceeded"), (20, "Request body too large")])
def test_oversized_upload_is_refused(http, megabytes, says):
    """Over the 10 MB upload cap: 413 from Gradio's streaming parser (11 MB) or, over the 16 MB
    request cap, from the app's body limit before anything is read (20 MB)."""
    blob = b"\x89PNG\r\n\x1a\n" + os.urandom(megabytes * 2**20)
    r = http.post("/gradio_api/upload", files={"files": ("big.png", blob, "image/png")})
    assert r.status_code == 413, r.text[:200]
    assert says in r.text
    assert_still_answering(http)


def test_oversized_inline_image_is_a_clear_error(http):
    """A data: URL over 10 MB inside a request under the 16 MB cap: the app's own sentence."""
    url = "data:image/png;base64," + base64.b64encode(b"\0" * (10 * 2**20 + 1000)).decode()
    status, event, data = call(http, "/classify", {"data": [{"url": url, "meta": FILE_DATA}]})
    assert (status, event) == (200, "error")
    assert "larger than 10 MB" in error_message(data)


@pytest.mark.parametrize("route", ["/gradio_api/call/classify", "/gradio_api/queue/join", "/gradio_api/upload"])
def test_huge_body_is_refused_quickly(http, route):
    """A 50 MB body is answered 413 at once from its Content-Length, before the server reads it
    (without the limit Gradio buffered and parsed it: 200 MB took 6.6 s and 430 MB of memory)."""
    body = b'{"data": ["' + b"A" * (50 * 2**20) + b'"]}'
    began = time.perf_counter()
    r = http.post(route, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:200]
    assert "Request body too large" in r.text
    assert time.perf_counter() - began < 5


def test_huge_chunked_body_is_refused(http):
    """The same without a Content-Length (chunked): counted as it arrives, refused once past 16 MB."""
    def chunks():
        yield b'{"data": ["'
        for _ in range(40):
            yield b"A" * 2**20
        yield b'"]}'
    r = http.post("/gradio_api/call/classify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:200]
    assert_still_answering(http)


# --- malformed payloads to every public endpoint -----------------------------------------------

def test_the_public_api_is_what_this_module_covers(server):
    """If an endpoint is added, the malformed-payload matrix below must cover it too."""
    api = Client(server["url"] + "/", verbose=False).view_api(return_format="dict", print_info=False)
    assert {name: len(e["parameters"]) for name, e in api["named_endpoints"].items()} == ENDPOINTS
    assert not api["unnamed_endpoints"]


BIG_LIST = list(range(10**6))
CASES = {  # name -> data for an endpoint of n arguments
    "no arguments": lambda n: [],
    "one too few": lambda n: [None] * (n - 1),
    "one too many": lambda n: [None] * (n + 1),
    "nulls": lambda n: [None] * n,
    "strings": lambda n: ["abc"] * n,
    "dicts": lambda n: [{"a": 1}] * n,
    "NaN": lambda n: ["NaN"] * n,
    "inf": lambda n: ["inf"] * n,
    "a 400-digit number": lambda n: [10**400] * n,
    "a 10^6-element list": lambda n: [BIG_LIST] + [None] * (n - 1),  # 6.9 MB of JSON, under the 16 MB cap
}
# Where our code handles the input, the sentence it answers (a fragment). Other cases are refused by
# Gradio before our code runs (component preprocessing, choices of a dropdown, argument count).
SENTENCES = {
    ("/decode", "nulls"): "x must be a number, got None.",
    ("/decode", "strings"): "x must be a number, got 'abc'.",
    ("/decode", "dicts"): "x must be a number, got {'a': 1}.",
    ("/decode", "NaN"): "x must be between -1000 and 1000, got 'NaN'.",
    ("/decode", "inf"): "x must be between -1000 and 1000, got 'inf'.",
    ("/decode", "a 400-digit number"): "x must be between -1000 and 1000, got 1000",
    ("/decode", "a 10^6-element list"): "x must be a number, got a list of 1,000,000 items.",
    ("/interpolate", "nulls"): "start digit must be a number, got None.",
    ("/interpolate", "strings"): "is not in the list of choices",
    ("/sample", "strings"): "is not in the list of choices",
    ("/classify", "dicts"): "Send an image",
    ("/classify", "nulls"): "Expected an image",
    ("/explain", "nulls"): "None is not a method: choose one of",  # no model: the default one
    ("/explain", "dicts"): "{'a': 1} is not a model this hub explains",
}
# A lesson's Start refuses a seed that is not a whole number before anything trains (a number
# sent for a knob with choices is refused by Gradio's dropdown first).
SENTENCES |= {(f"/lesson_{name}{endpoint}", case): "seed must be a whole number"
              for name in list_lessons() for endpoint in ("", "_code") for case in ("nulls", "a 400-digit number")
              if case == "nulls" or not any(k.choices for k in get_lesson(name).knobs)}
# Valid on purpose: a missing digit means "any" and a missing seed a random one. Stop and Reset
# take no input: Gradio ignores whatever data comes with them, and they only stop this session's run.
COMPLETES = {("/sample_interpolate", "nulls"), ("/sample_interpolate", "one too many")}
COMPLETES |= {(api, case) for api, n in LESSON_ENDPOINTS.items() if n == 0 for case in CASES}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("api", list(ENDPOINTS))
def test_malformed_payload_is_refused_and_the_server_goes_on(http, api, case):
    """Wrong argument count or types, null, NaN/inf as text, a 400-digit number, a 10^6-element list:
    an error event (a sentence where our code handles it, short: the input is not echoed back),
    never a traceback or a 5xx, and the server still answers a valid call."""
    status, event, data = call(http, api, {"data": CASES[case](ENDPOINTS[api])})
    if (api, case) in COMPLETES:
        assert (status, event) == (200, "complete"), data[:300]
    else:
        assert_refused_cleanly(status, event, data)
        assert len(data) < 2000, f"the error echoes the input back ({len(data):,} characters)"
    if (api, case) in SENTENCES:
        assert SENTENCES[api, case] in (error_message(data) or ""), data[:300]
    if case == "a 10^6-element list":
        assert_still_answering(http)


@pytest.mark.parametrize("body, detail", [(b"{not json", "JSON decode error"), (b'{"data": {"x": 1}}', "valid list"),
                                          (b"{}", "Field required"), (b"[1, 2]", "valid dictionary"),
                                          (b'{"data": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "error parsing the body")])
def test_body_that_is_not_an_api_call_is_a_4xx(http, body, detail):
    """Not JSON, data not a list, no data, a JSON list, 100,000 nested lists: a 4xx from the API
    layer before any event is queued, with its reason, no traceback."""
    for api in ENDPOINTS:
        status, event, data = call(http, api, body)
        assert 400 <= status < 500, (api, status)
        assert detail in data and "Traceback" not in data, (api, data[:200])


# --- last: after all of the above, the server still works -------------------------------------

def test_server_still_classifies_after_all_of_this(server, http, digit_png):
    """After every hostile request above, a valid /classify succeeds over raw HTTP (inline image)
    and through gradio_client (uploaded image)."""
    url = "data:image/png;base64," + base64.b64encode(digit_png.read_bytes()).decode()
    status, event, data = call(http, "/classify", {"data": [{"url": url, "meta": FILE_DATA}]})
    assert (status, event) == (200, "complete"), data[:300]
    cnn, lstm, *_ = json.loads(data)
    assert len(cnn["confidences"]) == 3 and len(lstm["confidences"]) == 3
    client = Client(server["url"] + "/", verbose=False)
    cnn, lstm, seen, belief, info = client.predict(handle_file(str(digit_png)), api_name="/classify")
    assert cnn["label"] == json.loads(data)[0]["label"] and "onnxruntime" in info
