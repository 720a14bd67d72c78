"""In-page answers for the Draw tab: the hub's page runs the draw tab's classifiers (and the
not-a-digit detector) in the browser with onnxruntime-web, as the static site does; and the
Latent space tab's decoder (``gradio_latent.js``) and the GAN sampler's generator (``gradio_gan.js``).

The server serves exactly these files under ``PREFIX`` (no folder is opened to the web):
``gradio_draw.js``, ``gradio_latent.js``, ``gradio_gan.js`` and ``gradio_page.js`` with the static site's
``runtime.js`` and ``sketch.js`` beside it, ``config.json`` (each model file's URL, sha256,
input/output names and label, and where onnxruntime-web comes from), the ONNX files the manifest
lists for the draw tab, the latent tab's decoder and the GAN's generator, and onnxruntime-web's
module and WebAssembly binary when the npm copy is installed (``apps/web/node_modules``; else the
page uses the pinned CDN URL). The page checks every model's sha256 and the runtime's sha384 itself, and
falls back to the server's answers when anything fails.

The server's answers, for a page whose models cannot run (or ``?inpage=0``): ``POST PREFIX/classify``
with the page's own copy of the drawing, one request, answered from a thread with at most
``PAGE_CONCURRENCY`` at work and ``PAGE_WAITING`` waiting (more: HTTP 503, "busy"). Gradio's queue
API takes two round trips (join, then read the stream), each waiting for a page whose main thread
is busy with the Sketchpad. The pad's own change event stays, as the last resort.
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

from digitzoo.apps import draw, parts
from digitzoo.apps.inputs import MAX_IMAGE_BYTES
from digitzoo.apps.web_build import NPM_HINT, ORT_MODULE, ORT_WASM, WEB_SOURCES, runtime_settings, vendored_runtime_files
from digitzoo.apps.webserver import REFUSALS
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import read_inside
from digitzoo.hub.serving.manifest import artifact, exports_root, part_with_role, parts_with_role

PREFIX = "/digitzoo/inpage"
PAGE_FILES = ["gradio_draw.js", "gradio_gan.js", "gradio_latent.js", "gradio_page.js", "runtime.js", "sketch.js"]
# The page's modules, added to the hub's <head>: each waits for its tab's components (and does
# nothing on a page without them).
HEAD = "".join(f'<script type="module" src="{PREFIX}/{name}"></script>' for name in ("gradio_draw.js", "gradio_latent.js", "gradio_gan.js"))


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


def _entry(model: str, role: str, label: str) -> tuple[dict, ExportFile]:
    manifest = parts.manifest()
    item = artifact(manifest, model, part_with_role(manifest, model, role), "onnx")
    io = lambda specs: [{"name": s.name, "shape": s.shape} for s in specs]  # noqa: E731
    entry = {"model": model, "label": label, "file": f"{PREFIX}/models/{item.file}", "sha256": item.sha256,
             "inputs": io(item.inputs), "outputs": io(item.outputs)}
    return entry, ExportFile(_root(), item.file, item.sha256)


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


def _tab_part(tab: str, role: str, served: dict[str, Path | ExportFile]) -> dict | None:
    """The entry of the part with ``role`` of the first model ``tab`` shows (added to ``served``), or None."""
    with_role = {model for model, _ in parts_with_role(parts.manifest(), role)}
    shown = [m for m in parts.shown_on(tab) if m in with_role]
    if not shown:
        return None
    entry, path = _entry(shown[0], role, f"{parts.label(shown[0])} {role}")
    served[entry["file"].removeprefix(PREFIX + "/")] = path
    return entry


def site() -> tuple[dict, dict[str, Path | ExportFile]]:
    """The page's config.json and every file served under PREFIX (name -> path)."""
    manifest = parts.manifest()
    served = {name: WEB_SOURCES / name for name in PAGE_FILES}
    draw = []
    classifier_models = {m for m, _ in parts_with_role(manifest, "classifier")}
    for model in parts.shown_on("draw"):
        if model not in classifier_models:
            continue
        entry, path = _entry(model, "classifier", parts.label(model))
        draw.append({**entry, "belief_by_row": bool(parts.demo(model).get("belief_by_row")),
                     "classes": manifest.models[model].labels})
        served[entry["file"].removeprefix(PREFIX + "/")] = path
    detector = None
    if found := parts_with_role(manifest, "detector"):
        detector, path = _entry(found[0][0], "detector", "not-a-digit detector")
        served[detector["file"].removeprefix(PREFIX + "/")] = path
    latent, gan = _tab_part("latent", "decoder", served), _tab_part("gan", "generator", served)
    runtime, ort_files = _runtime()
    served.update(ort_files)
    return {"runtime": runtime, "draw": draw, "detector": detector, "latent": latent, "gan": gan}, served


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
        media = "text/javascript" if path.suffix in (".js", ".mjs") else None
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})

    limiter = anyio.CapacityLimiter(PAGE_CONCURRENCY)
    admitted = 0  # requests between admission and answer: counted before a byte of the body is read
    held_bytes = 0  # bodies in memory now, all admitted requests together

    async def classify(request: Request):
        nonlocal admitted, held_bytes
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
                return JSONResponse({"error": "Send JSON: {\"image\": \"data:image/png;base64,...\"}."}, status_code=400)
            del body  # the parsed copy is what the reader needs
            began = time.perf_counter()
            try:
                answer = await anyio.to_thread.run_sync(draw.classify_for_page, payload, limiter=limiter)
            except gr.Error as exc:  # bad input: the sentence, for the page to show
                return JSONResponse({"error": exc.message}, status_code=400)
        finally:
            admitted -= 1
            held_bytes -= held
        # Server-Timing: the browser's dev tools (and the benchmark) show the server's share of the wait.
        took = (time.perf_counter() - began) * 1000
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Server-Timing": f"read;dur={took:.1f}"})

    return [Route(f"{PREFIX}/config.json", config_json), Route(f"{PREFIX}/classify", classify, methods=["POST"]),
            Route(PREFIX + "/{name:path}", file)]
