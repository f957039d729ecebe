"""Every stream of the lesson, event for event, as the seed writes it."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, EventParser
from tests.conftest import REQUEST_TIMEOUT, ServerFactory, get_stats, read_events, timed_events, wait_for

pytestmark = pytest.mark.timeout(60)

TASK_UPDATES = [
    Event("task_update", '{"task_id": 1, "status": "processing", "progress": 20}'),
    Event("task_update", '{"task_id": 2, "status": "processing", "progress": 40}'),
    Event("task_update", '{"task_id": 3, "status": "processing", "progress": 60}'),
    Event("task_update", '{"task_id": 4, "status": "processing", "progress": 80}'),
    Event("task_update", '{"task_id": 5, "status": "processing", "progress": 100}'),
    Event("complete", '{"message": "All tasks processed"}'),
]

SYSTEM_UPDATES = [
    Event("info", "System started"),
    Event("task_created", '{"task_id": 1}'),
    Event("task_updated", '{"task_id": 1, "status": "in_progress"}'),
    Event("task_completed", '{"task_id": 1}'),
    Event("info", "Batch complete"),
]

RISKY = [
    Event("message", '{"step": 0}'),
    Event("message", '{"step": 1}'),
    Event("message", '{"step": 2}'),
    Event("message", '{"step": 3}'),
    Event("message", '{"step": 4}'),
    Event("error", '{"error": "Something went wrong!"}'),
]

WORK_MESSAGES = ["Starting task...", "Analyzing requirements...", "Processing data...", "Generating output...", "Finalizing..."]


def progress_events(task_id: int) -> list[Event]:
    steps = [
        Event(
            "progress",
            f'{{"task_id": {task_id}, "step": {step}, "total_steps": 5, "percentage": {step * 20}}}',
        )
        for step in range(1, 6)
    ]
    return [*steps, Event("complete", f'{{"task_id": {task_id}, "status": "completed"}}')]


def work_events(task_id: int, title: str) -> list[Event]:
    steps = [
        Event(
            "step",
            f'{{"task_id": {task_id}, "task_title": "{title}", "step": {i}, "message": "{message}", "progress": {i * 20}}}',
        )
        for i, message in enumerate(WORK_MESSAGES, 1)
    ]
    return [*steps, Event("done", f'{{"task_id": {task_id}, "message": "Task completed successfully"}}')]


def countdown_events(seconds: int, retry: int = 2000) -> list[Event]:
    ticks = [Event("tick", f'{{"remaining": {i}}}', id=str(i), retry=retry) for i in range(seconds, 0, -1)]
    return [*ticks, Event("complete", '{"message": "Countdown finished!"}', id="0", retry=retry)]


def test_task_stream_is_the_seeds(shared_server: BackgroundServer) -> None:
    assert read_events(f"{shared_server.url}/tasks/stream") == TASK_UPDATES


def test_task_stream_data_is_json_with_default_spacing(shared_server: BackgroundServer) -> None:
    first = read_events(f"{shared_server.url}/tasks/stream")[0]
    assert first.data == json.dumps({"task_id": 1, "status": "processing", "progress": 20})
    assert json.loads(first.data) == {"task_id": 1, "status": "processing", "progress": 20}


@pytest.mark.parametrize("task_id", [1, 2, 3])
def test_task_progress(shared_server: BackgroundServer, task_id: int) -> None:
    assert read_events(f"{shared_server.url}/tasks/{task_id}/progress") == progress_events(task_id)


def test_system_stream_info_is_plain_text(shared_server: BackgroundServer) -> None:
    events = read_events(f"{shared_server.url}/stream/system")
    assert events == SYSTEM_UPDATES
    for info in (e for e in events if e.event == "info"):
        with pytest.raises(json.JSONDecodeError):
            json.loads(info.data)


@pytest.mark.parametrize(
    ("task_id", "title"),
    [(1, "Write the lesson outline"), (2, "Record the demo video"), (3, "Review student feedback")],
)
def test_execute_is_a_post_stream(shared_server: BackgroundServer, task_id: int, title: str) -> None:
    assert read_events(f"{shared_server.url}/tasks/{task_id}/execute", method="POST") == work_events(task_id, title)


def test_execute_uses_a_task_created_by_post(server: BackgroundServer) -> None:
    created = httpx.post(f"{server.url}/tasks", json={"title": "Grade quizzes"}, timeout=REQUEST_TIMEOUT)
    assert created.status_code == 201
    assert created.json() == {"id": 4, "title": "Grade quizzes", "status": "pending"}
    assert read_events(f"{server.url}/tasks/4/execute", method="POST") == work_events(4, "Grade quizzes")


@pytest.mark.parametrize("seconds", [1, 3, 60])
def test_countdown(shared_server: BackgroundServer, seconds: int) -> None:
    assert read_events(f"{shared_server.url}/stream/countdown/{seconds}") == countdown_events(seconds)


def test_countdown_opens_with_retry_before_any_event(shared_server: BackgroundServer) -> None:
    response = httpx.get(f"{shared_server.url}/stream/countdown/1", timeout=REQUEST_TIMEOUT)
    opening, rest = response.text.split("\r\n\r\n", 1)
    assert opening.startswith(": ping - ")  # every stream opens with a comment, which proxies need (no event)
    assert rest.startswith("retry: 2000\r\n\r\n")
    parser = EventParser()
    assert parser.feed(b"retry: 2000\r\n\r\n") == []  # retry alone dispatches nothing
    assert parser.retry == 2000


def test_countdown_retry_follows_the_app(make_server: ServerFactory) -> None:
    server = make_server(time_scale=0, retry_ms=750)
    assert read_events(f"{server.url}/stream/countdown/2") == countdown_events(2, retry=750)


def test_risky_turns_its_failure_into_an_error_event(server: BackgroundServer) -> None:
    assert read_events(f"{server.url}/stream/risky") == RISKY
    stats = get_stats(server)
    assert stats["streams_completed"] == 1  # the generator handled its own error
    assert stats["streams_failed"] == 0


def test_agent_stream_tokens_then_done(shared_server: BackgroundServer) -> None:
    events = read_events(f"{shared_server.url}/agent/stream", params={"prompt": "  What is SSE?  "})
    *tokens, done = events
    assert {e.event for e in tokens} == {"token"}
    assert done.event == "done"
    pieces = [json.loads(e.data) for e in tokens]
    assert [p["index"] for p in pieces] == list(range(len(pieces)))
    text = "".join(p["token"] for p in pieces)
    assert text == (
        'You asked: "What is SSE?". Streaming sends each token the moment it is ready, so you read the answer '
        "while it is still being written. In the next lesson a real agent writes it."
    )
    assert len(tokens) == 34
    assert json.loads(done.data) == {"tokens": len(tokens), "text": text}
    assert all(p["token"].startswith(" ") for p in pieces[1:])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks/stream"),
        ("GET", "/tasks/1/progress"),
        ("GET", "/stream/system"),
        ("POST", "/tasks/1/execute"),
        ("GET", "/stream/countdown/2"),
        ("GET", "/stream/risky"),
        ("GET", "/tasks/monitor?ids=1"),
        ("GET", "/agent/stream?prompt=hi"),
    ],
)
def test_stream_headers(shared_server: BackgroundServer, method: str, path: str) -> None:
    with httpx.stream(method, f"{shared_server.url}{path}", timeout=REQUEST_TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-length" not in response.headers


def test_stats_counts_each_stream_by_route(server: BackgroundServer) -> None:
    read_events(f"{server.url}/tasks/stream")
    read_events(f"{server.url}/tasks/2/progress")
    read_events(f"{server.url}/tasks/3/progress")
    read_events(f"{server.url}/stream/countdown/1")
    stats = get_stats(server)
    assert stats["active_streams"] == 0
    assert stats["streams_opened"] == 4
    assert stats["streams_completed"] == 4
    assert stats["opened_by_path"] == {
        "/tasks/stream": 1,
        "/tasks/{task_id}/progress": 2,
        "/stream/countdown/{seconds}": 1,
    }


# --- pace and incremental delivery -------------------------------------------------


def test_scale_zero_runs_the_task_stream_fast(shared_server: BackgroundServer) -> None:
    started = time.perf_counter()
    assert read_events(f"{shared_server.url}/tasks/stream") == TASK_UPDATES
    assert time.perf_counter() - started < 1.0


def test_events_arrive_as_they_are_produced(paced_server: BackgroundServer) -> None:
    arrivals = timed_events(f"{paced_server.url}/tasks/stream")
    assert [event for _, event in arrivals] == TASK_UPDATES
    first, last = arrivals[0][0], arrivals[-1][0]
    assert first < 0.5, "the first event must not wait for the rest"
    assert last >= 4.0, "five one-second steps happen before `complete`"
    gaps = [later - earlier for (earlier, _), (later, _) in zip(arrivals, arrivals[1:])]
    assert all(gap > 0.25 for gap in gaps), gaps  # spread out, not bunched (wide margin for a busy machine)


def test_heartbeat_comments_keep_an_idle_stream_alive(make_server: ServerFactory) -> None:
    server = make_server(time_scale=1, heartbeat=0.2)
    parser = EventParser()
    events: list[Event] = []
    started = time.perf_counter()
    with httpx.stream("GET", f"{server.url}/tasks/monitor?ids=1", timeout=REQUEST_TIMEOUT) as response:
        for chunk in response.iter_raw():
            events.extend(parser.feed(chunk))
            if len(parser.comments) >= 3 or time.perf_counter() - started > 5:
                break
    assert [e.event for e in events] == ["snapshot"]  # comments never become events
    assert len(parser.comments) >= 3
    assert all(comment.startswith("ping") for comment in parser.comments), parser.comments
    assert time.perf_counter() - started < 3


# --- monitor --------------------------------------------------------------------------


def test_monitor_relays_changes_to_watched_tasks_only(server: BackgroundServer) -> None:
    url = server.url
    events: list[Event] = []
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        with client.stream("GET", f"{url}/tasks/monitor", params={"ids": "1,2"}) as response:
            assert response.status_code == 200
            parser = EventParser()
            chunks = response.iter_raw()
            while not events:
                events.extend(parser.feed(next(chunks)))
            assert wait_for(lambda: get_stats(server)["hub_subscribers"] == 1, 3)

            # Changes to task 3 happen first: if they leaked, they would arrive first.
            read_events(f"{url}/tasks/3/execute", method="POST")
            assert httpx.patch(f"{url}/tasks/3", json={"status": "completed"}, timeout=REQUEST_TIMEOUT).status_code == 200
            read_events(f"{url}/tasks/1/execute", method="POST")
            patched = httpx.patch(f"{url}/tasks/2", json={"status": "in_progress"}, timeout=REQUEST_TIMEOUT)
            assert patched.json() == {"id": 2, "title": "Record the demo video", "status": "in_progress"}

            while len(events) < 1 + 6 + 1:
                events.extend(parser.feed(next(chunks)))

    steps = [
        Event(
            "task_update",
            f'{{"task_id": 1, "change": "step", "step": {i}, "message": "{message}", "progress": {i * 20}}}',
        )
        for i, message in enumerate(WORK_MESSAGES, 1)
    ]
    assert events == [
        Event(
            "snapshot",
            '{"tasks": [{"id": 1, "title": "Write the lesson outline", "status": "pending"}, '
            '{"id": 2, "title": "Record the demo video", "status": "pending"}]}',
        ),
        *steps,
        Event("task_update", '{"task_id": 1, "change": "done", "message": "Task completed successfully"}'),
        Event(
            "task_update",
            '{"task_id": 2, "change": "updated", "task": {"id": 2, "title": "Record the demo video", "status": "in_progress"}}',
        ),
    ]


def test_monitor_accepts_repeated_ids(server: BackgroundServer) -> None:
    with httpx.stream("GET", f"{server.url}/tasks/monitor?ids=3&ids=1", timeout=REQUEST_TIMEOUT) as response:
        assert response.status_code == 200
        parser = EventParser()
        events: list[Event] = []
        for chunk in response.iter_raw():
            events.extend(parser.feed(chunk))
            if events:
                break
    assert [json.loads(events[0].data)["tasks"][i]["id"] for i in range(2)] == [3, 1]
