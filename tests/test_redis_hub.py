"""The Redis Streams hub inside one app: ids, resumes, trimming, slow clients, Redis going away."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from lesson_app import create_app
from lesson_app.hub_redis import RedisStreamHub, id_order
from lesson_app.redis_server import RedisServer
from lesson_app.repository_redis import RedisTaskRepository
from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, EventParser
from tests.monitor_reader import MonitorReader
from tests.redis_fixture import redis_server, redis_url  # noqa: F401  (fixtures)
from tests.test_streams import WORK_MESSAGES

REQUEST_TIMEOUT = 10.0


@pytest.fixture
def redis_app(redis_url: str) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(time_scale=0, hub_url=redis_url)) as server:
        yield server


def without_ids(events: list[Event]) -> list[tuple[str, str]]:
    return [(event.event, event.data) for event in events]


# --- the hub ---------------------------------------------------------------------------


def test_events_after_resumes_exactly_or_says_it_cannot(redis_url: str) -> None:
    async def scenario() -> None:
        hub = RedisStreamHub(redis_url)
        try:
            for n in range(4):
                hub.publish(1 + n % 2, {"n": n})
            entries = hub.redis.xrange(hub.stream)
            first_id = entries[0][0]
            after = await hub.events_after(first_id, [1])
            assert after is not None
            assert [(event.topic, event.message) for event in after] == [(1, {"n": 2})]
            assert [event.id for event in after] == [entries[2][0]]
            assert await hub.events_after(entries[-1][0], [1, 2]) == []
            assert await hub.events_after("1-0", [1]) is None  # never one of ours
            assert await hub.events_after("not-an-id", [1]) is None
        finally:
            await hub.aclose()

    asyncio.run(scenario())


def test_the_stream_is_capped_and_a_trimmed_id_cannot_be_resumed(redis_url: str) -> None:
    async def scenario() -> None:
        hub = RedisStreamHub(redis_url, maxlen=100)
        try:
            for n in range(1000):
                hub.publish(1, {"n": n})
            length = hub.redis.xlen(hub.stream)
            assert 100 <= length < 400, length  # MAXLEN ~ trims whole nodes: about 100, never 1000
            oldest_kept = hub.redis.xrange(hub.stream, count=1)[0][0]
            trimmed = hub.redis.xrevrange(hub.stream, "(" + oldest_kept, "-", count=1)
            assert trimmed == []
            assert await hub.events_after(oldest_kept, [1]) is not None
            assert await hub.events_after(f"{id_order(oldest_kept)[0] - 1}-0", [1]) is None
        finally:
            await hub.aclose()

    asyncio.run(scenario())


# --- the app on Redis ------------------------------------------------------------------


def test_the_monitor_on_redis_sends_the_in_process_events_with_ids(redis_app: BackgroundServer) -> None:
    url = redis_app.url
    with MonitorReader(f"{url}/tasks/monitor?ids=1,2") as monitor:
        monitor.wait_for(1)
        with httpx.stream("POST", f"{url}/tasks/3/execute", timeout=REQUEST_TIMEOUT) as response:
            response.read()
        assert httpx.patch(f"{url}/tasks/3", json={"status": "completed"}, timeout=REQUEST_TIMEOUT).status_code == 200
        with httpx.stream("POST", f"{url}/tasks/1/execute", timeout=REQUEST_TIMEOUT) as response:
            response.read()
        patched = httpx.patch(f"{url}/tasks/2", json={"status": "in_progress"}, timeout=REQUEST_TIMEOUT)
        events = monitor.wait_for(1 + 6 + 1)
        time.sleep(0.3)
        assert len(monitor.events) == 8

    steps = [
        (
            "task_update",
            f'{{"task_id": 1, "change": "step", "step": {i}, "message": "{message}", "progress": {i * 20}}}',
        )
        for i, message in enumerate(WORK_MESSAGES, 1)
    ]
    assert without_ids(events) == [
        (
            "snapshot",
            '{"tasks": [{"id": 1, "title": "Write the lesson outline", "status": "pending"}, '
            '{"id": 2, "title": "Record the demo video", "status": "pending"}]}',
        ),
        *steps,
        ("task_update", '{"task_id": 1, "change": "done", "message": "Task completed successfully"}'),
        ("task_update", json.dumps({"task_id": 2, "change": "updated", "task": patched.json()})),
    ]
    stream_ids = [event.id for event in events[1:]]
    assert all(stream_ids) and [id_order(i) for i in stream_ids] == sorted({id_order(i) for i in stream_ids})


@pytest.mark.parametrize("last_event_id", ["junk", "1-0", "0-0"])
def test_an_id_the_stream_does_not_hold_gets_a_fresh_snapshot(redis_app: BackgroundServer, last_event_id: str) -> None:
    httpx.patch(f"{redis_app.url}/tasks/2", json={"status": "completed"}, timeout=REQUEST_TIMEOUT)
    with MonitorReader(f"{redis_app.url}/tasks/monitor?ids=2", headers={"Last-Event-ID": last_event_id}) as monitor:
        first = monitor.wait_for(1)[0]
    assert first.event == "snapshot"
    assert json.loads(first.data) == {"tasks": [{"id": 2, "title": "Record the demo video", "status": "completed"}]}
    newest = redis.Redis.from_url(redis_app.app.state.hub.url, decode_responses=True).xrevrange(
        redis_app.app.state.hub.stream, count=1
    )
    assert first.id == newest[0][0]  # the snapshot is current as of the newest event: resume from there


def test_a_slow_client_is_dropped_without_slowing_the_others(redis_url: str) -> None:
    hub = RedisStreamHub(redis_url, max_queue=50)
    other_worker = RedisStreamHub(redis_url)
    pad = "x" * 20_000
    rounds, per_round = 30, 20
    with BackgroundServer(create_app(time_scale=0, repo=RedisTaskRepository(hub))) as server:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing: its buffers fill at once
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(b"GET /tasks/monitor?ids=2 HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n")
        with MonitorReader(f"{server.url}/tasks/monitor?ids=2") as fast:
            fast.wait_for(1)
            deadline = time.monotonic() + 5
            while hub.subscriber_count < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert hub.subscriber_count == 2

            round_seconds = []
            for r in range(rounds):
                started = time.perf_counter()
                for n in range(r * per_round, (r + 1) * per_round):
                    other_worker.publish(2, {"task_id": 2, "change": "note", "n": n, "pad": pad})
                fast.wait_for(1 + (r + 1) * per_round, timeout=20)
                round_seconds.append(time.perf_counter() - started)
            received = fast.wait_for(1 + rounds * per_round)
            assert [json.loads(event.data)["n"] for event in received[1:]] == list(range(rounds * per_round))
            assert max(round_seconds) < 5, round_seconds  # wide margin: the slow client holds nobody up
            assert (hub.dropped_subscribers, hub.subscriber_count) == (1, 1)

        # The slow client reads at last: what its buffers held, then the end of its stream.
        slow.settimeout(REQUEST_TIMEOUT)
        raw = b""
        while chunk := slow.recv(65536):
            raw += chunk
        slow.close()
        parser = EventParser()
        got = parser.feed(raw.split(b"\r\n\r\n", 1)[1])
        assert got[0].event == "snapshot"
        numbers = [json.loads(event.data)["n"] for event in got[1:]]
        assert numbers == list(range(len(numbers))) and len(numbers) < rounds * per_round
        # ... and its EventSource would reconnect with the last id: exactly the rest follows.
        with MonitorReader(f"{server.url}/tasks/monitor?ids=2", headers={"Last-Event-ID": got[-1].id}) as resumed:
            rest = resumed.wait_for(rounds * per_round - len(numbers))
            time.sleep(0.3)
            assert len(resumed.events) == len(rest)
        assert [json.loads(event.data)["n"] for event in rest] == list(range(len(numbers), rounds * per_round))
    asyncio.run(other_worker.aclose())


def test_without_redis_a_request_gets_503_then_recovers(redis_server: RedisServer, redis_app: BackgroundServer) -> None:
    url = redis_app.url
    assert httpx.get(f"{url}/tasks/2", timeout=REQUEST_TIMEOUT).status_code == 200
    redis_server.stop()
    try:
        response = httpx.patch(f"{url}/tasks/2", json={"status": "completed"}, timeout=REQUEST_TIMEOUT)
        assert response.status_code == 503
        assert response.json()["detail"].startswith("the event hub is unavailable")
        monitor = httpx.get(f"{url}/tasks/monitor?ids=2", timeout=REQUEST_TIMEOUT)
        assert monitor.status_code == 503  # refused before the stream starts, not a 200 that breaks
    finally:
        redis_server.start()
    response = httpx.patch(f"{url}/tasks/2", json={"status": "completed"}, timeout=REQUEST_TIMEOUT)
    assert response.json() == {"id": 2, "title": "Record the demo video", "status": "completed"}


def test_the_worker_header_is_on_with_redis_and_off_by_default(
    redis_app: BackgroundServer, server: BackgroundServer
) -> None:
    import os

    assert httpx.get(f"{redis_app.url}/tasks", timeout=REQUEST_TIMEOUT).headers["x-worker"] == str(os.getpid())
    assert "x-worker" not in httpx.get(f"{server.url}/tasks", timeout=REQUEST_TIMEOUT).headers


def test_a_hub_url_that_is_not_a_hub_is_refused() -> None:
    with pytest.raises(ValueError, match="redis://HOST:PORT/DB"):
        create_app(hub_url="http://127.0.0.1:6379")


def test_the_in_process_default_never_imports_redis() -> None:
    code = "import sys; from lesson_app import create_app; create_app(); assert 'redis' not in sys.modules, 'imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--hub", "http://127.0.0.1:6379"], "hub URL must be empty, memory:// or redis://HOST:PORT/DB"),
        (["serve", "--workers", "0"], "must be >= 1"),
    ],
)
def test_serve_refuses_a_bad_hub_or_worker_count(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lesson_app.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
