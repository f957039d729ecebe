"""Exercise 1, hidden checks."""

from __future__ import annotations

from lesson_app.grading.checks.ex01_format import exercise, formatted
from lesson_app.grading.core import Exercise, Submission
from lesson_app.grading.harness import expect_equal
from lesson_app.wire import Event, parse_events

hidden = Exercise.hidden_part(exercise)


@hidden.check("events written one after another stay separate events")
def concatenated(sub: Submission) -> None:
    stream = formatted(sub, "a", event="one") + formatted(sub, "b") + formatted(sub, "c", event="three", id="3")
    expected = [Event("one", "a"), Event("message", "b"), Event("three", "c", "3")]
    expect_equal("the events a browser sees", expected, parse_events(stream.encode()))


@hidden.check("CRLF and CR inside data are line breaks too")
def other_line_breaks(sub: Submission) -> None:
    expect_equal("format_sse('a\\r\\nb\\rc')", "data: a\ndata: b\ndata: c\n\n", formatted(sub, "a\r\nb\rc"))


@hidden.check("empty data and a trailing newline survive the round trip")
def round_trip(sub: Submission) -> None:
    expect_equal("format_sse('')", "data: \n\n", formatted(sub, ""))
    for data in ("ends with a newline\n", "\nstarts with one", "two\n\nblank lines", "unicode: é ✓"):
        got = parse_events(formatted(sub, data, event="note").encode())
        expect_equal(f"what a browser reads back from format_sse({data!r}, event='note')", [Event("note", data)], got)
