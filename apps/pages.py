"""The hub's Draw, Latent space and GAN tabs: each is a gr.HTML component (``component``) whose
markup and behaviour are the project's own page modules (apps/web/: page.js, draw.js, latent.js,
gan.js, ...), the same files the static site runs; ``hub.js`` mounts them and runs the models in the
browser with onnxruntime-web when it can.

The server serves exactly these files under ``PREFIX`` (no folder is opened to the web): the page
modules, ``models.json`` (the static site's format, apps.web_build.page_config), the ONNX files it
lists, and onnxruntime-web's module and WebAssembly binary when the npm copy is installed
(``apps/web/node_modules``; else the page uses the pinned CDN URL). The page checks every model's
sha256 and the runtime's sha384 itself.

A page whose models cannot run in the browser (``?inpage=0``, no WebAssembly, a file that fails its
check) asks the server: ``POST PREFIX/ask/<kind>`` (classify, decode, encode, sample, walk) with
JSON, one request per question, answered from a thread with at most ``PAGE_CONCURRENCY`` at work
and ``PAGE_WAITING`` waiting (more: HTTP 503, "busy", which the page asks again a few times).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import gradio as gr
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digitzoo.apps import parts
from digitzoo.apps.inputs import MAX_IMAGE_BYTES
from digitzoo.apps.web_build import (NPM_HINT, ORT_MODULE, ORT_WASM, PAGE_MODULES, WEB_SOURCES, page_config, runtime_settings,
                                     vendored_runtime_files)
from digitzoo.apps.webserver import REFUSALS
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import read_inside
from digitzoo.hub.serving.manifest import Artifact, DemoData, exports_root

PREFIX = "/digitzoo/pages"
# The hub's tabs that hold a page module: Draw, Latent space, GAN, and Models ("Your model").
TABS = ("draw", "latent", "gan", "models")


def head(tabs) -> str:
    """The hub's <head>: what the first answer waits for, fetched while Gradio builds its page (0.6-1.3 s
    on 2 cores) instead of after it: the page modules, models.json, onnxruntime-web (its module and
    14 MB of WebAssembly) and the first models' files; the page's own fetches of the same URLs then
    take them from the preload cache (runtime.js still checks the bytes). Measured on the first visit
    after start (`--tab draw`): first answer 1.08-1.16 s with the WebAssembly and models preloaded,
    1.21-1.65 s without; on the full hub models.json came at 0.55 s instead of 1.42 s.
    (Running hub.js from here, to start onnxruntime-web meanwhile, gained nothing: module scripts run
    after Gradio's, at about the time its components mount.)"""
    config, _ = site()
    # (worker.js is a worker's script, loaded by pool.js on the first drawing's maps, not a page module)
    links = [f'<link rel="modulepreload" href="{PREFIX}/{name}">' for name in ["hub.js", *PAGE_MODULES]
             if name.endswith(".js") and name != "worker.js"]
    runtime = config["runtime"]
    # No integrity attribute: Chromium ignores it on fetch preloads (crbug.com/981419) and says so in
    # the console; runtime.js's fetch carries it and checks the bytes.
    first = [config["detector"], *config["draw"][:2]] if "draw" in tabs else []  # what page.js opens first (startDraw)
    fetched = [f"{PREFIX}/models.json", runtime["module"], runtime["wasm"], *(entry["file"] for entry in first if entry)]
    links += [f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{url}">' for url in fetched]
    return "".join(links)


def component(kind: str) -> gr.HTML:
    """The ``kind`` page as a Gradio component that owns its markup: hub.js mounts the page module
    into it (Gradio's public gr.HTML API: html_template, js_on_load, props, trigger)."""
    return gr.HTML(value=None, html_template="<div></div>", elem_id=f"{kind}-page", apply_default_css=False,
                   js_on_load=f"import('{PREFIX}/hub.js').then((hub) => hub.mount('{kind}', element, props, trigger));")


# The page's server path: a few model calls at a time (2 cores), a few waiting, the rest told "busy".
PAGE_CONCURRENCY = 2
PAGE_WAITING = 16
MAX_REQUEST_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 4096  # an image at the inline limit, base64, and the model names
# The bodies held at once, all requests together: a drawing from the page is ~20 kB, so this only
# bites when strangers send large pictures in a burst (50 bodies of 12.6 MB at once peaked at 2.5 GB).
PAGE_BODY_BUDGET = 48 * 2**20
BUSY = "The server is busy: try again in a moment."


def _root() -> Path:
    return parts.SETTINGS["root"] or exports_root()


@dataclass(frozen=True)
class ExportFile:
    """A model file of the exports folder, served by its verified bytes (``digitzoo.hub.serving.files.read_inside``):
    no link is followed out of the folder, and bytes that do not match the manifest are not served."""

    root: Path
    relative: str
    sha256: str


def _runtime() -> tuple[dict, dict[str, Path]]:
    """Where the page loads onnxruntime-web: this server's copy when npm installed it, else the CDN."""
    try:
        files = vendored_runtime_files()  # the pinned bytes, checked (sha384)
    except DigitzooError:
        runtime = runtime_settings(vendor=False)
        # The static site's advice (`web build --vendor`) means nothing to someone running the hub.
        runtime["missing_hint"] = ("The page loads it from the jsDelivr CDN: check the internet connection, or give the "
                                   f"hub its own copy and restart it: {NPM_HINT}")
        return runtime, {}
    runtime = runtime_settings(vendor=True)
    runtime.update(module=f"{PREFIX}/ort/{ORT_MODULE}", wasm=f"{PREFIX}/ort/{ORT_WASM}",
                   missing_hint="The hub's copy of onnxruntime-web (apps/web/node_modules) could not be read.")
    return runtime, {f"ort/{name}": path for name, path in files.items()}


def site() -> tuple[dict, dict[str, Path | ExportFile]]:
    """The pages' models.json and every file served under PREFIX (name -> path)."""
    served: dict[str, Path | ExportFile] = {name: WEB_SOURCES / name for name in [*PAGE_MODULES, "hub.js"]}

    def serve(root: Path, item: Artifact | DemoData) -> str:
        served[f"models/{item.file}"] = ExportFile(root, item.file, item.sha256)
        return f"{PREFIX}/models/{item.file}"

    def serve_digits(folder: Path, listed: dict) -> str:
        served[f"digits/{listed['file']}"] = ExportFile(folder, listed["file"], listed["sha256"])
        return f"{PREFIX}/digits/{listed['file']}"

    runtime, ort_files = _runtime()
    served.update(ort_files)
    return page_config(_root(), parts.manifest(), serve, runtime, serve_digits), served


def _answers() -> dict:
    """What the server answers for each kind of question a page asks (a thin adapter each)."""
    from digitzoo.apps import draw, gan, latent  # they build the components this module makes

    return {"classify": draw.classify_for_page, "decode": latent.decode_for_page, "encode": latent.encode_for_page,
            "sample": gan.sample_for_page, "walk": gan.walk_for_page}


def routes() -> list[Route]:
    """The routes of PREFIX, to pass to the hub's FastAPI app (``app_kwargs["routes"]``)."""
    config, served = site()

    async def config_json(request: Request):
        return JSONResponse(config, headers={"Cache-Control": "no-cache"})

    async def file(request: Request):
        path = served.get(request.path_params["name"])
        if isinstance(path, ExportFile):
            try:
                data = await anyio.to_thread.run_sync(read_inside, path.root, path.relative, path.sha256)
            except (OSError, ValueError):  # gone, a link, or changed since start: the page falls back
                return PlainTextResponse("not found", status_code=404)
            return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})
        if path is None or not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        media = "text/javascript" if path.suffix in (".js", ".mjs") else "text/css" if path.suffix == ".css" else None
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})

    limiter = anyio.CapacityLimiter(PAGE_CONCURRENCY)
    admitted = 0  # requests between admission and answer: counted before a byte of the body is read
    held_bytes = 0  # bodies in memory now, all admitted requests together

    async def ask(request: Request):
        nonlocal admitted, held_bytes
        answers = _answers()  # looked up per request: a test may stand in for one
        answer_for = answers.get(request.path_params["kind"])
        if answer_for is None:
            return JSONResponse({"error": f"Ask one of: {', '.join(answers)}."}, status_code=404)
        # Check and count in one step (no await between them): the event loop runs one request at
        # a time here, so a burst cannot all pass the check before any of them is counted.
        if admitted >= PAGE_CONCURRENCY + PAGE_WAITING:  # read per request: a test can tighten it
            return JSONResponse({"error": BUSY}, status_code=503)
        admitted += 1
        body, held = bytearray(), 0
        try:
            try:
                async for chunk in request.stream():  # read no further than the limits, whatever Content-Length says
                    body += chunk
                    held_bytes, held = held_bytes + len(chunk), held + len(chunk)
                    if len(body) > MAX_REQUEST_BYTES:
                        return JSONResponse({"error": f"The drawing is larger than {MAX_IMAGE_BYTES // 2**20} MB."},
                                            status_code=413)
                    if held_bytes > PAGE_BODY_BUDGET:  # memory for bodies is bounded, not only their number
                        return JSONResponse({"error": BUSY}, status_code=503)
            except ClientDisconnect:  # the page aborted (a newer stroke) or the visitor left: nobody to answer
                REFUSALS.count("left mid-body", "requests whose client left before sending the whole body")
                return Response(status_code=499)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: JSON nested ~1,000 deep
                return JSONResponse({"error": "Send JSON."}, status_code=400)
            del body  # the parsed copy is what the reader needs
            began = time.perf_counter()
            try:
                answer = await anyio.to_thread.run_sync(answer_for, payload, limiter=limiter)
            except gr.Error as exc:  # bad input: the sentence, for the page to show
                return JSONResponse({"error": exc.message}, status_code=400)
        finally:
            admitted -= 1
            held_bytes -= held
        # Server-Timing: the browser's dev tools (and the benchmark) show the server's share of the wait.
        took = (time.perf_counter() - began) * 1000
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Server-Timing": f"read;dur={took:.1f}"})

    return [Route(f"{PREFIX}/models.json", config_json), Route(PREFIX + "/ask/{kind}", ask, methods=["POST"]),
            Route(PREFIX + "/{name:path}", file)]
