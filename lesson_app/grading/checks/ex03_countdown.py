"""Exercise 3: ``countdown(seconds, delay=1.0)``, an async generator that never blocks the loop: the visible checks."""

from __future__ import annotations

import json
from collections.abc import Callable

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import Site, StreamRead, expect_events, fastest_answer, read_stream

exercise = Exercise("ex03", "ex03_countdown_generator.ipynb", "countdown: an async generator")

BLOCKED_AFTER = 0.7  # a /ping slower than this while the countdown waits 1 s means the loop was blocked


def expected_countdown(seconds: int) -> list[tuple[str, str]]:
    ticks = [("tick", json.dumps({"remaining": i})) for i in range(seconds, 0, -1)]
    return ticks + [("complete", json.dumps({"message": "Countdown finished!"}))]


@exercise.check("countdown is an async generator function (async def + yield)")
def is_async_generator(sub: Submission) -> None:
    kind = sub.function("countdown")
    if kind != "asyncgenfunction":
        described = "a coroutine function (async def without yield)" if kind == "coroutinefunction" else "not async"
        raise CheckFailed(f"countdown should be an async generator function, but it is {described}")


@exercise.check("countdown(3) streams tick 3, 2, 1, then complete, then ends")
def three(sub: Submission) -> None:
    with sub.serve("countdown") as site:
        expect_events(read_stream(site, "/countdown/3"), expected_countdown(3))


def ping_while_ticking(site: Site, latency: list[float]) -> Callable[[StreamRead], bool]:
    def ping_once_ticking(read: StreamRead) -> bool:
        if not read.events:
            return False
        latency.append(fastest_answer(site, "/ping"))
        return True

    return ping_once_ticking


@exercise.check("while it waits between ticks, the server still answers other requests", time_limit=10.0)
def does_not_block(sub: Submission) -> None:
    latency: list[float] = []
    with sub.serve("countdown") as site:
        try:
            read = read_stream(site, "/countdown/2?delay=1.0", until=ping_while_ticking(site, latency), timeout=4.0)
        except CheckFailed as failed:
            raise CheckFailed(f"{failed}: a request sent during the countdown got no answer, so the event loop is blocked") from None
    if not latency:
        raise CheckFailed(f"no tick arrived ({read.describe_end()})")
    if latency[0] > BLOCKED_AFTER:
        raise CheckFailed(
            f"a request sent while the countdown waited took {latency[0]:.2f} s (expected under {BLOCKED_AFTER} s): "
            "something blocks the event loop, e.g. time.sleep instead of await asyncio.sleep"
        )
