"""Exercise 0: one event, ``{"data": "hello"}``, from ``GET /hello``: the visible checks."""

from __future__ import annotations

from lesson_app.grading.core import Exercise, Submission
from lesson_app.grading.harness import expect_equal, expect_events, read_stream

exercise = Exercise("ex00", "ex00_one_event.ipynb", "one event: the smallest stream")


@exercise.check("GET /hello answers 200 with the content type text/event-stream")
def content_type(sub: Submission) -> None:
    with sub.serve("app") as site:
        read = read_stream(site, "/hello")
    expect_equal("status", 200, read.status)
    expect_equal("content type", "text/event-stream", read.headers.get("content-type", "").split(";")[0])


@exercise.check("it sends one event, data hello, and then the stream ends")
def one_event(sub: Submission) -> None:
    with sub.serve("app") as site:
        expect_events(read_stream(site, "/hello"), [("message", "hello")])
