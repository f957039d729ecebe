"""Exercise 4: the seed's hands-on ``GET /tasks/{task_id}/process`` endpoint, on an ``APIRouter``."""

from __future__ import annotations

import json

import httpx
from fastapi import APIRouter, FastAPI

from lesson_app import create_app

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import event_tuples, expect_equal, expect_events, local_tls, read_stream, served, short

exercise = Exercise("ex04", "ex04_process_endpoint.ipynb", "GET /tasks/{task_id}/process")

EXPECTED = [
    ("start", json.dumps({"task_id": 1})),
    ("progress", json.dumps({"percent": 50})),
    ("done", json.dumps({"result": "success"})),
]


def lesson_app_with(sub: Submission, time_scale: float = 0) -> FastAPI:
    router = sub.get("router")
    if not isinstance(router, APIRouter):
        raise CheckFailed(f"`router` should be a fastapi.APIRouter, got {type(router).__name__}")
    app = create_app(time_scale=time_scale)
    app.include_router(router)
    return app


@exercise.check("task 1 streams the events start, progress, done")
def event_names(sub: Submission) -> None:
    with served(lesson_app_with(sub)) as url:
        read = read_stream(f"{url}/tasks/1/process")
    expect_equal("status", 200, read.status)
    expect_equal("content type", "text/event-stream", read.headers.get("content-type", "").split(";")[0])
    expect_equal("event names", ["start", "progress", "done"], [event.event for event in read.events])


@exercise.check("their data is the seed's JSON: {\"task_id\": 1}, {\"percent\": 50}, {\"result\": \"success\"}")
def payloads(sub: Submission) -> None:
    with served(lesson_app_with(sub)) as url:
        read = read_stream(f"{url}/tasks/1/process")
    for event in read.events:
        try:
            json.loads(event.data)
        except ValueError:
            raise CheckFailed(f"the data of `{event.event}` is not JSON: {event.data!r} (use json.dumps, not str)") from None
    expect_events(read, EXPECTED)


@exercise.check("an unknown task is a 404 with detail 'Task 999 not found', before any stream")
def unknown_task(sub: Submission) -> None:
    with served(lesson_app_with(sub)) as url:
        response = httpx.get(f"{url}/tasks/999/process", timeout=3.0, verify=local_tls())
    if response.status_code != 404:
        raise CheckFailed(f"status: expected 404, got {response.status_code} with body {short(response.text)}: look the task up before returning the stream")
    expect_equal("body", {"detail": "Task 999 not found"}, response.json())


@exercise.check("at time scale 0 the whole stream takes under a second (it waits with the app's Pace)")
def instant(sub: Submission) -> None:
    with served(lesson_app_with(sub)) as url:
        read = read_stream(f"{url}/tasks/1/process", timeout=4.0)
    expect_events(read, EXPECTED)
    if read.seconds > 1.0:
        raise CheckFailed(f"the stream took {read.seconds:.2f} s at time scale 0: wait with `await pace.sleep(1)`, pace = request.app.state.pace")


@exercise.check("a task created through POST /tasks can be processed (the repo comes from get_task_repo)", hidden=True)
def created_task(sub: Submission) -> None:
    with served(lesson_app_with(sub)) as url:
        created = httpx.post(f"{url}/tasks", json={"title": "Grade the exercises"}, timeout=3.0, verify=local_tls()).json()
        read = read_stream(f"{url}/tasks/{created['id']}/process")
    expect_events(read, [("start", json.dumps({"task_id": created["id"]}))] + EXPECTED[1:])


@exercise.check("at time scale 0.25 the two waits take about 0.5 s (Pace.sleep(1) twice)", hidden=True)
def paced(sub: Submission) -> None:
    with served(lesson_app_with(sub, time_scale=0.25)) as url:
        read = read_stream(f"{url}/tasks/1/process", timeout=4.0)
    expect_equal("events", EXPECTED, event_tuples(read.events, "event", "data"))
    if not 0.4 <= read.seconds <= 1.5:
        raise CheckFailed(f"the stream took {read.seconds:.2f} s at time scale 0.25, expected about 0.5 s")
