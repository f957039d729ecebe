"""Exercise 7: ``GET /items/{total}`` sends ids and resumes after ``Last-Event-ID``."""

from __future__ import annotations

import json

import httpx
from fastapi import APIRouter, FastAPI

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import event_tuples, expect_equal, local_tls, read_stream, served

exercise = Exercise("ex07", "ex07_resumable_stream.ipynb", "a resumable stream")


def items_app(sub: Submission) -> FastAPI:
    router = sub.get("router")
    if not isinstance(router, APIRouter):
        raise CheckFailed(f"`router` should be a fastapi.APIRouter, got {type(router).__name__}")
    app = FastAPI()
    app.include_router(router)
    return app


def items(*numbers: int) -> list[tuple[str, str, str]]:
    return [("item", json.dumps({"n": n}), str(n)) for n in numbers]


def read_items(url: str, last_event_id: str | None = None, **kwargs) -> list[tuple[str, str, str]]:  # noqa: ANN003
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else None
    read = read_stream(url, headers=headers, **kwargs)
    expect_equal(f"status with Last-Event-ID {last_event_id!r}", 200, read.status)
    if not read.ended and "until" not in kwargs:
        raise CheckFailed(f"the stream did not end: {read.describe_end()}")
    return event_tuples(read.events, "event", "data", "id")


@exercise.check("every item carries its id: GET /items/5 sends items 1..5 with ids '1'..'5'")
def ids(sub: Submission) -> None:
    with served(items_app(sub)) as url:
        expect_equal("(event, data, id)", items(1, 2, 3, 4, 5), read_items(f"{url}/items/5"))


@exercise.check("Last-Event-ID: 3 resumes with item 4")
def resumes(sub: Submission) -> None:
    with served(items_app(sub)) as url:
        expect_equal("(event, data, id) after Last-Event-ID: 3", items(4, 5), read_items(f"{url}/items/5", "3"))


@exercise.check("a client that drops out and reconnects like EventSource sees every item exactly once")
def reconnect(sub: Submission) -> None:
    with served(items_app(sub)) as url:
        first = read_stream(f"{url}/items/5", max_events=2)
        if not first.last_event_id:
            raise CheckFailed("after two events the client knows no last event id: send `id` with each event")
        rest = read_items(f"{url}/items/5", first.last_event_id)
    seen = event_tuples(first.events, "event", "data", "id") + rest
    expect_equal("items seen across both connections", items(1, 2, 3, 4, 5), seen)


@exercise.check("a malformed or unknown Last-Event-ID starts over", hidden=True)
def malformed(sub: Submission) -> None:
    with served(items_app(sub)) as url:
        for bad in ("abc", "-1", "99", "2.5", "0"):
            expect_equal(f"(event, data, id) after Last-Event-ID: {bad}", items(1, 2, 3), read_items(f"{url}/items/3", bad))


@exercise.check("Last-Event-ID of the last item answers 204 No Content (EventSource stops)", hidden=True)
def finished(sub: Submission) -> None:
    with served(items_app(sub)) as url:
        response = httpx.get(f"{url}/items/5", headers={"Last-Event-ID": "5"}, timeout=3.0, verify=local_tls())
    if response.status_code != 204:
        raise CheckFailed(f"status: expected 204, got {response.status_code} with body {response.text[:200]!r}")
