"""Exercise 5: ``guarded(events)`` relays a stream and turns a failure into an ``error`` event."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sse_starlette import EventSourceResponse

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal, expect_events, event_tuples, read_stream, served

exercise = Exercise("ex05", "ex05_error_events.ipynb", "guarded: failures become error events")


def step(i: int) -> dict[str, str]:
    return {"data": json.dumps({"step": i})}


async def healthy() -> AsyncIterator[dict[str, str]]:
    for i in range(3):
        yield step(i)
        await asyncio.sleep(0)


async def fails_midway() -> AsyncIterator[dict[str, str]]:
    for i in range(5):
        if i == 2:
            raise ValueError("disk full")
        yield step(i)
        await asyncio.sleep(0)


async def fails_at_once() -> AsyncIterator[dict[str, str]]:
    raise ConnectionError("no connection")
    yield step(0)  # pragma: no cover - makes this an async generator


SOURCES = {"healthy": healthy, "midway": fails_midway, "at_once": fails_at_once}
STEPS = [("message", json.dumps({"step": i})) for i in range(3)]


def guarded_app(sub: Submission) -> FastAPI:
    guarded = sub.function("guarded")
    app = FastAPI()

    @app.get("/guarded/{source}")
    async def stream(source: str) -> EventSourceResponse:
        return EventSourceResponse(guarded(SOURCES[source]()))

    return app


@exercise.check("a healthy stream is relayed unchanged")
def relays(sub: Submission) -> None:
    with served(guarded_app(sub)) as url:
        expect_events(read_stream(f"{url}/guarded/healthy"), STEPS)


@exercise.check('a failure after two steps becomes event "error", data {"error": "disk full"}')
def error_event(sub: Submission) -> None:
    with served(guarded_app(sub)) as url:
        read = read_stream(f"{url}/guarded/midway")
    expected = STEPS[:2] + [("error", json.dumps({"error": "disk full"}))]
    expect_equal("events", expected, event_tuples(read.events, "event", "data"))


@exercise.check("after the error event the stream ends cleanly", hidden=True)
def ends_cleanly(sub: Submission) -> None:
    with served(guarded_app(sub)) as url:
        read = read_stream(f"{url}/guarded/midway")
    if not read.ended:
        raise CheckFailed(f"after the error event {read.describe_end()}: yield the error event, then stop (don't re-raise)")
    expect_equal("last event", "error", read.events[-1].event if read.events else None)


@exercise.check("a failure before the first event sends just the error event", hidden=True)
def fails_first(sub: Submission) -> None:
    with served(guarded_app(sub)) as url:
        expect_events(read_stream(f"{url}/guarded/at_once"), [("error", json.dumps({"error": "no connection"}))])
