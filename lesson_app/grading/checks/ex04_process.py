"""Exercise 4: the seed's hands-on ``GET /tasks/{task_id}/process`` endpoint, on an ``APIRouter``: the visible checks.

The seed's own answer waits with ``await asyncio.sleep(1)``; an answer that waits
with the app's ``Pace`` is instant at time scale 0. Both pass: the time limits
leave room for two real seconds per stream.
"""

from __future__ import annotations

import json

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal, expect_events, read_stream, short

exercise = Exercise("ex04", "ex04_process_endpoint.ipynb", "GET /tasks/{task_id}/process")

EXPECTED = [
    ("start", json.dumps({"task_id": 1})),
    ("progress", json.dumps({"percent": 50})),
    ("done", json.dumps({"result": "success"})),
]
STREAM_TIME = 8.0  # two one-second waits, with room to spare
TIME_LIMIT = 12.0


@exercise.check("task 1 streams the events start, progress, done", time_limit=TIME_LIMIT)
def event_names(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = read_stream(site, "/tasks/1/process", timeout=STREAM_TIME)
    expect_equal("status", 200, read.status)
    expect_equal("content type", "text/event-stream", read.headers.get("content-type", "").split(";")[0])
    expect_equal("event names", ["start", "progress", "done"], [event.event for event in read.events])


@exercise.check('their data is the seed\'s JSON: {"task_id": 1}, {"percent": 50}, {"result": "success"}', time_limit=TIME_LIMIT)
def payloads(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = read_stream(site, "/tasks/1/process", timeout=STREAM_TIME)
    for event in read.events:
        try:
            json.loads(event.data)
        except ValueError:
            raise CheckFailed(f"the data of `{event.event}` is not JSON: {event.data!r} (use json.dumps, not str)") from None
    expect_events(read, EXPECTED)


@exercise.check("an unknown task is a 404 with detail 'Task 999 not found', before any stream")
def unknown_task(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        response = site.get("/tasks/999/process")
    if response.status_code != 404:
        raise CheckFailed(
            f"status: expected 404, got {response.status_code} with body {short(response.text)}: "
            "look the task up before returning the stream"
        )
    expect_equal("body", {"detail": "Task 999 not found"}, response.json())
