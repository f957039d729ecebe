"""Exercise 8, hidden checks."""

from __future__ import annotations

import time

from lesson_app.grading.checks.ex08_monitor import exercise, snapshot, update, watch_while_patching
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import Site, event_tuples, expect_equal, read_stream

hidden = Exercise.hidden_part(exercise)


@hidden.check("changes to tasks nobody watches are not sent")
def only_watched(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = watch_while_patching(site, "3", [(1, {"status": "in_progress"}), (3, {"title": "Read the feedback"})], events=2)
    expect_equal("events", [snapshot(3), update(3, title="Read the feedback")], event_tuples(read.events, "event", "data"))


def subscribers(site: Site) -> int:
    return int(site.get("/_observe/subscribers").json()["subscribers"])


@hidden.check("a client that leaves is unsubscribed from the hub")
def unsubscribes(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        read = read_stream(site, "/watch?ids=1", max_events=1)
        expect_equal("first event", [snapshot(1)], event_tuples(read.events, "event", "data"))
        deadline = time.monotonic() + 2.0
        while (count := subscribers(site)) and time.monotonic() < deadline:
            time.sleep(0.02)
        if count:
            raise CheckFailed(
                f"2 s after the client left, the hub still has {count} subscriber(s): "
                "subscribe with `async with repo.hub.subscribe(...)` so leaving unsubscribes"
            )
