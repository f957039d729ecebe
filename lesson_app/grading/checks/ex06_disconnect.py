"""Exercise 6: ``ticks(cleanup_log, delay)`` cleans up on disconnect; ``tick_response`` adds heartbeats."""

from __future__ import annotations

import json
import time

from fastapi import FastAPI
from sse_starlette import EventSourceResponse

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import event_tuples, expect_equal, read_stream, served, short

exercise = Exercise("ex06", "ex06_disconnect_heartbeat.ipynb", "disconnects and heartbeats")

CLEANUP_WAIT = 2.0


def ticks_app(sub: Submission, cleanup_log: list[str]) -> FastAPI:
    tick_response = sub.function("tick_response")
    app = FastAPI()

    @app.get("/ticks")
    async def stream(delay: float, heartbeat: float = 15.0) -> EventSourceResponse:
        response = tick_response(cleanup_log, delay=delay, heartbeat=heartbeat)
        if not isinstance(response, EventSourceResponse):
            raise TypeError(f"tick_response should return an EventSourceResponse, got {type(response).__name__}")
        return response

    return app


def ticks(*numbers: int) -> list[tuple[str, str]]:
    return [("tick", json.dumps({"n": n})) for n in numbers]


def wait_for_cleanup(cleanup_log: list[str]) -> None:
    deadline = time.monotonic() + CLEANUP_WAIT
    while not cleanup_log and time.monotonic() < deadline:
        time.sleep(0.02)
    if cleanup_log != ["closed"]:
        raise CheckFailed(
            f"cleanup_log {CLEANUP_WAIT:g} s after the client left: expected ['closed'], got {short(cleanup_log)}: "
            "append to it in a `finally:` around the loop (the server cancels the generator when the client leaves, "
            "which it cannot do while time.sleep blocks the loop)"
        )


@exercise.check("streams tick 1, 2, 3, ... until the client leaves")
def streams_ticks(sub: Submission) -> None:
    with served(ticks_app(sub, [])) as url:
        read = read_stream(f"{url}/ticks?delay=0.01", max_events=3)
    expect_equal("status", 200, read.status)
    expect_equal("first three events", ticks(1, 2, 3), event_tuples(read.events, "event", "data"))


@exercise.check("disconnecting runs the cleanup (and not before)")
def cleanup_on_disconnect(sub: Submission) -> None:
    cleanup_log: list[str] = []
    early: list[list[str]] = []
    with served(ticks_app(sub, cleanup_log)) as url:
        read = read_stream(f"{url}/ticks?delay=0.05", until=lambda r: len(r.events) >= 2 and not early.append(list(cleanup_log)))
        expect_equal("events before leaving", ticks(1, 2), event_tuples(read.events, "event", "data"))
        expect_equal("cleanup_log while the stream was open", [], early[0] if early else None)
        wait_for_cleanup(cleanup_log)


@exercise.check("heartbeat comments keep an idle stream alive", time_limit=6.0)
def heartbeats(sub: Submission) -> None:
    with served(ticks_app(sub, [])) as url:
        read = read_stream(f"{url}/ticks?delay=30&heartbeat=0.2", until=lambda r: len(r.comments) >= 3, timeout=2.0)
    expect_equal("events", ticks(1), event_tuples(read.events, "event", "data"))
    if len(read.comments) < 3:
        raise CheckFailed(
            f"with heartbeat=0.2 and nothing to send, {len(read.comments)} comment lines arrived in {read.seconds:.1f} s "
            "(expected one every 0.2 s): pass the heartbeat to EventSourceResponse(..., ping=heartbeat)"
        )


@exercise.check("cleanup runs exactly once, also while waiting for the next tick", hidden=True)
def cleanup_while_waiting(sub: Submission) -> None:
    cleanup_log: list[str] = []
    with served(ticks_app(sub, cleanup_log)) as url:
        read = read_stream(f"{url}/ticks?delay=30", max_events=1)
        expect_equal("events before leaving", ticks(1), event_tuples(read.events, "event", "data"))
        wait_for_cleanup(cleanup_log)
        time.sleep(0.2)
        expect_equal("cleanup_log a moment later", ["closed"], list(cleanup_log))


@exercise.check("the heartbeat follows the interval asked for", hidden=True, time_limit=6.0)
def heartbeat_interval(sub: Submission) -> None:
    with served(ticks_app(sub, [])) as url:
        read = read_stream(f"{url}/ticks?delay=30&heartbeat=0.5", until=lambda r: len(r.comments) >= 2, timeout=3.0)
    if len(read.comments) < 2 or not 0.7 <= read.seconds <= 2.5:
        raise CheckFailed(f"heartbeat=0.5: expected the second comment after about 1 s, got {len(read.comments)} comments in {read.seconds:.2f} s")
