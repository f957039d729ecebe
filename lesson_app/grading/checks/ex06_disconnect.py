"""Exercise 6: ``ticks(cleanup_log, delay)`` cleans up on disconnect; ``tick_response`` adds heartbeats: the visible checks."""

from __future__ import annotations

import json
import time

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import Site, event_tuples, expect_equal, read_stream, short

exercise = Exercise("ex06", "ex06_disconnect_heartbeat.ipynb", "disconnects and heartbeats")

CLEANUP_WAIT = 2.0


def ticks(*numbers: int) -> list[tuple[str, str]]:
    return [("tick", json.dumps({"n": n})) for n in numbers]


def cleanup_log(site: Site) -> list[str]:
    response = site.get("/_observe/cleanup_log")
    if response.status_code != 200:
        raise CheckFailed(f"could not read cleanup_log: {response.status_code} {short(response.text)}")
    return response.json()


def wait_for_cleanup(site: Site) -> None:
    deadline = time.monotonic() + CLEANUP_WAIT
    log = cleanup_log(site)
    while not log and time.monotonic() < deadline:
        time.sleep(0.02)
        log = cleanup_log(site)
    if log != ["closed"]:
        raise CheckFailed(
            f"cleanup_log {CLEANUP_WAIT:g} s after the client left: expected ['closed'], got {short(log)}: "
            "append to it in a `finally:` around the loop (the server cancels the generator when the client leaves, "
            "which it cannot do while time.sleep blocks the loop)"
        )


@exercise.check("streams tick 1, 2, 3, ... until the client leaves")
def streams_ticks(sub: Submission) -> None:
    with sub.serve("ticks") as site:
        read = read_stream(site, "/ticks?delay=0.01", max_events=3)
    expect_equal("status", 200, read.status)
    expect_equal("first three events", ticks(1, 2, 3), event_tuples(read.events, "event", "data"))


@exercise.check("disconnecting runs the cleanup (and not before)")
def cleanup_on_disconnect(sub: Submission) -> None:
    early: list[list[str]] = []
    with sub.serve("ticks") as site:

        def after_two(read) -> bool:  # noqa: ANN001
            if len(read.events) >= 2:
                early.append(cleanup_log(site))
                return True
            return False

        read = read_stream(site, "/ticks?delay=0.05", until=after_two)
        expect_equal("events before leaving", ticks(1, 2), event_tuples(read.events, "event", "data"))
        expect_equal("cleanup_log while the stream was open", [], early[0] if early else None)
        wait_for_cleanup(site)


@exercise.check("heartbeat comments keep an idle stream alive", time_limit=10.0)
def heartbeats(sub: Submission) -> None:
    with sub.serve("ticks") as site:
        read = read_stream(site, "/ticks?delay=30&heartbeat=0.2", until=lambda r: len(r.comments) >= 3, timeout=2.0)
    expect_equal("events", ticks(1), event_tuples(read.events, "event", "data"))
    if len(read.comments) < 3:
        raise CheckFailed(
            f"with heartbeat=0.2 and nothing to send, {len(read.comments)} comment lines arrived in {read.seconds:.1f} s "
            "(expected one every 0.2 s): pass the heartbeat to EventSourceResponse(..., ping=heartbeat)"
        )
