"""A client that leaves is noticed and cleaned up after; a client that comes back resumes."""

from __future__ import annotations

import time

import httpx
import pytest

from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, EventParser
from tests.conftest import REQUEST_TIMEOUT, get_stats, read_events, wait_for

pytestmark = pytest.mark.timeout(60)

FINISHED = Event("complete", '{"message": "Countdown finished!"}', id="0", retry=2000)


def tick(remaining: int) -> Event:
    return Event("tick", f'{{"remaining": {remaining}}}', id=str(remaining), retry=2000)


def read_first_event_then_leave(url: str) -> Event:
    """Open a stream, take its first event, and drop the connection."""
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            parser = EventParser()
            for chunk in response.iter_raw():
                events = parser.feed(chunk)
                if events:
                    return events[0]
    raise AssertionError("the stream ended before its first event")


# --- disconnect ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "first"),
    [
        ("/stream/countdown/60", tick(60)),
        ("/tasks/stream", Event("task_update", '{"task_id": 1, "status": "processing", "progress": 20}')),
        ("/agent/stream?prompt=hello", None),
    ],
)
def test_a_leaving_client_is_noticed(paced_server: BackgroundServer, path: str, first: Event | None) -> None:
    event = read_first_event_then_leave(f"{paced_server.url}{path}")
    if first is not None:
        assert event == first
    left_at = time.monotonic()
    assert wait_for(lambda: get_stats(paced_server)["active_streams"] == 0, timeout=3)
    assert time.monotonic() - left_at < 3
    stats = get_stats(paced_server)
    assert stats["streams_opened"] == 1
    assert stats["streams_disconnected"] == 1
    assert stats["streams_completed"] == 0


def test_a_leaving_monitor_unsubscribes(paced_server: BackgroundServer) -> None:
    url = paced_server.url
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        with client.stream("GET", f"{url}/tasks/monitor?ids=1,2") as response:
            parser = EventParser()
            chunks = response.iter_raw()
            events: list[Event] = []
            while not events:
                events.extend(parser.feed(next(chunks)))
            assert events[0].event == "snapshot"
            stats = get_stats(paced_server)
            assert (stats["active_streams"], stats["hub_subscribers"]) == (1, 1)
    assert wait_for(lambda: get_stats(paced_server)["hub_subscribers"] == 0, timeout=3)
    stats = get_stats(paced_server)
    assert stats["active_streams"] == 0
    assert stats["streams_disconnected"] == 1
    # The hub really forgot it: a change now reaches nobody.
    hub = paced_server.app.state.hub
    assert hub.publish(1, {"task_id": 1}) == 0


def test_many_leaving_clients_all_cleaned_up(paced_server: BackgroundServer) -> None:
    url = paced_server.url
    clients = [httpx.Client(timeout=REQUEST_TIMEOUT) for _ in range(10)]
    streams = []
    try:
        for i, client in enumerate(clients):
            path = "/tasks/monitor?ids=1" if i % 2 else "/stream/countdown/60"
            stream = client.stream("GET", f"{url}{path}")
            response = stream.__enter__()
            assert response.status_code == 200
            streams.append(stream)
        assert wait_for(lambda: get_stats(paced_server)["active_streams"] == 10, timeout=5)
        assert get_stats(paced_server)["hub_subscribers"] == 5
    finally:
        for stream in streams:
            stream.__exit__(None, None, None)
        for client in clients:
            client.close()
    assert wait_for(lambda: get_stats(paced_server)["active_streams"] == 0, timeout=3)
    stats = get_stats(paced_server)
    assert stats["hub_subscribers"] == 0
    assert stats["streams_disconnected"] == 10


# --- resume ------------------------------------------------------------------------------


def test_resume_after_tick_three(server: BackgroundServer) -> None:
    events = read_events(f"{server.url}/stream/countdown/5", headers={"Last-Event-ID": "3"})
    assert events == [tick(2), tick(1), FINISHED]


@pytest.mark.parametrize("seen", [1, 2, 4, 5])
def test_resume_after_any_tick(server: BackgroundServer, seen: int) -> None:
    events = read_events(f"{server.url}/stream/countdown/5", headers={"Last-Event-ID": str(seen)})
    assert events == [*(tick(i) for i in range(seen - 1, 0, -1)), FINISHED]


def test_resume_after_complete_is_204(server: BackgroundServer) -> None:
    response = httpx.get(f"{server.url}/stream/countdown/5", headers={"Last-Event-ID": "0"}, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 204
    assert response.content == b""
    assert get_stats(server)["streams_opened"] == 0


@pytest.mark.parametrize(
    "junk",
    ["abc", "-1", "99", "6", "\uff11", "1" * 5000, "3.0", "+3", "3 3", "0x3", "", "\u0663", "3abc", "NaN"],
)
def test_malformed_last_event_id_is_ignored(server: BackgroundServer, junk: str) -> None:
    headers = {"Last-Event-ID": junk.encode()}
    events = read_events(f"{server.url}/stream/countdown/5", headers=headers)
    assert events == [*(tick(i) for i in range(5, 0, -1)), FINISHED]


def test_a_real_reconnect_sends_the_last_id_seen(paced_server: BackgroundServer) -> None:
    """Read two ticks, drop the connection, reconnect with the last id as a browser would."""
    url = f"{paced_server.url}/stream/countdown/4"
    parser = EventParser()
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        with client.stream("GET", url) as response:
            seen: list[Event] = []
            for chunk in response.iter_raw():
                seen.extend(parser.feed(chunk))
                if len(seen) >= 2:
                    break
    assert seen[:2] == [
        Event("tick", '{"remaining": 4}', id="4", retry=2000),
        Event("tick", '{"remaining": 3}', id="3", retry=2000),
    ]
    assert parser.last_event_id == "3"
    assert parser.retry == 2000
    started = time.perf_counter()
    rest = read_events(url, headers={"Last-Event-ID": parser.last_event_id})
    assert rest == [tick(2), tick(1), FINISHED]
    assert time.perf_counter() - started >= 1.5  # the resumed ticks keep the real pace
