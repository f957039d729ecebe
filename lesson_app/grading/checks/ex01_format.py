"""Exercise 1: ``format_sse(data, event=None, id=None, retry=None) -> str``: the visible checks."""

from __future__ import annotations

import json
from collections import Counter

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal, short

exercise = Exercise("ex01", "ex01_format_sse.ipynb", "format_sse: one event on the wire")


def formatted(sub: Submission, *args: object, **kwargs: object) -> str:
    text = sub.call("format_sse", *args, **kwargs)
    if not isinstance(text, str):
        raise CheckFailed(f"format_sse should return a str, got {short(text)}")
    return text


def expect_lines(call: str, text: str, lines: list[str]) -> None:
    """One event: exactly these field lines (any order of fields, data lines in order), then a blank line."""
    if not text.endswith("\n\n") or "\n\n" in text[:-2]:
        raise CheckFailed(f"{call}: one event is its field lines, each ending in \\n, then one blank line; got {short(text)}")
    got = text[:-2].split("\n")
    data = [line for line in got if line.startswith("data:")]
    if Counter(got) != Counter(lines) or data != [line for line in lines if line.startswith("data:")]:
        raise CheckFailed(f"{call}: expected the lines {short(lines)} (fields in any order), got {short(got)}")


@exercise.check("one line of data: 'data: hello' and a blank line")
def one_line(sub: Submission) -> None:
    expect_equal("format_sse('hello')", "data: hello\n\n", formatted(sub, "hello"))


@exercise.check("an event name and its data")
def named_event(sub: Submission) -> None:
    data = json.dumps({"task_id": 1})
    text = formatted(sub, data, event="task_update")
    expect_lines("format_sse(data, event='task_update')", text, ["event: task_update", f"data: {data}"])


@exercise.check("multi-line data becomes one data: line per line")
def multi_line(sub: Submission) -> None:
    expect_equal(
        "format_sse('line 1\\nline 2\\nline 3')",
        "data: line 1\ndata: line 2\ndata: line 3\n\n",
        formatted(sub, "line 1\nline 2\nline 3"),
    )


@exercise.check("id and retry fields (any field order is valid)")
def id_and_retry(sub: Submission) -> None:
    text = formatted(sub, "x", event="tick", id="7", retry=3000)
    expect_lines("format_sse('x', event='tick', id='7', retry=3000)", text, ["event: tick", "id: 7", "retry: 3000", "data: x"])
