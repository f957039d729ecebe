"""Exercise 8: ``GET /watch?ids=1,2`` streams a snapshot, then every change to the watched tasks."""

from __future__ import annotations

import json
import time

import httpx
from fastapi import APIRouter, FastAPI

from lesson_app import create_app

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import StreamRead, event_tuples, expect_equal, local_tls, read_stream, served, short

exercise = Exercise("ex08", "ex08_monitor.ipynb", "a monitor of several tasks")

SEEDED = {
    1: {"id": 1, "title": "Write the lesson outline", "status": "pending"},
    2: {"id": 2, "title": "Record the demo video", "status": "pending"},
    3: {"id": 3, "title": "Review student feedback", "status": "pending"},
}


def monitor_app(sub: Submission) -> FastAPI:
    router = sub.get("router")
    if not isinstance(router, APIRouter):
        raise CheckFailed(f"`router` should be a fastapi.APIRouter, got {type(router).__name__}")
    app = create_app(time_scale=0)
    app.include_router(router)
    return app


def snapshot(*ids: int) -> tuple[str, str]:
    return ("snapshot", json.dumps({"tasks": [SEEDED[i] for i in ids]}))


def update(task_id: int, **changes: str) -> tuple[str, str]:
    task = {**SEEDED[task_id], **changes}
    return ("task_update", json.dumps({"task_id": task_id, "change": "updated", "task": task}))


def watch_while_patching(url: str, ids: str, patches: list[tuple[int, dict]], events: int) -> StreamRead:
    """Open the stream; once the snapshot is in, apply ``patches``; read ``events`` events in all."""
    patched: list[bool] = []

    def after_snapshot(read: StreamRead) -> bool:
        if read.events and not patched:
            patched.append(True)
            for task_id, body in patches:
                response = httpx.patch(f"{url}/tasks/{task_id}", json=body, timeout=3.0, verify=local_tls())
                if response.status_code != 200:
                    raise CheckFailed(f"PATCH /tasks/{task_id} answered {response.status_code}: {short(response.text)}")
        return len(read.events) >= events

    return read_stream(f"{url}/watch?ids={ids}", until=after_snapshot, timeout=3.0)


@exercise.check("GET /watch?ids=1,2 opens with a snapshot of tasks 1 and 2")
def opens_with_snapshot(sub: Submission) -> None:
    with served(monitor_app(sub)) as url:
        read = read_stream(f"{url}/watch?ids=1,2", max_events=1)
    expect_equal("status", 200, read.status)
    expect_equal("first event", [snapshot(1, 2)], event_tuples(read.events, "event", "data"))


@exercise.check("a change to a watched task arrives as a task_update event")
def sends_updates(sub: Submission) -> None:
    with served(monitor_app(sub)) as url:
        read = watch_while_patching(url, "1,2", [(2, {"status": "completed"})], events=2)
    expect_equal("events", [snapshot(1, 2), update(2, status="completed")], event_tuples(read.events, "event", "data"))


@exercise.check("an unknown task is a 404 with detail 'Task 99 not found', before any stream")
def unknown_task(sub: Submission) -> None:
    with served(monitor_app(sub)) as url:
        response = httpx.get(f"{url}/watch?ids=1,99", timeout=3.0, verify=local_tls())
    if response.status_code != 404:
        raise CheckFailed(f"status: expected 404, got {response.status_code}: check every id before streaming")
    expect_equal("body", {"detail": "Task 99 not found"}, response.json())


@exercise.check("changes to tasks nobody watches are not sent", hidden=True)
def only_watched(sub: Submission) -> None:
    with served(monitor_app(sub)) as url:
        read = watch_while_patching(url, "3", [(1, {"status": "in_progress"}), (3, {"title": "Read the feedback"})], events=2)
    expect_equal("events", [snapshot(3), update(3, title="Read the feedback")], event_tuples(read.events, "event", "data"))


@exercise.check("a client that leaves is unsubscribed from the hub", hidden=True)
def unsubscribes(sub: Submission) -> None:
    app = monitor_app(sub)
    with served(app) as url:
        read = read_stream(f"{url}/watch?ids=1", max_events=1)
        expect_equal("first event", [snapshot(1)], event_tuples(read.events, "event", "data"))
        deadline = time.monotonic() + 2.0
        while app.state.hub.subscriber_count and time.monotonic() < deadline:
            time.sleep(0.02)
        if app.state.hub.subscriber_count:
            raise CheckFailed(
                f"2 s after the client left, the hub still has {app.state.hub.subscriber_count} subscriber(s): "
                "subscribe with `async with repo.hub.subscribe(...)` so leaving unsubscribes"
            )
