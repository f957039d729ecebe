"""Exercise 3: ``countdown(seconds, delay=1.0)``, an async generator that never blocks the loop."""

from __future__ import annotations

import inspect
import json
import time

import httpx
from fastapi import FastAPI
from sse_starlette import EventSourceResponse

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import StreamRead, expect_events, local_tls, read_stream, served

exercise = Exercise("ex03", "ex03_countdown_generator.ipynb", "countdown: an async generator")

BLOCKED_AFTER = 0.4  # a /ping slower than this while the countdown waits means the loop was blocked


def countdown_app(sub: Submission) -> FastAPI:
    countdown = sub.function("countdown")
    app = FastAPI()

    @app.get("/countdown/{seconds}")
    async def stream(seconds: int, delay: float = 0.0) -> EventSourceResponse:
        return EventSourceResponse(countdown(seconds, delay=delay))

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def expected_countdown(seconds: int) -> list[tuple[str, str]]:
    ticks = [("tick", json.dumps({"remaining": i})) for i in range(seconds, 0, -1)]
    return ticks + [("complete", json.dumps({"message": "Countdown finished!"}))]


@exercise.check("countdown is an async generator function (async def + yield)")
def is_async_generator(sub: Submission) -> None:
    countdown = sub.function("countdown")
    if not inspect.isasyncgenfunction(countdown):
        kind = "a coroutine function (async def without yield)" if inspect.iscoroutinefunction(countdown) else "not async"
        raise CheckFailed(f"countdown should be an async generator function, but it is {kind}")


@exercise.check("countdown(3) streams tick 3, 2, 1, then complete, then ends")
def three(sub: Submission) -> None:
    with served(countdown_app(sub)) as url:
        expect_events(read_stream(f"{url}/countdown/3"), expected_countdown(3))


@exercise.check("while it waits between ticks, the server still answers other requests", time_limit=8.0)
def does_not_block(sub: Submission) -> None:
    latency: list[float] = []

    def ping_once_ticking(read: StreamRead) -> bool:
        if not read.events:
            return False
        started = time.monotonic()
        try:
            httpx.get(f"{url}/ping", timeout=3.0, verify=local_tls())
        except httpx.TimeoutException:
            raise CheckFailed("a request sent during the countdown got no answer within 3 s: the event loop is blocked") from None
        latency.append(time.monotonic() - started)
        return True

    with served(countdown_app(sub)) as url:
        read = read_stream(f"{url}/countdown/2?delay=1.0", until=ping_once_ticking, timeout=4.0)
    if not latency:
        raise CheckFailed(f"no tick arrived ({read.describe_end()})")
    if latency[0] > BLOCKED_AFTER:
        raise CheckFailed(
            f"a request sent while the countdown waited took {latency[0]:.2f} s (expected under {BLOCKED_AFTER} s): "
            "something blocks the event loop, e.g. time.sleep instead of await asyncio.sleep"
        )


@exercise.check("countdown(1) sends one tick, countdown(0) only complete", hidden=True)
def edges(sub: Submission) -> None:
    with served(countdown_app(sub)) as url:
        expect_events(read_stream(f"{url}/countdown/1"), expected_countdown(1))
        expect_events(read_stream(f"{url}/countdown/0"), expected_countdown(0))


@exercise.check("ticks are spaced by delay seconds", hidden=True)
def paced(sub: Submission) -> None:
    with served(countdown_app(sub)) as url:
        read = read_stream(f"{url}/countdown/2?delay=0.3", timeout=4.0)
    expect_events(read, expected_countdown(2))
    gaps = [later - earlier for earlier, later in zip(read.arrivals, read.arrivals[1:])]
    if min(gaps) < 0.2:
        raise CheckFailed(f"with delay=0.3 the gaps between events were {[round(g, 2) for g in gaps]} s: wait delay seconds after each tick")
