"""Exercise 6, hidden checks."""

from __future__ import annotations

import time

from lesson_app.grading.checks.ex06_disconnect import cleanup_log, exercise, ticks, wait_for_cleanup
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import event_tuples, expect_equal, read_stream

hidden = Exercise.hidden_part(exercise)


@hidden.check("cleanup runs exactly once, also while waiting for the next tick")
def cleanup_while_waiting(sub: Submission) -> None:
    with sub.serve("ticks") as site:
        read = read_stream(site, "/ticks?delay=30", max_events=1)
        expect_equal("events before leaving", ticks(1), event_tuples(read.events, "event", "data"))
        wait_for_cleanup(site)
        time.sleep(0.2)
        expect_equal("cleanup_log a moment later", ["closed"], cleanup_log(site))


@hidden.check("the heartbeat follows the interval asked for", time_limit=10.0)
def heartbeat_interval(sub: Submission) -> None:
    with sub.serve("ticks") as site:
        read = read_stream(site, "/ticks?delay=30&heartbeat=0.5", until=lambda r: len(r.comments) >= 2, timeout=3.0)
    if len(read.comments) < 2 or not 0.7 <= read.seconds <= 2.5:
        raise CheckFailed(f"heartbeat=0.5: expected the second comment after about 1 s, got {len(read.comments)} comments in {read.seconds:.2f} s")
