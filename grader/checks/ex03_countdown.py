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
    gaps = [later - earlier for earlier, later in zip(read.arrivals, read.arrivals[1:])]
    if min(gaps) < 0.2:
        raise CheckFailed(f"with delay=0.3 the gaps between events were {[round(g, 2) for g in gaps]} s: wait delay seconds after each tick")
