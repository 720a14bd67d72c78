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
  which copies it into its cache, and its temporary folder is deleted right after;
- a learner's own data (regression, classification, multi_feature) is kept in memory for their
  browser session only, at most ``SESSION_DATA``'s sessions at once, and dropped when the tab closes.
A run is reproducible: the "Copy link" button puts the lesson, seed, steps and knobs in the page's
address (``digitzoo.hub.lessons.links``), a finished run prints the command line that trains the
same run, and "Get the code" hands over the lesson as a script and a notebook
(``digitzoo.hub.lessons.export``) that train it the same way.
The tab exists only where torch and the lessons' packages are installed; elsewhere it says how to get them.
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
from urllib.parse import parse_qsl

import gradio as gr

from digitzoo.apps.charts import figure_data

RUNNING = 3  # training runs at once: 2 cores, small single-threaded models
WAITING = 8  # visitors who may wait for a slot; more are told "busy" at once
MAX_WAIT_S = 60  # a visitor is not kept waiting longer than this
FPS = 6  # pictures per second while a lesson trains
# What the README's Playground section says to run; the tab names the missing packages too.
DEMO_HINT = "DIGITZOO_EXTRAS=playground bash scripts/demo.sh"
INSTALL_HINT = "pip install 'digitzoo[playground]'"
# The lessons' packages: torch for all, gymnasium for CartPole, scikit-learn for the diabetes table.
PLAYGROUND_PACKAGES = {"torch": "torch", "gymnasium": "gymnasium", "sklearn": "scikit-learn"}
# Copies the page's address with the set-up's query (written by Python: links.link_query) and shows it.
COPY_LINK_JS = """(query) => {
  const url = `${window.location.origin}${window.location.pathname}?${query}`;
  window.history.replaceState(null, "", url);
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return url;
}"""
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


class SessionData:
    """The data learners brought, per browser session and lesson, in memory only.

    Kept as the checked CSV text (read back into a Table for each run: milliseconds), for at most
    ``sessions`` sessions (the oldest is dropped first) and ``ttl_s`` seconds, so memory stays bounded
    whatever the crowd: 16 sessions x a few MB.
    """

    def __init__(self, sessions: int = 16, ttl_s: float = 3600):
        self.sessions, self.ttl_s = sessions, ttl_s
        self.lock = threading.Lock()
        self.tables: OrderedDict[str, tuple[float, dict[str, tuple[str, str | None]]]] = OrderedDict()

    def put(self, session: str, lesson: str, table) -> None:
        with self.lock:
            _, kept = self.tables.pop(session, (0.0, {}))
            kept[lesson] = (table.to_csv(), table.label)
            self.tables[session] = (time.monotonic(), kept)
            while len(self.tables) > self.sessions:
                self.tables.popitem(last=False)

    def has(self, session: str, lesson: str) -> bool:
        """Whether the session keeps a table for ``lesson`` (without reading it back)."""
        with self.lock:
            when, kept = self.tables.get(session, (0.0, {}))
            return lesson in kept and time.monotonic() - when <= self.ttl_s

    def get(self, session: str, lesson: str):
        """The session's table for ``lesson``, or None (none brought, or dropped since)."""
        from digitzoo.hub.lessons.lesson import get_lesson
        from digitzoo.hub.lessons.user_data import read_table

        with self.lock:
            when, kept = self.tables.get(session, (0.0, {}))
            if lesson not in kept or time.monotonic() - when > self.ttl_s:
                return None
            text, label = kept[lesson]
        return read_table(text, get_lesson(lesson), label)

    def drop(self, session: str, lesson: str | None = None) -> None:
        with self.lock:
            if lesson is None:
                self.tables.pop(session, None)
            elif session in self.tables:
                self.tables[session][1].pop(lesson, None)


SESSION_DATA = SessionData()


def missing_packages() -> list[str]:
    """The lessons' packages this environment lacks (pip names)."""
    return [pip_name for module, pip_name in PLAYGROUND_PACKAGES.items() if importlib.util.find_spec(module) is None]


def playground_ready() -> bool:
    return not missing_packages()


def _status(update, lesson, steps: int) -> str:
    """Markdown under the plot: what is happening, the metrics, whether the target was reached; at the
    end, the result and the command line that trains the same run."""
    metrics = "  ".join(f"{k} **{v:.4g}**" for k, v in update.metrics.items())
    head = {"running": "Training", "reached": "Reached", "done": "Done", "stopped": "Stopped",
            "diverged": "Diverged", "out of time": "Out of time"}[update.status]
    lines = [f"**{head}** · step {update.step}/{steps} · {update.elapsed_s:.1f} s · {metrics}"]
    if update.reached_at_step is not None:
        lines.append(f"✓ target reached at step {update.reached_at_step} ({update.reached_at_s:.1f} s): {lesson.target}")
    if update.status in ("stopped", "diverged", "out of time", "done"):
        lines.append(update.message)
    if update.final and update.step:
        # The same figures, to the same digits, as `digitzoo lesson run` prints.
        lines.append("Result: " + " · ".join(f"{k} {v:.6g}" for k, v in update.result.items()))
        lines.append(f"The same run from the command line: `{reproduce_command(lesson, update.step)}`")
    return "\n\n".join(lines)


def reproduce_command(lesson, steps: int) -> str:
    """`digitzoo lesson run ...` with this run's seed, knobs, data and steps."""
    knobs = " ".join(f"--knob {name}={value!r}" if isinstance(value, float) else f"--knob {name}={value}"
                     for name, value in lesson.settings.items())
    data = ""
    if lesson.data is not None:
        data = " --data your.csv" + (f" --label-column '{lesson.data.label}'" if not lesson.data_spec.columns else "")
    return f"digitzoo lesson run {lesson.name} --seed {lesson.seed} {knobs} --steps {steps}{data}".replace("  ", " ")


def _session(request: gr.Request | None) -> str:
    """The browser session a run belongs to (an API call without one gets a session of its own)."""
    return request.session_hash if request is not None and request.session_hash else f"anonymous-{id(request)}"


def parse_start(cls, seed, knob_values, steps=None) -> tuple[int, dict, int]:
    """(seed, knobs, steps) of a Start of lesson ``cls`` (no steps: its budget); a gr.Error with a
    sentence for anything else."""
    from digitzoo.hub.lessons.lesson import LessonError, quoted

    try:
        seed_value = int(float(seed))
        if not 0 <= seed_value < 2**31:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"seed must be a whole number from 0 to 2147483647, not {quoted(seed)}", print_exception=False) from None
    try:
        knobs = cls.parse_knobs({k.name: v for k, v in zip(cls.knobs, knob_values)})
        return seed_value, knobs, cls.steps_by_default() if steps is None else cls.parse_steps(steps)
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


def stream(name: str, session: str, seed, *knob_values_and_steps):
    """Start a run of lesson ``name`` for ``session`` and stream (figure, status, download) updates.

    The inputs are the Start's: the seed, each knob, then the steps.
    """
    import torch

    from digitzoo.hub.lessons.lesson import get_lesson
    from digitzoo.hub.lessons.run import iterate, start

    cls = get_lesson(name)
    *knob_values, steps = knob_values_and_steps
    # A Start whose inputs are refused here never kept a place: the gate keeps one for well-formed Starts only.
    seed_value, knobs, steps = parse_start(cls, seed, knob_values, steps)
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
        lesson = start(cls, seed_value, SESSION_DATA.get(session, name), **knobs)
        # Enough steps per picture that the whole step budget plays within ~70% of the time budget.
        every = max(lesson.steps_per_update, math.ceil(lesson.max_steps / (FPS * 0.7 * lesson.max_seconds)))
        for update in iterate(lesson, stop=ticket.stop, max_seconds=lesson.max_seconds, every_s=0.0,
                              steps_per_update=every, pace_s=1 / FPS, steps=steps):
            shown = figure_data(update.figure), _status(update, lesson, steps)
            if update.final and cls.exportable and update.status in ("reached", "done", "stopped", "out of time") and update.step:
                with onnx_download(lesson) as path:
                    yield *shown, gr.update(value=str(path), visible=True)
            else:
                yield *shown, gr.skip()
    finally:
        SLOTS.leave(ticket)


def stop_run(request: gr.Request) -> None:
    """Stop this browser session's run (Stop, Reset)."""
    SLOTS.stop(_session(request))


def leave(request: gr.Request) -> None:
    """A closed tab: its run stops and the data it brought is dropped."""
    SLOTS.stop(_session(request))
    SESSION_DATA.drop(_session(request))


def reset_run(request: gr.Request):
    stop_run(request)
    return None, "Press **Start**.", gr.update(visible=False)


def _starter(name: str):
    """The Start event of one lesson (Gradio hands the request in first, then the inputs)."""
    def start(request: gr.Request, seed, *knob_values_and_steps):
        yield from stream(name, _session(request), seed, *knob_values_and_steps)
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
            if not isinstance(data, list) or len(data) != 2 + len(cls.knobs):
                raise ValueError("a Start takes the seed, each knob and the steps")
            parse_start(cls, data[0], data[1:-1], data[-1])
        return well_formed

    return {start_api_name(name): check(get_lesson(name)) for name in list_lessons()}


def _knob_input(cls, knob):
    elem_id = f"lesson-knob-{cls.name}-{knob.name}"
    if knob.choices:
        return gr.Dropdown(list(knob.choices), value=knob.default, label=knob.label, elem_id=elem_id)
    if knob.integer:
        return gr.Number(value=knob.default, precision=0, label=f"{knob.label} ({knob.lo:g}-{knob.hi:g})", elem_id=elem_id)
    return gr.Number(value=knob.default, label=f"{knob.label} ({knob.lo:g}-{knob.hi:g})", elem_id=elem_id)


@dataclass
class LessonPanel:
    """The inputs a link sets and the status line it writes to, of one lesson."""

    cls: type
    seed: gr.Number
    steps: gr.Number
    knobs: list
    status: gr.Markdown


@dataclass
class Playground:
    """The tab's tabs and panels: what a link opening the page selects and fills in."""

    groups: gr.Tabs
    lesson_tabs: dict[str, gr.Tabs]  # group -> the tabs of its lessons
    panels: dict[str, LessonPanel]
    note: gr.Markdown  # a link to a lesson that does not exist says so here


def build(app: gr.Blocks) -> Playground | None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    if not playground_ready():
        gr.Markdown(not_ready_hint(), elem_id="playground-not-ready")
        return None
    from digitzoo.hub.lessons.lesson import get_lesson, list_lessons

    gr.Markdown("Classic PyTorch tutorial systems, trained live on the server: pick one, turn a knob, press "
                f"**Start** and watch it learn. The code beside the plot is the lesson's real code. At most {RUNNING} "
                "runs train at once; each stops at its step and time budget. **Copy link** shares a lesson as you "
                "set it up; **Get the code** takes it home as a script or notebook that trains the same run.")
    note = gr.Markdown(visible=False, elem_id="playground-link-note")
    groups: dict[str, list] = {}
    for name in list_lessons():
        groups.setdefault(get_lesson(name).group, []).append(get_lesson(name))
    panels, lesson_tabs = {}, {}
    # Tabs that do not fit wrap onto another row: in a "more" menu a phone would hide most lessons.
    with gr.Tabs(overflow_behavior="wrap") as group_tabs:
        for group, lessons in groups.items():
            with gr.Tab(group.capitalize(), id=group_tab_id(group)):
                with gr.Tabs(overflow_behavior="wrap") as lesson_tabs[group]:
                    for cls in lessons:
                        with gr.Tab(tab_label(cls), id=f"lesson-{cls.name}"):
                            panels[cls.name] = _lesson_panel(app, cls)
    app.unload(leave)  # a closed tab stops its run and drops its data
    return Playground(group_tabs, lesson_tabs, panels, note)


def not_ready_hint() -> str:
    missing = missing_packages()
    return (f"The Playground trains small PyTorch models live on the server, and this server lacks "
            f"{' and '.join(missing)}. From a clone of digitzoo: `{DEMO_HINT}` (the README's command); in an environment "
            f"of your own: `{INSTALL_HINT}`. Then restart `digitzoo serve`.")


def group_tab_id(group: str) -> str:
    return f"lessons-{group.replace(' ', '-')}"


def open_links(app: gr.Blocks, playground: Playground, top: gr.Tabs | None = None, top_id: str = "playground") -> None:
    """A page opened from a link (``?lesson=...``) shows that lesson set up as the link says.

    ``top``: the hub's own tabs, when the Playground is one of several (its tab is ``top_id``).
    """
    panels = list(playground.panels.values())
    outputs = [playground.note, playground.groups, *playground.lesson_tabs.values()]
    outputs += [c for panel in panels for c in (panel.seed, panel.steps, *panel.knobs, panel.status)]
    if top is not None:
        outputs.append(top)

    def opened(query: str):
        from digitzoo.hub.lessons.lesson import LessonError
        from digitzoo.hub.lessons.links import read_link

        params = dict(parse_qsl(query.removeprefix("?"), keep_blank_values=True))
        try:
            link = read_link(params)
        except LessonError as exc:
            return [gr.update(value=f"**This link does not open a lesson:** {exc}.", visible=True)] + [gr.skip()] * (len(outputs) - 1)
        if link is None:
            return [gr.skip()] * len(outputs)
        cls = playground.panels[link.lesson].cls
        answer = [gr.skip(), gr.Tabs(selected=group_tab_id(cls.group))]
        answer += [gr.Tabs(selected=f"lesson-{cls.name}") if group == cls.group else gr.skip() for group in playground.lesson_tabs]
        for panel in panels:
            if panel.cls is not cls:
                answer += [gr.skip()] * (3 + len(panel.knobs))
                continue
            notes = [f"- {note[0].upper()}{note[1:]}." for note in link.notes]
            if link.own_data:
                notes.append("- This set-up ran on the sender's own data, which a link does not carry: bring the "
                             "same CSV under **Your own data** to train on it; until then the lesson's own data is used.")
            text = "Set up from a link. Press **Start**." + ("\n\n" + "\n".join(notes) if notes else "")
            answer += [link.seed, link.steps, *(link.knobs[k.name] for k in cls.knobs), text]
        if top is not None:
            answer.append(gr.Tabs(selected=top_id))
        return answer

    # The page's query reaches the server only when there is one: a load event that called the server
    # on every visit made the hub's first Draw answer ~0.1 s later (a request and a re-render while
    # the page starts). (A hidden textbox filled by a JS load event still asked, with "", under load:
    # Gradio fired its change as it mounted.) This component's own code triggers only for a query.
    query = gr.HTML(value="", html_template="", visible="hidden", apply_default_css=False, padding=False,
                    js_on_load="if (location.search) { props.value = location.search; trigger('change'); }")
    query.change(opened, query, outputs, queue=False, show_progress="hidden", api_name=False)


def tab_label(cls) -> str:
    """A lesson's short tab label: its name in words ("gradient by hand")."""
    return cls.name.replace("_", " ")


def link_query_of(name: str):
    """The Copy link event of one lesson: the query of its checked set-up (and its data choice)."""
    def query(request: gr.Request, seed, steps, *knob_values):
        from digitzoo.hub.lessons.lesson import get_lesson
        from digitzoo.hub.lessons.links import link_query

        cls = get_lesson(name)
        seed_value, knobs, steps_value = parse_start(cls, seed, knob_values, steps)
        own_data = SESSION_DATA.has(_session(request), name)
        return link_query(cls, seed_value, steps_value, knobs, own_data), gr.update(visible=True)
    return query


def code_files_of(name: str):
    """The Get the code event of one lesson: its script and notebook as set up, handed to Gradio.

    A generator, so the temporary folder goes only after Gradio has copied the files into its cache.
    """
    def code_files(request: gr.Request, seed, steps, *knob_values):
        from digitzoo.hub.lessons.export import lesson_notebook, lesson_script
        from digitzoo.hub.lessons.lesson import get_lesson

        cls = get_lesson(name)
        seed_value, knobs, steps_value = parse_start(cls, seed, knob_values, steps)
        data = SESSION_DATA.get(_session(request), name)
        folder = Path(tempfile.mkdtemp(prefix="digitzoo-code-"))
        try:
            script, notebook = folder / f"lesson_{name}.py", folder / f"lesson_{name}.ipynb"
            script.write_text(lesson_script(name, seed_value, knobs, steps_value, data), encoding="utf-8")
            notebook.write_text(lesson_notebook(name, seed_value, knobs, steps_value, data), encoding="utf-8")
            yield gr.update(value=[str(script), str(notebook)], visible=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return code_files


def data_events_of(name: str):
    """(from a file, from pasted text, back to the lesson's own) events of a lesson that takes data."""
    from digitzoo.hub.lessons.lesson import LessonError, get_lesson
    from digitzoo.hub.lessons.user_data import read_table, read_table_file

    cls = get_lesson(name)

    def kept(request, read) -> str:
        try:
            table = read()
        except LessonError as exc:
            return f"**Not used:** {exc}. Still training on {_data_in_use(request, name)}."
        SESSION_DATA.put(_session(request), name, table)
        return f"**Using your data:** {table.summary()}. Press **Start**."

    def from_file(request: gr.Request, path, label_column):
        """(the status, the emptied upload field): the file is read, then deleted, so nothing of it stays on disk."""
        if not path:
            return gr.skip(), gr.skip()
        try:
            return kept(request, lambda: read_table_file(path, cls, label_column or None)), None
        finally:
            with contextlib.suppress(OSError):
                Path(path).unlink()

    def from_text(request: gr.Request, text, label_column):
        return kept(request, lambda: read_table(text or "", cls, label_column or None))

    def lesson_own(request: gr.Request):
        SESSION_DATA.drop(_session(request), name)
        return "Using the lesson's own data."

    return from_file, from_text, lesson_own


def _data_in_use(request, name: str) -> str:
    return "your earlier data" if SESSION_DATA.has(_session(request), name) else "the lesson's own data"


def _lesson_panel(app: gr.Blocks, cls) -> LessonPanel:
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
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="seed", elem_id=f"lesson-seed-{cls.name}")
                steps = gr.Number(value=cls.steps_by_default(), precision=0, label=f"steps (1-{cls.max_steps})",
                                  elem_id=f"lesson-steps-{cls.name}")
            knobs = [_knob_input(cls, k) for k in cls.knobs]
            download = gr.DownloadButton("⬇ trained net (.onnx)", visible=False, size="sm",
                                         elem_id=f"lesson-download-{cls.name}")
            with gr.Row():
                copy_link = gr.Button("Copy link", size="sm", elem_id=f"lesson-copy-link-{cls.name}")
                get_code = gr.Button("Get the code (.py, .ipynb)", size="sm", elem_id=f"lesson-get-code-{cls.name}")
            query = gr.Textbox(visible=False)
            link = gr.Textbox(label="Link to this set-up (copied)", visible=False, interactive=False,
                              elem_id=f"lesson-link-{cls.name}")
            code_files = gr.File(label="The lesson as a script and a notebook", file_count="multiple", visible=False,
                                 interactive=False, elem_id=f"lesson-code-files-{cls.name}")
            if cls.data_spec is not None:
                _data_panel(cls)
            with gr.Accordion("The PyTorch code", open=True):
                gr.Code(cls.source(), language="python", interactive=False, elem_classes=["lesson-code"])
    # Admission is apps.playground_gate's, before Gradio queues the Start: a Gradio cap on Starts
    # would only hold admitted ones in the shared queue. preprocess=False: the lesson checks the
    # values itself, with a sentence (parse_start), where Gradio would answer with its own message.
    start.click(_starter(cls.name), [seed, *knobs, steps], [plot, status, download], api_name=start_api_name(cls.name),
                preprocess=False, concurrency_limit=None, show_progress="hidden")
    stop.click(stop_run, None, None, api_name=f"lesson_{cls.name}_stop", queue=False)
    reset_button.click(reset_run, None, [plot, status, download], api_name=f"lesson_{cls.name}_reset", queue=False)
    # Both answer in milliseconds (no training): outside the queue, like Stop.
    copy_link.click(link_query_of(cls.name), [seed, steps, *knobs], [query, link], preprocess=False,
                    queue=False, show_progress="hidden", api_name=False).then(
        None, [query], [link], js=COPY_LINK_JS, queue=False, show_progress="hidden")
    get_code.click(code_files_of(cls.name), [seed, steps, *knobs], [code_files], preprocess=False,
                   api_name=f"lesson_{cls.name}_code", concurrency_limit=4, show_progress="hidden")
    return LessonPanel(cls, seed, steps, knobs, status)


def _data_panel(cls) -> None:
    """Your own data: a CSV file or pasted text, checked with a sentence, kept for this session only."""
    from digitzoo.hub.lessons.user_data import MAX_ROWS, MIN_ROWS

    from_file, from_text, lesson_own = data_events_of(cls.name)
    with gr.Accordion("Your own data", open=False, elem_id=f"lesson-data-{cls.name}"):
        gr.Markdown(f"Train on your own CSV: {cls.data_spec.describe()}; {MIN_ROWS} to {MAX_ROWS:,} rows, a header "
                    "line optional. The server keeps it in memory for this browser session only (an uploaded file is "
                    "deleted as soon as it is read) and forgets it when you close the tab.")
        data_status = gr.Markdown("Using the lesson's own data.", elem_id=f"lesson-data-status-{cls.name}")
        upload = gr.File(label="CSV file", file_types=[".csv", ".txt"], elem_id=f"lesson-data-file-{cls.name}")
        pasted = gr.Textbox(label="or paste it here", lines=3, max_lines=8, elem_id=f"lesson-data-text-{cls.name}")
        label_column = gr.Textbox(visible=False)
        if not cls.data_spec.columns:
            label_column = gr.Textbox(label="label column (empty: the one named 'label', or the last)",
                                      elem_id=f"lesson-data-label-{cls.name}")
        with gr.Row():
            use = gr.Button("Use the pasted data", size="sm", elem_id=f"lesson-data-use-{cls.name}")
            own = gr.Button("Back to the lesson's data", size="sm", elem_id=f"lesson-data-own-{cls.name}")
    upload.upload(from_file, [upload, label_column], [data_status, upload], api_name=False, show_progress="hidden")
    use.click(from_text, [pasted, label_column], [data_status], api_name=False, show_progress="hidden")
    own.click(lesson_own, None, [data_status], api_name=False, queue=False, show_progress="hidden")
