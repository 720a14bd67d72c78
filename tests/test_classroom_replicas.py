"""Several processes, one class: two real `digitzoo serve` processes on one real PostgreSQL, nginx in
front with ip_hash (the way Gradio's deployment guide runs replicas). A student on either process is
seen on the dashboard of the other, and a short run of the classroom benchmark through nginx loses
and duplicates nothing. Skipped with the reason where PostgreSQL or nginx cannot be run."""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack

import httpx
import pytest

from services import nginx_binary, postgres, wait_until, why_not

from digitzoo.hub.benchmarking import serving

pytestmark = pytest.mark.skipif(why_not() is not None, reason=why_not() or "")


def payload(i: int, label: int) -> dict:
    probs = [0.02] * 10
    probs[label] = 0.82
    return {"id": f"replica-{i:05d}", "label": label, "prompted": False, "strokes": [[[10, 10, 0], [20, 40, 30]]],
            "pixels": [0.0] * 400 + [1.0] * 10 + [0.0] * 374, "answers": {"mnist_cnn": probs}, "not_digit": 0.1}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    from digitzoo.apps.classroom_bench import nginx_in_front
    from digitzoo.hub.classroom.store import ClassroomStore

    home = tmp_path_factory.mktemp("home")
    with ExitStack() as stack:
        url = stack.enter_context(postgres())
        ClassroomStore(url).close()  # migrated once before both servers start
        servers = [stack.enter_context(serving(
            [sys.executable, "-m", "digitzoo.hub", "serve", "--port", "{port}", "--tab", "draw", "--db", url],
            path="/digitzoo/classroom/", env={**os.environ, "DIGITZOO_HOME": str(home)}, timeout_s=180))
            for _ in range(2)]
        front = stack.enter_context(nginx_in_front(nginx_binary(), [s.port for s in servers]))
        yield {"db": url, "a": f"http://127.0.0.1:{servers[0].port}/digitzoo/classroom",
               "b": f"http://127.0.0.1:{servers[1].port}/digitzoo/classroom",
               "nginx": f"http://127.0.0.1:{front}/digitzoo/classroom"}


def test_a_student_on_one_process_is_on_the_dashboard_of_the_other(replicas):
    a, b = replicas["a"], replicas["b"]
    started = httpx.post(f"{a}/api/start", json={"hours": 1}).json()
    on_a = httpx.post(f"{a}/api/join", json={"code": started["code"]}).json()
    on_b = httpx.post(f"{b}/api/join", json={"code": started["code"]}).json()
    assert httpx.post(f"{a}/api/drawings", json={"code": started["code"], "token": on_a["token"],
                                                  "drawing": payload(1, 3)}).status_code == 200
    assert httpx.post(f"{b}/api/drawings", json={"code": started["code"], "token": on_b["token"],
                                                  "drawing": payload(2, 5)}).status_code == 200
    key = {"X-Teacher-Key": started["teacher_key"]}
    for base in (a, b, replicas["nginx"]):
        board = httpx.get(f"{base}/api/dashboard", headers=key).json()
        assert board["students"] == 2 and board["drawings"] == 2
        assert board["confusion"][3][3] == 1 and board["confusion"][5][5] == 1
    # A device token from process A is good on process B: the class is in the database, not a process
    # (and so is the device's one-drawing-a-second limit: wait it out first).
    time.sleep(1.1)
    assert httpx.post(f"{b}/api/drawings", json={"code": started["code"], "token": on_a["token"],
                                                  "drawing": payload(3, 3)}).status_code == 200
    assert wait_until(lambda: httpx.get(f"{a}/api/dashboard", headers=key).json()["drawings"] == 3)


def test_a_short_class_through_nginx_loses_nothing(replicas):
    from digitzoo.apps.classroom_bench import run

    result = run(students=12, seconds=6, every_s=1.5, processes=2, db=replicas["db"], nginx_binary=nginx_binary(), log=lambda m: None)
    assert result.told_saved >= 24 and result.lost == 0 and result.duplicated == 0 and result.stored == result.told_saved
    assert result.database == "postgresql" and result.dashboard_saw_other_process
