"""Exercise 5: ``guarded(events)`` relays a stream and turns a failure into an ``error`` event: the visible checks.

The ``guarded`` fixture feeds ``guarded`` a scripted source: ``steps`` messages
``{"step": i}``, failing with ``error_type(error)`` before step ``fail_at``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from lesson_app.grading.core import Exercise, Submission
from lesson_app.grading.harness import event_tuples, expect_equal, expect_events, read_stream

exercise = Exercise("ex05", "ex05_error_events.ipynb", "guarded: failures become error events")


def steps(count: int) -> list[tuple[str, str]]:
    return [("message", json.dumps({"step": i})) for i in range(count)]


def source(steps: int = 3, fail_at: int | None = None, error: str = "", error_type: str = "ValueError") -> str:
    query = {"steps": steps, "error": error, "error_type": error_type}
    if fail_at is not None:
        query["fail_at"] = fail_at
    return f"/guarded?{urlencode(query)}"


@exercise.check("a healthy stream is relayed unchanged")
def relays(sub: Submission) -> None:
    with sub.serve("guarded") as site:
        expect_events(read_stream(site, source(3)), steps(3))


@exercise.check('a failure after two steps becomes event "error", data {"error": "disk full"}')
def error_event(sub: Submission) -> None:
    with sub.serve("guarded") as site:
        read = read_stream(site, source(5, fail_at=2, error="disk full"))
    expected = steps(2) + [("error", json.dumps({"error": "disk full"}))]
    expect_equal("events", expected, event_tuples(read.events, "event", "data"))
