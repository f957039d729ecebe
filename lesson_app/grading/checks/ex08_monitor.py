"""Exercise 8: ``GET /watch?ids=1,2`` streams a snapshot, then every change to the watched tasks: the visible checks."""

from __future__ import annotations

import json

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import Site, StreamRead, event_tuples, expect_equal, read_stream, short

exercise = Exercise("ex08", "ex08_monitor.ipynb", "a monitor of several tasks")

SEEDED = {
    1: {"id": 1, "title": "Write the lesson outline", "status": "pending"},
    2: {"id": 2, "title": "Record the demo video", "status": "pending"},
    3: {"id": 3, "title": "Review student feedback", "status": "pending"},
}


def snapshot(*ids: int) -> tuple[str, str]:
    return ("snapshot", json.dumps({"tasks": [SEEDED[i] for i in ids]}))


def update(task_id: int, **changes: str) -> tuple[str, str]:
    task = {**SEEDED[task_id], **changes}
    return ("task_update", json.dumps({"task_id": task_id, "change": "updated", "task": task}))


def watch_while_patching(site: Site, ids: str, patches: list[tuple[int, dict]], events: int) -> StreamRead:
    """Open the stream; once the snapshot is in, apply ``patches``; read ``events`` events in all."""
    patched: list[bool] = []

    def after_snapshot(read: StreamRead) -> bool:
        if read.events and not patched:
            patched.append(True)
            for task_id, body in patches:
                response = site.patch(f"/tasks/{task_id}", json=body)
                if response.status_code != 200:
                    raise CheckFailed(f"PATCH /tasks/{task_id} answered {response.status_code}: {short(response.text)}")
        return len(read.events) >= events

    return read_stream(site, f"/watch?ids={ids}", until=after_snapshot)


@exercise.check("GET /watch?ids=1,2 opens with a snapshot of tasks 1 and 2")
def opens_with_snapshot(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = read_stream(site, "/watch?ids=1,2", max_events=1)
    expect_equal("status", 200, read.status)
    expect_equal("first event", [snapshot(1, 2)], event_tuples(read.events, "event", "data"))


@exercise.check("a change to a watched task arrives as a task_update event")
def sends_updates(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = watch_while_patching(site, "1,2", [(2, {"status": "completed"})], events=2)
    expect_equal("events", [snapshot(1, 2), update(2, status="completed")], event_tuples(read.events, "event", "data"))


@exercise.check("an unknown task is a 404 with detail 'Task 99 not found', before any stream")
def unknown_task(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        response = site.get("/watch?ids=1,99")
    if response.status_code != 404:
        raise CheckFailed(f"status: expected 404, got {response.status_code}: check every id before streaming")
    expect_equal("body", {"detail": "Task 99 not found"}, response.json())
