"""The classroom's store and routes: sessions, joins, drawings saved once and only after commit, the
limits, retention on a clock the test moves, migrations, nothing personal stored, every endpoint's
refusals, and a server killed with SIGKILL losing no drawing it said was saved."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from digitzoo.hub.benchmarking import free_port
from digitzoo.hub.classroom import schema
from digitzoo.hub.classroom.drawing import Drawing, DrawingRefused
from digitzoo.hub.classroom.store import ClassroomError, ClassroomStore, Full, NotFound, TooFast

MODELS = ("mnist_cnn", "mnist_lstm")


def payload(i: int, label: int = 7, read: int | None = None, not_digit: float = 0.05) -> dict:
    read = label if read is None else read
    probs = [0.01] * 10
    probs[read] = 0.91
    return {"id": f"drawing-{i:04d}", "label": label, "prompted": True,
            "strokes": [[[100 + i % 50, 80, 0], [120, 300, 40], [140, 500, 90]]],
            "pixels": [((p * 7 + i) % 11) / 10 for p in range(784)],
            "answers": {m: probs for m in MODELS}, "not_digit": not_digit}


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def classroom(tmp_path, clock):
    store = ClassroomStore(f"sqlite:///{tmp_path}/classroom.sqlite3", clock=clock)
    yield store
    store.close()


def test_a_class_saves_each_drawing_once_and_reads_it_back(classroom, clock):
    started = classroom.start()
    assert len(started.code) == 6 and started.expires_at == clock.now + 4 * 3600
    a, b = classroom.join(started.code.lower()), classroom.join(started.code)
    assert a.token != b.token and sorted(a.prompts[:10]) == list(range(10)) and len(a.prompts) == 100
    first = classroom.save(started.code, a.token, Drawing.from_payload(payload(1)))
    again = classroom.save(started.code, a.token, Drawing.from_payload(payload(1)))  # a retry after a lost answer
    assert not first.duplicate and again.duplicate and again.id == first.id
    classroom.save(started.code, b.token, Drawing.from_payload(payload(2, label=3, read=5)))
    back = classroom.drawings(started.teacher_key)
    assert [(d.label, d.student, d.reading("mnist_cnn")) for d in back] == [(7, 1, 7), (3, 2, 5)]
    assert back[0].pixels == Drawing.from_payload(payload(1)).pixels and back[0].strokes[0][1] == [120, 300, 40]
    assert classroom.session(started.teacher_key)["drawings"] == 2
    assert classroom.drawings(started.teacher_key, strokes=False)[0].strokes == []


def test_the_limits_are_checked_in_the_write(tmp_path, clock):
    store = ClassroomStore(f"sqlite:///{tmp_path}/c.sqlite3", clock=clock, max_students=2, max_drawings=3,
                           max_per_device=2, max_open_sessions=2)
    started = store.start()
    a = store.join(started.code)
    store.join(started.code)
    with pytest.raises(Full, match="full"):
        store.join(started.code)
    store.save(started.code, a.token, Drawing.from_payload(payload(1)))
    with pytest.raises(TooFast, match="One drawing a second"):
        store.save(started.code, a.token, Drawing.from_payload(payload(2)))
    clock.now += 1.0
    store.save(started.code, a.token, Drawing.from_payload(payload(2)))
    clock.now += 1.0
    with pytest.raises(Full, match="500|2 drawings"):
        store.save(started.code, a.token, Drawing.from_payload(payload(3)))
    store.start()
    with pytest.raises(Full, match="Too many classroom sessions"):
        store.start()
    with pytest.raises(NotFound):
        store.save(started.code, "not-a-token", Drawing.from_payload(payload(4)))
    store.close_session(started.teacher_key)
    with pytest.raises(ClassroomError, match="closed"):
        store.join(started.code)
    assert store.session(started.teacher_key)["drawings"] == 2  # the dashboard still reads a closed class


def test_concurrent_sends_lose_nothing_and_duplicate_nothing(classroom):
    started = classroom.start()
    devices = [classroom.join(started.code) for _ in range(8)]
    saved, errors = [], []

    def send(k, joined):
        for attempt in range(2):  # every drawing sent twice at once, as a retry racing its original would
            try:
                saved.append(classroom.save(started.code, joined.token, Drawing.from_payload(payload(k))).id)
            except Exception as exc:  # noqa: BLE001 (collected, asserted below)
                errors.append(exc)

    threads = [threading.Thread(target=send, args=(k, d)) for k, d in enumerate(devices) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] or all(isinstance(e, TooFast) for e in errors)
    stored = classroom.drawings(started.teacher_key)
    assert len(stored) == 8 and len({d.id for d in stored}) == 8 and set(saved) == {d.id for d in stored}


def test_retention_deletes_a_session_with_its_drawings(classroom, clock):
    old = classroom.start(retention_s=3600)
    joined = classroom.join(old.code)
    classroom.save(old.code, joined.token, Drawing.from_payload(payload(1)))
    clock.now += 1800
    young = classroom.start(retention_s=3600)
    clock.now += 1801
    assert classroom.purge() == 1
    with pytest.raises(NotFound):
        classroom.drawings(old.teacher_key)
    with pytest.raises(NotFound):
        classroom.join(old.code)
    assert classroom.session(young.teacher_key)["drawings"] == 0
    with classroom.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.drawings)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.students)).scalar() == 0


def test_the_teacher_deletes_a_drawing_or_the_class(classroom):
    started = classroom.start()
    joined = classroom.join(started.code)
    saved = classroom.save(started.code, joined.token, Drawing.from_payload(payload(1)))
    with pytest.raises(NotFound):
        classroom.delete_drawing("someone-else", saved.id)
    classroom.delete_drawing(started.teacher_key, saved.id)
    assert classroom.drawings(started.teacher_key) == []
    classroom.delete_session(started.teacher_key)
    with pytest.raises(NotFound):
        classroom.session(started.teacher_key)


def test_nothing_secret_or_personal_is_in_the_database(tmp_path, clock):
    path = tmp_path / "c.sqlite3"
    store = ClassroomStore(f"sqlite:///{path}", clock=clock)
    started = store.start()
    joined = store.join(started.code)
    store.save(started.code, joined.token, Drawing.from_payload(payload(1)))
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert started.teacher_key.encode() not in raw and joined.token.encode() not in raw
    columns = {c.name for t in schema.metadata.tables.values() for c in t.columns}
    assert not columns & {"name", "ip", "address", "user_agent", "email"}


def test_migrations_from_empty_from_the_previous_version_and_refusing_a_newer(tmp_path):
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    engine = sa.create_engine(url)
    assert schema.migrate(engine, schema.STEPS[:1]) == 0  # a database made by the version before
    with engine.connect() as conn:
        assert schema.version(conn) == 1
        assert "ix_classroom_sessions_expires" not in {i["name"] for i in sa.inspect(conn).get_indexes("classroom_sessions")}
    assert schema.migrate(engine) == 1
    with engine.connect() as conn:
        assert schema.version(conn) == len(schema.STEPS)
        assert "ix_classroom_sessions_expires" in {i["name"] for i in sa.inspect(conn).get_indexes("classroom_sessions")}
    assert schema.migrate(engine) == len(schema.STEPS)  # again: nothing to do
    with engine.begin() as conn:
        conn.execute(schema.schema_version.update().values(version=99))
    with pytest.raises(Exception, match="newer digitzoo"):
        ClassroomStore(url)
    engine.dispose()
    assert sqlite3.connect(tmp_path / "m.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("change, sentence", [
    ({"label": 10}, "label from 0 to 9"), ({"label": True}, "label from 0 to 9"), ({"id": "x"}, "8-64"),
    ({"strokes": []}, "no strokes"), ({"strokes": [[[1, 2]]]}, r"\[x, y, t\]"), ({"strokes": [[[1, 2, float("nan")]]]}, "finite"),
    ({"strokes": [[[0, 0, 0]] * 4001]}, "at most 4000 points"), ({"pixels": [0.5] * 783}, "784 numbers"),
    ({"pixels": [0.0] * 784}, "empty"), ({"pixels": [2.0] * 784}, "784 numbers"), ({"answers": {}}, "answers"),
    ({"answers": {"Bad Name": [0.1] * 10}}, "lowercase"), ({"answers": {"m": [0.1] * 9}}, "10 probabilities"),
    ({"not_digit": 1.5}, "probability"), ({"name": "Ada"}, "Unknown field 'name'"),
])
def test_a_bad_drawing_is_refused_with_a_sentence(change, sentence):
    with pytest.raises(DrawingRefused, match=sentence):
        Drawing.from_payload({**payload(1), **change})


# ---- the routes, on the hub's own server -----------------------------------------------------------

@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from digitzoo.apps import classroom, parts
    from digitzoo.apps.gradio_app import serve

    folder = tmp_path_factory.mktemp("classroom")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classroom, "GUESS_LIMIT", 5)
        app = serve(port=free_port(), block=False, tabs=["draw"], classroom_db=f"sqlite:///{folder}/hub.sqlite3")
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{app.server_port}/digitzoo/classroom", timeout=30) as client:
                yield client
        finally:
            app.close()
            parts.configure()


def start(http) -> dict:
    answer = http.post("/api/start", json={"hours": 1})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_class_over_http(hub):
    started = start(hub)
    assert started["join_url"].endswith(f"/digitzoo/classroom/join?code={started['code']}")
    assert started["qr_svg"].startswith("<svg") and "script" not in started["qr_svg"]
    joined = hub.post("/api/join", json={"code": started["code"]}).json()
    assert "no name" in joined["consent"] and "1 hour" in joined["consent"]
    body = {"code": started["code"], "token": joined["token"], "drawing": payload(1, label=4, read=9, not_digit=0.8)}
    assert hub.post("/api/drawings", json=body).json()["duplicate"] is False
    assert hub.post("/api/drawings", json=body).json()["duplicate"] is True
    key = {"X-Teacher-Key": started["teacher_key"]}
    board = hub.get("/api/dashboard", params={"model": "mnist_lstm"}, headers=key).json()
    assert board["students"] == 1 and board["drawings"] == 1 and board["model"] == "mnist_lstm"
    assert board["confusion"][4][9] == 1 and board["wrong"][0]["read"] == 9 and board["not_digits"][0]["not_digit"] == 0.8
    lstm = next(m for m in board["models"] if m["model"] == "mnist_lstm")
    assert lstm["class_accuracy"] == 0.0 and lstm["read"] == 1 and 0.98 < lstm["mnist_accuracy"] < 1
    cell = hub.get("/api/cell", params={"model": "mnist_lstm", "label": 4, "read": 9}, headers=key).json()
    assert [d["id"] for d in cell["drawings"]] == [board["wrong"][0]["id"]]
    assert hub.post("/api/close", headers=key).json() == {"closed": True}
    refused = hub.post("/api/drawings", json={**body, "drawing": payload(2)})
    assert refused.status_code == 400 and "closed" in refused.json()["error"]
    assert hub.post("/api/delete", headers=key).status_code == 200
    assert hub.get("/api/dashboard", headers=key).status_code == 404
    for page in ("/", "/join"):
        assert hub.get(page).headers["content-type"].startswith("text/html")
    assert hub.get("/files/../../pyproject.toml").status_code == 404


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/start", b"not json"), ("POST", "/api/start", b'{"hours": 1e9}'), ("POST", "/api/start", b'[1]'),
    ("POST", "/api/join", b'{"code": 12}'), ("POST", "/api/drawings", b'{"code": "AAAAAA", "token": "t", "drawing": 5}'),
    ("POST", "/api/drawings", b'{"drawing": {"id": "abcdefgh"}}'), ("POST", "/api/delete-drawing", b'{"id": "1"}'),
    ("GET", "/api/dashboard", None), ("GET", "/api/cell?label=x", None), ("POST", "/api/close", None),
    ("POST", "/api/delete", None), ("GET", "/api/export", None), ("POST", "/api/start", b"{" * 100_000),
    ("POST", "/api/drawings", b'{"x": "' + b"a" * 600_000 + b'"}'),
])
def test_every_endpoint_refuses_bad_requests_with_a_sentence(hub, method, path, body):
    answer = hub.request(method, path, content=body, headers={"X-Teacher-Key": "wrong"})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"][-1] in ".:)" and "Traceback" not in answer.text


def test_the_export_button_is_a_zip_of_the_open_dataset(hub):
    import io
    import zipfile

    started = start(hub)
    joined = hub.post("/api/join", json={"code": started["code"]}).json()
    hub.post("/api/drawings", json={"code": started["code"], "token": joined["token"], "drawing": payload(1)})
    answer = hub.get("/api/export", headers={"X-Teacher-Key": started["teacher_key"]})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert any(n.endswith("README.md") for n in names) and any(n.endswith("digits.npz") for n in names)


def test_one_address_cannot_take_every_open_session(tmp_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from digitzoo.apps import classroom

    clock = Clock()
    store = ClassroomStore(f"sqlite:///{tmp_path}/c.sqlite3", clock=clock)
    starts = classroom.RecentTries(3, 3600, clock=clock)
    with TestClient(Starlette(routes=classroom.routes(store, starts=starts))) as http:
        answers = [http.post(f"{classroom.PREFIX}/api/start", json={"hours": 1}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert "3 classes were started from here" in answers[-1].json()["error"]
        clock.now += 3601  # an hour later the address may start classes again
        assert http.post(f"{classroom.PREFIX}/api/start", json={"hours": 1}).status_code == 200
    store.close()


def test_join_codes_cannot_be_guessed(hub):
    # The module's last test on this hub: once blocked, this test client cannot join any class for 10 minutes.
    started = start(hub)
    # GUESS_LIMIT is 5 here: at most 5 wrong codes are answered "no such class" (fewer when this module's
    # earlier tests on the same hub guessed wrong too), then every try is refused.
    statuses = [hub.post("/api/join", json={"code": "ZZZZZ9"}).status_code for _ in range(6)]
    assert set(statuses) <= {404, 400} and statuses == sorted(statuses, reverse=True) and statuses[-1] == 400
    blocked = hub.post("/api/join", json={"code": started["code"]})  # even the right one, once blocked
    assert blocked.status_code == 400 and "Too many wrong codes" in blocked.json()["error"]


# ---- kill -9 ---------------------------------------------------------------------------------------

def _serve(port: int, db: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "DIGITZOO_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "digitzoo.hub", "serve", "--port", str(port), "--tab", "draw", "--db", db],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/digitzoo/classroom/", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("the hub did not start in 120 s")


def test_sigkill_loses_no_drawing_the_page_was_told_was_saved(tmp_path):
    db, port = f"sqlite:///{tmp_path}/kill.sqlite3", free_port()
    proc = _serve(port, db, tmp_path)
    base = f"http://127.0.0.1:{port}/digitzoo/classroom"
    told_saved, stop = [], threading.Event()
    try:
        started = httpx.post(f"{base}/api/start", json={"hours": 1}).json()
        tokens = [httpx.post(f"{base}/api/join", json={"code": started["code"]}).json()["token"] for _ in range(6)]

        def student(k: int, token: str):
            i = 0
            while not stop.is_set():
                body = {"code": started["code"], "token": token, "drawing": payload(k * 1000 + i)}
                try:
                    answer = httpx.post(f"{base}/api/drawings", json=body, timeout=5)
                except httpx.HTTPError:
                    return  # the server is gone: this drawing was never told "saved"
                if answer.status_code == 200:
                    told_saved.append(answer.json()["saved"])
                    i += 1
                time.sleep(1.05)

        threads = [threading.Thread(target=student, args=(k, t)) for k, t in enumerate(tokens)]
        for t in threads:
            t.start()
        time.sleep(4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
        assert len(told_saved) >= 12
        proc = _serve(port, db, tmp_path)
        key = {"X-Teacher-Key": started["teacher_key"]}
        board = httpx.get(f"{base}/api/dashboard", headers=key).json()
        kept = {d.id for d in ClassroomStore(db).drawings(started["teacher_key"])}
        assert set(told_saved) <= kept and board["drawings"] == len(kept)
        # The session goes on: a device that joined before the kill sends again.
        body = {"code": started["code"], "token": tokens[0], "drawing": payload(99_999)}
        assert httpx.post(f"{base}/api/drawings", json=body).status_code == 200
    finally:
        stop.set()
        proc.kill()
        proc.wait()


def test_the_command_line_starts_a_class_the_hub_serves(tmp_path, capsys):
    import re

    from digitzoo.cli import main

    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    assert main(["classroom", "start", "--db", url, "--hours", "1", "--url", "http://10.0.0.5:7860/"]) in (0, None)
    out = capsys.readouterr().out
    code = re.search(r"join code: (\w{6})", out).group(1)
    key = re.search(r"#key=([\w-]+)", out).group(1)
    assert f"http://10.0.0.5:7860/digitzoo/classroom/join?code={code}" in out
    store = ClassroomStore(url)
    store.join(code)
    assert store.session(key)["students"] == 1 and store.session(key)["expires_at"] - store.session(key)["created_at"] == 3600
    store.close()


def test_the_dashboard_reads_only_new_drawings_and_sees_deletions(classroom, clock):
    from digitzoo.apps.classroom import SeenDrawings

    started = classroom.start()
    devices = [classroom.join(started.code) for _ in range(3)]
    ids = [classroom.save(started.code, d.token, Drawing.from_payload(payload(k))).id for k, d in enumerate(devices)]
    seen = SeenDrawings()
    assert [d.id for d in seen.drawings(classroom, started.teacher_key, started.code)] == ids
    clock.now += 2
    ids.append(classroom.save(started.code, devices[0].token, Drawing.from_payload(payload(10))).id)
    classroom.delete_drawing(started.teacher_key, ids[1])  # on any process: the kept copy must notice
    shown = [d.id for d in seen.drawings(classroom, started.teacher_key, started.code)]
    assert shown == [ids[0], ids[2], ids[3]]
    clock.now += 2
    ids.append(classroom.save(started.code, devices[1].token, Drawing.from_payload(payload(11))).id)
    assert [d.id for d in seen.drawings(classroom, started.teacher_key, started.code)] == [ids[0], ids[2], ids[3], ids[4]]
