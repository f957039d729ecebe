"""Exercise 1: ``format_sse(data, event=None, id=None, retry=None) -> str``."""

from __future__ import annotations

import json

from lesson_app.wire import Event, parse_events

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal, short

exercise = Exercise("ex01", "ex01_format_sse.ipynb", "format_sse: one event on the wire")


def formatted(sub: Submission, *args: object, **kwargs: object) -> str:
    text = sub.function("format_sse")(*args, **kwargs)
    if not isinstance(text, str):
        raise CheckFailed(f"format_sse should return a str, got {type(text).__name__}: {short(text)}")
    return text


@exercise.check("one line of data: 'data: hello' and a blank line")
def one_line(sub: Submission) -> None:
    expect_equal("format_sse('hello')", "data: hello\n\n", formatted(sub, "hello"))


@exercise.check("an event name comes before the data")
def named_event(sub: Submission) -> None:
    data = json.dumps({"task_id": 1})
    expect_equal(
        "format_sse(data, event='task_update')",
        'event: task_update\ndata: {"task_id": 1}\n\n',
        formatted(sub, data, event="task_update"),
    )


@exercise.check("multi-line data becomes one data: line per line")
def multi_line(sub: Submission) -> None:
    expect_equal(
        "format_sse('line 1\\nline 2\\nline 3')",
        "data: line 1\ndata: line 2\ndata: line 3\n\n",
        formatted(sub, "line 1\nline 2\nline 3"),
    )


@exercise.check("id and retry fields, in the order event, id, retry, data")
def id_and_retry(sub: Submission) -> None:
    expect_equal(
        "format_sse('x', event='tick', id='7', retry=3000)",
        "event: tick\nid: 7\nretry: 3000\ndata: x\n\n",
        formatted(sub, "x", event="tick", id="7", retry=3000),
    )


@exercise.check("events written one after another stay separate events", hidden=True)
def concatenated(sub: Submission) -> None:
    stream = formatted(sub, "a", event="one") + formatted(sub, "b") + formatted(sub, "c", event="three", id="3")
    expected = [Event("one", "a"), Event("message", "b"), Event("three", "c", "3")]
    expect_equal("the events a browser sees", expected, parse_events(stream.encode()))


@exercise.check("CRLF and CR inside data are line breaks too", hidden=True)
def other_line_breaks(sub: Submission) -> None:
    expect_equal("format_sse('a\\r\\nb\\rc')", "data: a\ndata: b\ndata: c\n\n", formatted(sub, "a\r\nb\rc"))


@exercise.check("empty data and a trailing newline survive the round trip", hidden=True)
def round_trip(sub: Submission) -> None:
    expect_equal("format_sse('')", "data: \n\n", formatted(sub, ""))
    for data in ("ends with a newline\n", "\nstarts with one", "two\n\nblank lines", "unicode: é ✓"):
        got = parse_events(formatted(sub, data, event="note").encode())
        expect_equal(f"what a browser reads back from format_sse({data!r}, event='note')", [Event("note", data)], got)
