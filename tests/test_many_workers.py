"""Several workers, really: lesson apps in separate processes, sharing one real Redis (or, as the control, nothing)."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lesson_app.hub_redis import id_order
from lesson_app.process_server import ProcessServer
from lesson_app.redis_server import RedisServer, free_port
from lesson_app.wire import Event
from tests.monitor_reader import MonitorReader
from tests.redis_fixture import redis_server, redis_url  # noqa: F401  (fixtures)

REQUEST_TIMEOUT = 10.0
QUIET = 0.5  # seconds a stream is watched for anything more (a duplicate, a stray event)
TASK_2 = {"id": 2, "title": "Record the demo video", "status": "pending"}


def patch(base_url: str, task_id: int, **fields: Any) -> dict[str, Any]:
    response = httpx.patch(f"{base_url}/tasks/{task_id}", json=fields, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def update_of(task: dict[str, Any]) -> tuple[str, str]:
    """The ``task_update`` a PATCH that returned ``task`` announces, as (event, data)."""
    return "task_update", json.dumps({"task_id": task["id"], "change": "updated", "task": task})


def kinds_and_data(events: list[Event]) -> list[tuple[str, str]]:
    return [(event.event, event.data) for event in events]


def assert_ids_increase(events: list[Event], after: str | None = None) -> None:
    ids = [event.id for event in events]
    assert all(ids), f"every event carries a stream id: {ids}"
    orders = [id_order(after)] if after else []
    orders += [id_order(i) for i in ids if i]
    assert orders == sorted(set(orders)), f"ids must strictly increase: {ids}"


def servers(count: int, **options: Any) -> list[ProcessServer]:
    """``count`` lesson app processes, started side by side."""
    launched = [ProcessServer(time_scale=0, **options).launch() for _ in range(count)]
    try:
        return [server.wait_ready() for server in launched]
    except BaseException:
        for server in launched:
            server.stop()
        raise


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[tuple[ProcessServer, ProcessServer]]:
    """Worker A and worker B on two ports, sharing one Redis."""
    a, b = servers(2, hub=redis_url)
    yield a, b
    a.stop()
    b.stop()


def test_a_patch_on_a_reaches_b_and_a_reconnect_to_a_resumes_exactly(
    two_workers: tuple[ProcessServer, ProcessServer],
) -> None:
    a, b = two_workers
    with MonitorReader(f"{b.url}/tasks/monitor?ids=2") as monitor:
        snapshot = monitor.wait_for(1)[0]
        assert (snapshot.event, json.loads(snapshot.data)) == ("snapshot", {"tasks": [TASK_2]})
        first = patch(a.url, 2, status="in_progress")
        seen = monitor.wait_for(2)
        assert kinds_and_data(seen[1:]) == [update_of(first)]
        assert_ids_increase(seen)

    # Away: two changes to task 2 (and one to task 3, which this client does not watch).
    second = patch(a.url, 2, status="completed")
    patch(b.url, 3, status="completed")
    third = patch(a.url, 2, title="Record the demo video again")

    last_seen = seen[-1].id
    assert last_seen is not None
    with MonitorReader(f"{a.url}/tasks/monitor?ids=2", headers={"Last-Event-ID": last_seen}) as resumed:
        caught_up = resumed.wait_for(2)
        assert kinds_and_data(caught_up) == [update_of(second), update_of(third)]
        assert_ids_increase(caught_up, after=last_seen)
        fourth = patch(b.url, 2, status="pending")
        live = resumed.wait_for(3)[2]
        assert (live.event, live.data) == update_of(fourth)
        time.sleep(QUIET)
        assert len(resumed.events) == 3, f"a duplicate or a stray event: {resumed.events}"

    assert httpx.get(f"{b.url}/tasks/2", timeout=REQUEST_TIMEOUT).json() == fourth  # the task is shared too


def test_with_the_in_process_hub_b_never_hears_of_a_patch_on_a() -> None:
    """The negative control: the same two workers without Redis."""
    a, b = servers(2)
    try:
        with MonitorReader(f"{b.url}/tasks/monitor?ids=2") as monitor:
            monitor.wait_for(1)
            patch(a.url, 2, status="in_progress")
            on_b = patch(b.url, 2, title="Changed on B")
            assert on_b == {**TASK_2, "title": "Changed on B"}, "B's own copy of the task never saw A's change"
            events = monitor.wait_for(2)
            assert kinds_and_data(events[1:]) == [update_of(on_b)]
            assert not events[1].id  # the in-process monitor has no ids to resume from
            time.sleep(QUIET)
            assert len(monitor.events) == 2, f"B heard of A's PATCH: {monitor.events}"
    finally:
        a.stop()
        b.stop()


def uvicorn_workers(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "lesson_app.main:app", "--workers", "2",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--timeout-worker-healthcheck", "30"]  # fmt: skip  (a busy CI machine imports slowly)


def sse_lesson_workers(port: int, hub: str) -> list[str]:
    return [sys.executable, "-m", "lesson_app.cli", "serve", "--workers", "2", "--port", str(port),
            "--hub", hub, "--time-scale", "0", "--log-level", "warning"]  # fmt: skip


@pytest.mark.parametrize("launcher", ["uvicorn", "sse-lesson"])
def test_two_workers_on_one_port_every_monitor_sees_every_patch(
    launcher: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSON_HUB_URL", redis_url)
    monkeypatch.setenv("LESSON_TIME_SCALE", "0")
    port = free_port()
    command = uvicorn_workers(port) if launcher == "uvicorn" else sse_lesson_workers(port, redis_url)
    server = ProcessServer(port=port, command=command).start()
    monitors: list[MonitorReader] = []
    try:
        workers: Counter[str] = Counter()
        while min(workers.values(), default=0) < 2 or len(workers) < 2:
            assert len(monitors) < 40, f"40 connections all landed on {dict(workers)}"
            monitor = MonitorReader(f"{server.url}/tasks/monitor?ids=1,2").open()
            monitors.append(monitor)
            assert monitor.status == 200 and monitor.response_headers is not None
            workers[monitor.response_headers["x-worker"]] += 1
            monitor.wait_for(1)

        patched: list[dict[str, Any]] = []
        patched_on: set[str] = set()
        # Monitors sit on both workers, so every PATCH crosses from one worker to the other's monitors.
        # The kernel hands new connections to whichever worker accepts first: try for PATCHes on both too.
        while len(patched) < 6 or (len(patched_on) < 2 and len(patched) < 30):
            task_id = 1 + len(patched) % 2
            response = httpx.patch(
                f"{server.url}/tasks/{task_id}", json={"title": f"change {len(patched)}"}, timeout=REQUEST_TIMEOUT
            )
            assert response.status_code == 200
            patched_on.add(response.headers["x-worker"])
            patched.append(response.json())
        assert patched_on <= set(workers)

        expected = [update_of(task) for task in patched]
        for monitor in monitors:
            events = monitor.wait_for(1 + len(patched))
            assert kinds_and_data(events[1:]) == expected
            assert_ids_increase(events)
        time.sleep(QUIET)
        assert [len(monitor.events) for monitor in monitors] == [1 + len(patched)] * len(monitors)
    finally:
        for monitor in monitors:
            monitor.close()
        server.stop()


def test_readers_recover_when_redis_restarts(
    redis_server: RedisServer, two_workers: tuple[ProcessServer, ProcessServer]
) -> None:
    a, b = two_workers
    with MonitorReader(f"{b.url}/tasks/monitor?ids=2") as monitor:
        monitor.wait_for(1)
        before = patch(a.url, 2, status="in_progress")
        assert kinds_and_data(monitor.wait_for(2)[1:]) == [update_of(before)]

        redis_server.restart()  # saves nothing: the stream and the tasks are gone
        after = [patch((a, b)[n % 2].url, 2, title=f"after the restart {n}") for n in range(4)]
        assert after[0] == {**TASK_2, "title": "after the restart 0"}, "the fresh Redis was seeded again"

        events = monitor.wait_for(2 + len(after), timeout=20)
        assert kinds_and_data(events[2:]) == [update_of(task) for task in after]
        assert_ids_increase(events)
        time.sleep(QUIET)
        assert len(monitor.events) == 2 + len(after)

    old_id = events[1].id  # published before the restart: this Redis never held it
    assert old_id is not None
    with MonitorReader(f"{a.url}/tasks/monitor?ids=2", headers={"Last-Event-ID": old_id}) as resumed:
        fresh = resumed.wait_for(1)[0]
        assert (fresh.event, json.loads(fresh.data)) == ("snapshot", {"tasks": [after[-1]]})
