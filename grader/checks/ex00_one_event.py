"""Exercise 0, hidden checks."""

from __future__ import annotations

from lesson_app.grading.checks.ex00_one_event import exercise
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_events, read_stream

hidden = Exercise.hidden_part(exercise)


@hidden.check("hello is an async generator function (async def + yield)")
def is_async_generator(sub: Submission) -> None:
    kind = sub.function("hello")
    if kind != "asyncgenfunction":
        raise CheckFailed(f"hello should be an async generator function (async def with yield), but it is a {kind}")


@hidden.check("every request gets its own stream: a second GET /hello sends hello again")
def fresh_per_request(sub: Submission) -> None:
    with sub.serve("app") as site:
        expect_events(read_stream(site, "/hello"), [("message", "hello")])
        expect_events(read_stream(site, "/hello"), [("message", "hello")])


@hidden.check("the event carries no id and no retry: just data")
def just_data(sub: Submission) -> None:
    with sub.serve("app") as site:
        read = read_stream(site, "/hello")
    events = [(event.event, event.data, event.id, event.retry) for event in read.events]
    if events != [("message", "hello", "", None)]:
        raise CheckFailed(f"expected one event with only data: hello, got (event, data, id, retry) = {events}")
