"""Exercise 5, hidden checks."""

from __future__ import annotations

import json

from lesson_app.grading.checks.ex05_errors import exercise, source
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal, expect_events, read_stream

hidden = Exercise.hidden_part(exercise)


@hidden.check("after the error event the stream ends cleanly")
def ends_cleanly(sub: Submission) -> None:
    with sub.serve("guarded") as site:
        read = read_stream(site, source(6, fail_at=4, error="quota exceeded", error_type="RuntimeError"))
    if not read.ended:
        raise CheckFailed(f"after the error event {read.describe_end()}: yield the error event, then stop (don't re-raise)")
    expect_equal("last event", "error", read.events[-1].event if read.events else None)


@hidden.check("a failure before the first event sends just the error event")
def fails_first(sub: Submission) -> None:
    with sub.serve("guarded") as site:
        read = read_stream(site, source(3, fail_at=0, error="no connection", error_type="ConnectionError"))
    expect_events(read, [("error", json.dumps({"error": "no connection"}))])
