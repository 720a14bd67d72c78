"""Playground: the classic PyTorch tutorial systems train live on the server, one tab per lesson.

The lessons live in ``digitzoo.hub.lessons`` (one file each, registered like the models); this
tab only drives them through ``digitzoo.hub.lessons.run.iterate`` and streams the pictures.
Training costs the server CPU, so it is bounded:
- each run has its lesson's step and time budgets (wall time, enforced here too);
- at most ``RUNNING`` runs train at once and ``WAITING`` more wait their turn, told
  "busy: N ahead of you" while they wait; past that a Start is answered "busy" at once, before
  Gradio sees it (apps.playground_gate), for the page and API callers alike: a crowd of
  learners never waits unanswered in, nor fills, the queue the other tabs share;
- one run per browser session: a new Start, Stop, Reset or closing the tab stops the old run;
- knobs are checked by the lesson (a sentence for lr 1e9 or NaN), and a run whose loss stops
  being a number ends with "diverged";
- nothing is kept after a run but the last picture on the visitor's page, so memory does not
  grow with the number of runs served; a trained net offered for download is handed to Gradio,
  which copies it into its cache, and its temporary folder is deleted right after.
The tab exists only where torch is installed; elsewhere it says how to get it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import shutil
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from digitzoo.apps.charts import figure_data

RUNNING = 3  # training runs at once: 2 cores, small single-threaded models
WAITING = 8  # visitors who may wait for a slot; more are told "busy" at once
MAX_WAIT_S = 60  # a visitor is not kept waiting longer than this
FPS = 6  # pictures per second while a lesson trains
INSTALL_HINT = "pip install 'digitzoo[playground]'"
# A place apps.playground_gate keeps for a Start is given back if the Start's run has not joined the line by
# then (Gradio never ran it). An admitted Start runs at once: Gradio puts no cap of its own on Starts.
RESERVATION_S = 10


@dataclass
class Ticket:
    """One visitor's request to train: stopped by a new Start, Stop, Reset or a closed tab."""

    session: str
    stop: threading.Event = field(default_factory=threading.Event)


class RunSlots:
    """Admission for training runs: ``running`` at once, ``waiting`` in line, first come first served.

    There are ``running + waiting`` places. A Start ``reserve``s one before Gradio queues it; its
    run then ``join``s the line in it. A kept place is a count, not a name: Gradio does not always
    know the session of an API call when it validates it.
    """

    def __init__(self, running: int = RUNNING, waiting: int = WAITING):
        self.capacity, self.max_waiting = running, waiting
        self.lock = threading.Lock()
        self.running: dict[str, Ticket] = {}
        self.line: OrderedDict[str, Ticket] = OrderedDict()
        self.reserved: deque[float] = deque()  # when each place kept for a run not in line yet was kept

    def reserve(self, session: str) -> bool:
        """Keep a place in line for a Start of ``session``; False when there is none (busy)."""
        with self.lock:
            self._expire_locked()
            if self._taken_locked(but=session) >= self.capacity + self.max_waiting:
                return False
            self.reserved.append(time.monotonic())
            return True

    def unreserve(self) -> None:
        """Give back a kept place whose run will not join (its seed or a knob was refused)."""
        with self.lock:
            if self.reserved:
                self.reserved.popleft()

    def join(self, session: str) -> Ticket | None:
        """A ticket in line (after stopping this session's earlier run), in a kept place if there is
        one; None when every place is taken."""
        with self.lock:
            if self.reserved:
                self.reserved.popleft()
            self._stop_locked(session)
            self._expire_locked()
            if self._taken_locked() >= self.capacity + self.max_waiting:
                return None
            ticket = Ticket(session)
            self.line[session] = ticket
            return ticket

    def ahead_of(self, ticket: Ticket) -> int | None:
        """None once ``ticket`` holds a slot (it takes one when free and first in line); else how many are ahead."""
        with self.lock:
            if self.running.get(ticket.session) is ticket:
                return None
            if ticket.stop.is_set() or self.line.get(ticket.session) is not ticket:
                return -1  # stopped while waiting
            position = list(self.line).index(ticket.session)
            if position == 0 and len(self.running) < self.capacity:
                del self.line[ticket.session]
                self.running[ticket.session] = ticket
                return None
            return position + len(self.running) - self.capacity + 1 if len(self.running) >= self.capacity else position

    def leave(self, ticket: Ticket) -> None:
        with self.lock:
            if self.running.get(ticket.session) is ticket:
                del self.running[ticket.session]
            if self.line.get(ticket.session) is ticket:
                del self.line[ticket.session]

    def stop(self, session: str) -> None:
        with self.lock:
            self._stop_locked(session)

    def _stop_locked(self, session: str) -> None:
        for table in (self.running, self.line):
            ticket = table.get(session)
            if ticket is not None:
                ticket.stop.set()
        self.line.pop(session, None)

    def _taken_locked(self, but: str | None = None) -> int:
        """Places taken: runs training (not stopped), waiting, or kept for a Start. A new Start of
        session ``but`` takes its old run's place (it stops that run)."""
        running = sum(1 for s, t in self.running.items() if not t.stop.is_set() and s != but)
        return running + sum(1 for s in self.line if s != but) + len(self.reserved)

    def _expire_locked(self) -> None:
        while self.reserved and time.monotonic() - self.reserved[0] > RESERVATION_S:
            self.reserved.popleft()

    def counts(self) -> tuple[int, int]:
        """(runs training, visitors waiting or about to)."""
        with self.lock:
            self._expire_locked()
            return len(self.running), len(self.line) + len(self.reserved)

    def busy(self) -> str:
        """What a refused Start is told."""
        running, waiting = self.counts()
        return f"Busy: {running} runs are training and {waiting} visitors are waiting. Try again in a minute."


SLOTS = RunSlots()


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def _status(update, lesson) -> str:
    """Markdown under the plot: what is happening, the metrics, whether the target was reached."""
    metrics = "  ".join(f"{k} **{v:.4g}**" for k, v in update.metrics.items())
    head = {"running": "Training", "reached": "Reached", "done": "Done", "stopped": "Stopped",
            "diverged": "Diverged", "out of time": "Out of time"}[update.status]
    lines = [f"**{head}** · step {update.step}/{lesson.max_steps} · {update.elapsed_s:.1f} s · {metrics}"]
    if update.reached_at_step is not None:
        lines.append(f"✓ target reached at step {update.reached_at_step} ({update.reached_at_s:.1f} s): {lesson.target}")
    if update.status in ("stopped", "diverged", "out of time", "done"):
        lines.append(update.message)
    return "\n\n".join(lines)


def _session(request: gr.Request | None) -> str:
    """The browser session a run belongs to (an API call without one gets a session of its own)."""
    return request.session_hash if request is not None and request.session_hash else f"anonymous-{id(request)}"


def parse_start(cls, seed, knob_values) -> tuple[int, dict]:
    """(seed, knobs) of a Start of lesson ``cls``; a gr.Error with a sentence for anything else."""
    from digitzoo.hub.lessons.lesson import LessonError, quoted

    try:
        seed_value = int(float(seed))
        if not 0 <= seed_value < 2**31:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"seed must be a whole number from 0 to 2147483647, not {quoted(seed)}", print_exception=False) from None
    try:
        return seed_value, cls.parse_knobs({k.name: v for k, v in zip(cls.knobs, knob_values)})
    except LessonError as exc:
        raise gr.Error(str(exc), print_exception=False) from None


@contextlib.contextmanager
def onnx_download(lesson) -> Iterator[Path]:
    """The lesson's trained net as a verified ONNX file in a temporary folder, deleted on leaving.

    Handed to a gr.DownloadButton, the file is copied into Gradio's cache (what the button then
    serves) as the update is sent, before the stream goes on, so the folder can go right after.
    """
    from digitzoo.hub.lessons.download import export_onnx

    folder = tempfile.mkdtemp(prefix="digitzoo-lesson-")
    try:
        yield export_onnx(lesson, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stream(name: str, session: str, seed, *knob_values):
    """Start a run of lesson ``name`` for ``session`` and stream (figure, status, download) updates."""
    import torch

    from digitzoo.hub.lessons.lesson import get_lesson
    from digitzoo.hub.lessons.run import iterate

    cls = get_lesson(name)
    # A Start whose inputs are refused here never kept a place: the gate keeps one for well-formed Starts only.
    seed_value, knobs = parse_start(cls, seed, knob_values)
    ticket = SLOTS.join(session)
    if ticket is None:  # its kept place expired before Gradio ran it, and the line filled up meanwhile
        yield gr.skip(), f"**{SLOTS.busy()}**", gr.skip()
        return
    try:
        asked = time.perf_counter()
        shown = None
        while (ahead := SLOTS.ahead_of(ticket)) is not None:
            if ahead < 0:
                return  # this session started another run, pressed Stop, or left
            if time.perf_counter() - asked > MAX_WAIT_S:
                yield gr.skip(), "**Still busy** after a minute of waiting: try again soon.", gr.skip()
                return
            if ahead != shown:
                shown = ahead
                yield gr.skip(), f"**Busy**: {ahead} ahead of you; your run starts when a slot frees up.", gr.skip()
            time.sleep(0.2)
        torch.set_num_threads(1)  # each run one core's worth, so RUNNING runs share the machine
        lesson = cls(seed=seed_value, **knobs)
        # Enough steps per picture that the whole step budget plays within ~70% of the time budget.
        every = max(lesson.steps_per_update, math.ceil(lesson.max_steps / (FPS * 0.7 * lesson.max_seconds)))
        for update in iterate(lesson, stop=ticket.stop, every_s=0.0, steps_per_update=every, pace_s=1 / FPS):
            shown = figure_data(update.figure), _status(update, lesson)
            if update.final and cls.exportable and update.status in ("reached", "done", "stopped", "out of time") and update.step:
                with onnx_download(lesson) as path:
                    yield *shown, gr.update(value=str(path), visible=True)
            else:
                yield *shown, gr.skip()
    finally:
        SLOTS.leave(ticket)


def stop_run(request: gr.Request) -> None:
    """Stop this browser session's run (Stop, Reset, a closed tab)."""
    SLOTS.stop(_session(request))


def reset_run(request: gr.Request):
    stop_run(request)
    return None, "Press **Start**.", gr.update(visible=False)


def _starter(name: str):
    """The Start event of one lesson (Gradio hands the request in first, then the inputs)."""
    def start(request: gr.Request, seed, *knob_values):
        yield from stream(name, _session(request), seed, *knob_values)
    return start


def start_api_name(lesson: str) -> str:
    """The API name of a lesson's Start (what apps.playground_gate admits)."""
    return f"lesson_{lesson}"


def start_checks() -> dict:
    """Each lesson's Start API name -> a check of a Start's raw inputs ([seed, *knobs]) that raises on
    bad ones (what apps.playground_gate admits: only well-formed Starts keep a place)."""
    from digitzoo.hub.lessons.lesson import get_lesson, list_lessons

    def check(cls):
        def well_formed(data) -> None:
            if not isinstance(data, list) or len(data) != 1 + len(cls.knobs):
                raise ValueError("a Start takes the seed and each knob")
            parse_start(cls, data[0], data[1:])
        return well_formed

    return {start_api_name(name): check(get_lesson(name)) for name in list_lessons()}


def _knob_input(knob):
    if knob.choices:
        return gr.Dropdown(list(knob.choices), value=knob.default, label=knob.label)
    if knob.integer:
        return gr.Number(value=knob.default, precision=0, label=f"{knob.label} ({knob.lo:g}-{knob.hi:g})")
    return gr.Number(value=knob.default, label=f"{knob.label} ({knob.lo:g}-{knob.hi:g})")


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    if not torch_installed():
        gr.Markdown("The Playground trains small PyTorch models live, so it needs PyTorch on the server: "
                    f"`{INSTALL_HINT}`, then restart `digitzoo serve`.")
        return
    from digitzoo.hub.lessons.lesson import get_lesson, list_lessons

    gr.Markdown("Classic PyTorch tutorial systems, trained live on the server: pick one, turn a knob, press "
                f"**Start** and watch it learn. The code beside the plot is the lesson's real code. At most {RUNNING} "
                "runs train at once; each stops at its step and time budget.")
    groups: dict[str, list] = {}
    for name in list_lessons():
        groups.setdefault(get_lesson(name).group, []).append(get_lesson(name))
    # Tabs that do not fit wrap onto another row: in a "more" menu a phone would hide most lessons.
    with gr.Tabs(overflow_behavior="wrap"):
        for group, lessons in groups.items():
            with gr.Tab(group.capitalize(), id=f"lessons-{group.replace(' ', '-')}"):
                with gr.Tabs(overflow_behavior="wrap"):
                    for cls in lessons:
                        with gr.Tab(tab_label(cls), id=f"lesson-{cls.name}"):
                            _lesson_panel(app, cls)
    app.unload(stop_run)  # a closed tab stops its run


def tab_label(cls) -> str:
    """A lesson's short tab label: its name in words ("gradient by hand")."""
    return cls.name.replace("_", " ")


def _lesson_panel(app: gr.Blocks, cls) -> None:
    gr.Markdown(f"### {cls.title}\n{cls.summary}\n\n*Target:* {cls.target} · budget {cls.max_steps} steps, "
                f"{cls.max_seconds:g} s")
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(label=cls.title, elem_id=f"lesson-plot-{cls.name}")
            status = gr.Markdown("Press **Start**.", elem_id=f"lesson-status-{cls.name}")
        with gr.Column(scale=2):
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id=f"lesson-start-{cls.name}")
                stop = gr.Button("Stop", elem_id=f"lesson-stop-{cls.name}")
                reset_button = gr.Button("Reset", elem_id=f"lesson-reset-{cls.name}")
            seed = gr.Number(value=0, precision=0, label="seed")
            knobs = [_knob_input(k) for k in cls.knobs]
            download = gr.DownloadButton("⬇ trained net (.onnx)", visible=False, size="sm",
                                         elem_id=f"lesson-download-{cls.name}")
            with gr.Accordion("The PyTorch code", open=True):
                gr.Code(cls.source(), language="python", interactive=False, elem_classes=["lesson-code"])
    # Admission is apps.playground_gate's, before Gradio queues the Start: a Gradio cap on Starts
    # would only hold admitted ones in the shared queue. preprocess=False: the lesson checks the
    # values itself, with a sentence (parse_start), where Gradio would answer with its own message.
    start.click(_starter(cls.name), [seed, *knobs], [plot, status, download], api_name=start_api_name(cls.name),
                preprocess=False, concurrency_limit=None, show_progress="hidden")
    stop.click(stop_run, None, None, api_name=f"lesson_{cls.name}_stop", queue=False)
    reset_button.click(reset_run, None, [plot, status, download], api_name=f"lesson_{cls.name}_reset", queue=False)
