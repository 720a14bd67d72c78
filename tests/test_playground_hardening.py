"""The Playground under a hostile crowd, against a real hub (``serve(block=False)``) and gradio_client:
a full Playground answers "busy" at once and leaves Gradio's shared queue to the other tabs; a
400-digit knob is refused with a sentence; a run's download leaves no folder in TMPDIR; lesson nets
exported from several threads at once all succeed."""

from __future__ import annotations

import json
import re
import tempfile
import time

import httpx
import pytest

from digitzoo.apps import gradio_app, playground  # first: the apps package sets up Gradio before its import

import gradio as gr  # noqa: E402,I001
from digitzoo.apps.bench import free_port
from digitzoo.apps.playground_bench import measure_concurrent_exports, measure_crowd
from digitzoo.hub.lessons.lesson import get_lesson, list_lessons
from digitzoo.hub.lessons.run import Update
from digitzoo.hub.serving.runtime import open_file

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

LESSON = "regression"  # small, quick, exportable
HUGE = 10**400


@pytest.fixture(scope="module")
def hub():
    """The playground and latent tabs with one training slot, one waiting place and a queue of 8 (the
    shipped 3 + 8 and 64, scaled down: a crowd of 12 behaves as one of 75 does on the real hub)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(playground, "RUNNING", 1)
        patch.setattr(playground, "WAITING", 1)
        patch.setattr(playground, "SLOTS", playground.RunSlots(running=1, waiting=1))
        patch.setattr(gradio_app, "QUEUE_SIZE", 8)
        app = gradio_app.serve(port=free_port(), block=False, tabs=["playground", "latent"])
        try:
            yield app.local_url
        finally:
            app.close()


def wait_for(condition, timeout: float = 30.0) -> None:
    began = time.perf_counter()
    while not condition():
        assert time.perf_counter() - began < timeout, "timed out"
        time.sleep(0.02)


def call(url: str, api: str, data: list) -> tuple[str, object]:
    """One call over Gradio's HTTP API (POST, then its event stream): (last event, its data), or
    ("refused", the sentence) when it was refused before Gradio saw it (apps.playground_gate: 429)."""
    with httpx.Client(base_url=url, timeout=60) as http:
        joined = http.post(f"gradio_api/call/{api}", json={"data": data})
        if joined.status_code == 429:
            return "refused", joined.json()["detail"]
        joined.raise_for_status()
        lines = http.get(f"gradio_api/call/{api}/{joined.json()['event_id']}").text.splitlines()
    events = [line[len("event: "):] for line in lines if line.startswith("event: ")]
    data_lines = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
    last = data_lines[-1]
    return events[-1], last[1] if isinstance(last, list) and len(last) > 1 else last


def defaults(name: str) -> list:
    """A Start's inputs at the defaults: the seed, each knob, the steps."""
    cls = get_lesson(name)
    return [0, *[k.default for k in cls.knobs], cls.steps_by_default()]


def held_run(lesson, stop, **_):
    """A run that trains nothing and holds its slot until it is stopped."""
    yield Update(0, 0.0, {})
    stop.wait(60)
    yield Update(0, 0.0, {}, status="stopped", message="stopped")


def test_a_full_playground_says_busy_at_once_and_leaves_the_queue_to_other_tabs(hub, monkeypatch):
    monkeypatch.setattr("digitzoo.hub.lessons.run.iterate", held_run)
    holders = [Client(hub, verbose=False) for _ in range(2)]  # the one slot and the one waiting place
    jobs = [client.submit(*defaults(LESSON), api_name=f"/lesson_{LESSON}") for client in holders]
    try:
        wait_for(lambda: playground.SLOTS.counts() == (1, 1))
        began = time.perf_counter()
        event, status = call(hub, f"lesson_{LESSON}", defaults(LESSON))
        answered_s = time.perf_counter() - began
        # gradio_client adds 0.3-3 s of its own per call when a dozen share this process with the server:
        # "silent" (nothing heard in 5 s) is what a Start held in Gradio's queue looks like.
        crowd = measure_crowd(hub, sessions=12, lesson=LESSON, other_calls=24, patience_s=5)
    finally:
        for client in holders:
            client.predict(api_name=f"/lesson_{LESSON}_stop")
        for job in jobs:
            job.result(timeout=30)
    assert event == "refused" and answered_s < 2, (event, status, answered_s)
    assert status == "Busy: 1 runs are training and 1 visitors are waiting. Try again in a minute."
    assert (crowd["busy"], crowd["admitted"], crowd["silent"], crowd["errors"]) == (12, 0, 0, 0), str(crowd)
    other = crowd["other_tab"]
    assert other["calls"] >= 24 and other["http_503"] == 0 and other["errors"] == 0, str(crowd)
    assert playground.SLOTS.counts() == (0, 0)


def test_a_finished_run_leaves_no_folder_in_tmpdir_and_its_download_still_works(hub, monkeypatch, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))  # TMPDIR of this process; Gradio's cache was set at import
    client = Client(hub, verbose=False, download_files=False)  # the file's URL, fetched below as a browser would
    job = client.submit(*defaults(LESSON), api_name=f"/lesson_{LESSON}")
    wait_for(lambda: any(isinstance(o[1], str) and o[1].startswith("**Training") for o in job.outputs()))
    client.predict(api_name=f"/lesson_{LESSON}_stop")
    _, status, download = job.result(timeout=60)
    assert status.startswith("**Stopped"), status
    assert not list(tmpdir.glob("digitzoo-lesson-*"))
    served = httpx.get(download["value"]["url"], timeout=30)  # the copy in Gradio's cache outlives the folder
    assert served.status_code == 200, download
    (tmp_path / "net.onnx").write_bytes(served.content)
    run, _ = open_file(tmp_path / "net.onnx", "onnx", device="cpu")
    module, example = get_lesson(LESSON)(seed=0).onnx_module()
    assert run(example.numpy())[0].shape == tuple(module(example).shape)


@pytest.mark.parametrize("name, knob", [(n, k.name) for n in list_lessons() for k in get_lesson(n).knobs])
def test_a_400_digit_knob_is_a_sentence(name, knob):
    cls = get_lesson(name)
    values = [HUGE if k.name == knob else k.default for k in cls.knobs]
    label = next(k.label for k in cls.knobs if k.name == knob)
    with pytest.raises(gr.Error, match=re.escape(label)) as refused:
        playground.parse_start(cls, 0, values)
    assert refused.value.print_exception is False
    with pytest.raises(gr.Error, match="seed must be a whole number"):
        playground.parse_start(cls, HUGE, [k.default for k in cls.knobs])


def test_a_400_digit_knob_over_the_api_is_a_sentence(hub):
    knob = get_lesson(LESSON).knobs[0]
    event, answer = call(hub, f"lesson_{LESSON}", [0, HUGE, *defaults(LESSON)[2:]])
    assert event == "error" and knob.label in (answer.get("error") or ""), answer


def test_concurrent_lesson_exports_all_succeed_and_leave_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    figures = measure_concurrent_exports(n=12, threads=4, lesson=LESSON, steps=5)
    assert (figures["failures"], figures["tmp_folders_left"], figures["stdout_redirected"]) == (0, 0, False), figures


def test_run_slots_keep_places_for_starts_and_give_back_unused_ones(monkeypatch):
    slots = playground.RunSlots(running=1, waiting=1)
    assert slots.reserve("a") and slots.reserve("b")  # the slot and the waiting place, kept as the Starts arrive
    assert not slots.reserve("c")  # busy before Gradio queues it
    a = slots.join("a")
    assert slots.ahead_of(a) is None and not slots.reserve("c")
    slots.unreserve()  # b's knob was refused: its place is free again
    assert slots.reserve("c")
    monkeypatch.setattr(playground, "RESERVATION_S", 0.0)  # c's Start never ran: its place lapses
    time.sleep(0.01)
    assert slots.counts() == (1, 0) and slots.reserve("a")  # a new Start of a replaces a's run
    slots.leave(a)


def test_malformed_starts_never_keep_a_place(hub):
    """Bad Starts sent one after another (before: each kept a place for 10 s, so 2 here, 11 on the
    real hub, shut every learner out) are answered with their sentence and leave every place free."""
    bad = [[None] * len(defaults(LESSON)), [0], [{"a": 1}], [-5, *defaults(LESSON)[1:]], [*defaults(LESSON)[:-1], 0]]
    for data in bad * 3:
        event, answer = call(hub, f"lesson_{LESSON}", data)
        assert event in ("error", "refused") and "Busy" not in str(answer), (data, event, answer)
    assert playground.SLOTS.counts() == (0, 0)
    event, answer = call(hub, f"lesson_{LESSON}_stop", [])  # the hub goes on; and a good Start is admitted
    held = Client(hub, verbose=False)
    job = held.submit(*defaults(LESSON), api_name=f"/lesson_{LESSON}")
    try:
        wait_for(lambda: playground.SLOTS.counts()[0] + playground.SLOTS.counts()[1] >= 1 or job.done())
    finally:
        held.predict(api_name=f"/lesson_{LESSON}_stop")
        job.result(timeout=60)
