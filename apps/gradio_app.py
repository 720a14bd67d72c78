"""The demo hub: one Gradio Blocks app with a tab per experience; each tab also runs alone."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import gradio as gr
from fastapi import FastAPI

from digitzoo.apps import classroom, draw, gan, latent, mcp_tools, models, pages, parts, playground
from digitzoo.apps.inputs import bound_pillow_decoding
from digitzoo.apps.limits import MAX_REQUEST_BYTES, PublicApiOnly, RequestBodyLimit
from digitzoo.apps.playground_gate import PlaygroundGate
from digitzoo.apps.upload_quota import UploadQuota
from digitzoo.apps.webserver import WebServer, make_server
from digitzoo.hub.classroom.store import ClassroomStore
from digitzoo.hub.serving.errors import DigitzooError

MCP_EXTRA = "pip install 'digitzoo[mcp]'"

TABS = {"draw": ("Draw", draw.build), "latent": ("Latent space", latent.build),
        "gan": ("GAN sampler", gan.build), "models": ("Models", models.build),
        "playground": ("Playground", playground.build)}

# Queue and upload limits, on purpose: a few model calls at a time (2 cores), a bounded queue
# so overload is answered "busy" quickly, and uploads no bigger than a large photo.
CONCURRENCY = 4
QUEUE_SIZE = 64
MAX_FILE_SIZE = "10mb"
# Gradio keeps a SessionState per session (~190 KB here: a copy of every component's config),
# and every HTTP API call is a new session; 10,000 are kept by default, i.e. ~2 GB. The app
# keeps no per-user state, so only the most recent sessions' bookkeeping is kept.
SESSION_CAPACITY = 256
# Uploaded images and result images are files in Gradio's cache: clean them up as they age.
CACHE_CLEANUP = (1800, 3600)  # every 30 min, delete files older than 1 h
CSS = """
/* Model cards: no word is broken inside a table (a phone showed one letter per line). A label
   (first column) wraps between words, a value stays on one line, and a table still wider than
   the screen scrolls sideways inside the card. */
.model-card table { display: block; max-width: 100%; overflow-x: auto; border: 0 !important; }
.model-card th, .model-card td { white-space: nowrap; overflow-wrap: normal; word-break: normal; }
.model-card th:first-child, .model-card td:first-child { white-space: normal; min-width: 8em; }
/* Page margins: 32 px on a big screen, 8 px on a phone, where the screen is for the content.
   (Not in the @media block below: Gradio scopes the rules there to its .contain element, which
   sits inside .app.) */
.gradio-container .app { padding-left: clamp(8px, 6vw - 16px, 32px) !important;
                         padding-right: clamp(8px, 6vw - 16px, 32px) !important; }
/* A lesson's code: lines as tall as the line numbers beside them. The editor (CodeMirror) sets
   its line numbers 14 px apart until it has measured a line, which it missed on a projector
   (1280x720): the numbers drifted from their 16.8 px lines, line 28's number beside line 24. */
.lesson-code .cm-line, .lesson-code .cm-gutterElement { line-height: 14px !important; }
/* A phone: every top-level tab stays a button in reach of one tap. Gradio moves tabs that do not
   fit into a "more" menu, measuring them with these same rules, so tighter tabs keep all five. */
@media (max-width: 480px) {
  .tab-container button { padding: 4px 5px !important; font-size: 13px !important; }
}
"""


def require_mcp() -> None:
    """One line, not a traceback, when the MCP tools are asked for without the mcp package
    (Gradio itself would print that its MCP server failed and serve the page without it)."""
    if importlib.util.find_spec("mcp") is None:
        raise DigitzooError(f"digitzoo serve --mcp needs the mcp package, which is not installed here: {MCP_EXTRA}")


def build_app(tabs: list[str] | None = None, mcp: bool = False) -> gr.Blocks:
    """The hub with ``tabs`` (default: all); ``mcp`` adds the endpoints of the MCP tools (apps.mcp_tools)."""
    tabs = tabs or list(TABS)
    with gr.Blocks(title="digitzoo: MNIST model zoo", delete_cache=CACHE_CLEANUP) as app:
        classroom_link = (f" Teaching? [Run a class]({classroom.PREFIX}/): your students draw on their phones, and "
                          "you see which model reads your class best." if "draw" in tabs else "")
        gr.Markdown("# digitzoo\nA zoo of MNIST models, exported and served from their ONNX / TorchScript files."
                    + classroom_link)
        # The tabs add their components straight into this Blocks: a nested gr.Blocks per tab
        # would build a FastAPI app of its own (0.2 s each here) only to be thrown away.
        built, top = {}, None
        if len(tabs) == 1:
            built[tabs[0]] = TABS[tabs[0]][1](app)
        else:
            with gr.Tabs() as top:
                for key in tabs:
                    title, builder = TABS[key]
                    with gr.Tab(title, id=key):
                        built[key] = builder(app)
        if built.get("playground") is not None:  # a link to a lesson opens the Playground on it
            playground.open_links(app, built["playground"], top, top_id="playground")
        if mcp:
            mcp_tools.build(app)
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return app


@dataclass
class RunningApp:
    """A hub serving in a thread of this process (``serve(block=False)``): its port, and ``close()``."""

    blocks: gr.Blocks
    server: WebServer
    server_port: int

    @property
    def local_url(self) -> str:
        return f"http://{self.server.config.host}:{self.server_port}/"

    def close(self) -> None:
        self.blocks.close(verbose=False)  # first: stops the queue and ends the event streams it holds open
        self.server.stop()


def serve(host: str = "127.0.0.1", port: int = 7860, backend: str = "onnx", device: str = "auto",
          tabs: list[str] | None = None, block: bool = True, root: str | None = None, mcp: bool = False,
          classroom_db: str | None = None, classroom_hours: float = 4.0):
    """Serve the hub; ``root`` is an exports folder (default: yours, else the shipped one); ``mcp``
    also serves the models as MCP tools at /gradio_api/mcp/ (needs the mcp package: digitzoo[mcp]).
    With the Draw tab, the classroom (apps.classroom) is served too, on ``classroom_db`` (default: a
    SQLite file in the store), its sessions kept ``classroom_hours``.

    Runs on the guarded web server of ``apps.webserver`` (connection and head deadlines, a
    connection cap) through Gradio's ``gr.mount_gradio_app``. With ``block=False`` it returns a
    ``RunningApp`` once the port answers.
    """
    if mcp:
        require_mcp()
    bound_pillow_decoding()  # any decode, Gradio's too, refuses a picture over our size limit
    parts.configure(backend, device, root)
    for tab in ("draw", "latent", "gan"):
        for model in parts.shown_on(tab):
            # Open every file now (fail at start, not on the first request), but the explainers: only
            # "Why?" asks for them (/explain, the MCP tool), and seven of them held from the start
            # grew the server's memory past the reliability check's 50 MB.
            for part in {a.part for a in parts.manifest().models[model].artifacts if a.role != "explainer"}:
                parts.get(model, part)
    parts.detector()  # the draw tab's not-a-digit verdict, opened now too
    blocks = build_app(tabs, mcp)
    # What launch() would set from its arguments and mount_gradio_app (Gradio 6.31) leaves as it is:
    # the session capacity, and ``has_launched``, without which Gradio skips its check that a file
    # an API call names lies in the upload folder (tests/test_hostile_requests.py fails without it).
    blocks.state_session_capacity = SESSION_CAPACITY
    blocks.has_launched = True
    app_kwargs, head = {}, None
    if set(pages.TABS) & set(tabs or TABS):  # these tabs hold page modules: their files, models.json and server path
        app_kwargs["routes"], head = pages.routes(), pages.head(tabs or TABS)
    if "draw" in (tabs or TABS):  # the students' page reads drawings with the Draw page's models and modules
        def open_store():
            return ClassroomStore(classroom_db, retention_s=classroom_hours * 3600)
        app_kwargs["routes"] = [*app_kwargs.get("routes", []), *classroom.routes(open_store)]
    if mcp:
        app_kwargs["lifespan"] = mcp_tools.only_the_tools(blocks)  # the tools, not every endpoint
    site = gr.mount_gradio_app(FastAPI(), blocks, path="", app_kwargs=app_kwargs, max_file_size=MAX_FILE_SIZE,
                               show_error=False, css=CSS, head=head, mcp_server=mcp,
                               server_name=host, server_port=port)
    # Outermost first: the body limit and deadline see every request before Gradio does; uploads are
    # counted over the time Gradio's cache keeps them (its cleanup interval plus the age it deletes at).
    inner = PublicApiOnly(site, blocks)
    if "playground" in (tabs or TABS) and playground.playground_ready():  # Starts admitted before Gradio's queue
        inner = PlaygroundGate(inner, blocks, playground.SLOTS, playground.start_checks())
    quota = UploadQuota(inner, window_s=sum(CACHE_CLEANUP))
    server = make_server(RequestBodyLimit(quota, max_bytes=MAX_REQUEST_BYTES), host, port)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if not block:
        server.start_in_thread()
        print(f"* Running on local URL:  http://{shown_host}:{port}", flush=True)
        return RunningApp(blocks, server, port)
    print(f"* Running on local URL:  http://{shown_host}:{port}", flush=True)
    server.run()
    return blocks
