"""Exercise 3, hidden checks."""

from __future__ import annotations

from lesson_app.grading.checks.ex03_countdown import exercise, expected_countdown
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_events, read_stream

hidden = Exercise.hidden_part(exercise)


@hidden.check("countdown(1) sends one tick, countdown(0) only complete")
def edges(sub: Submission) -> None:
    with sub.serve("countdown") as site:
        expect_events(read_stream(site, "/countdown/1"), expected_countdown(1))
        expect_events(read_stream(site, "/countdown/0"), expected_countdown(0))


@hidden.check("ticks are spaced by delay seconds")
def paced(sub: Submission) -> None:
    with sub.serve("countdown") as site:
        read = read_stream(site, "/countdown/2?delay=0.3", timeout=4.0)
    expect_events(read, expected_countdown(2))
    span = read.arrivals[-1] - read.arrivals[0]
    if span < 0.45:  # two waits of 0.3 s lie between the first tick and complete
        raise CheckFailed(
            f"with delay=0.3, complete arrived {span:.2f} s after the first tick (expected about 0.6 s): "
            "wait delay seconds after each tick"
        )
