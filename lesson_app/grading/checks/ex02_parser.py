"""Exercise 2: ``parse_sse(raw: bytes) -> list[dict]``, the WHATWG event-stream rules: the visible checks.

Every case has a hand-written expectation; the test suite also checks that
``lesson_app.wire`` (the reference parser) agrees with each one.
"""

from __future__ import annotations

from typing import Any

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import short

exercise = Exercise("ex02", "ex02_parser.ipynb", "parse_sse: a WHATWG event-stream parser")

Expected = tuple[str, str, str, int | None]  # event, data, id, retry

CASES: dict[str, tuple[bytes, list[Expected]]] = {
    'two events': (b'event: greeting\ndata: hello\n\ndata: 2\n\n', [('greeting', 'hello', '', None), ('message', '2', '', None)]),
    'multi-line data': (b'data: first\ndata: second\n\n', [('message', 'first\nsecond', '', None)]),
    'comments': (b': keep-alive\ndata: x\n: another\n\n', [('message', 'x', '', None)]),
    'CRLF': (b'data: a\r\n\r\nevent: b\r\ndata: 2\r\n\r\n', [('message', 'a', '', None), ('b', '2', '', None)]),
    'empty data': (b'event: ping\n\nid: 9\n\ndata: ok\n\n', [('message', 'ok', '9', None)]),
    'id persists': (b'id: 7\ndata: a\n\ndata: b\n\n', [('message', 'a', '7', None), ('message', 'b', '7', None)]),
    'id reset': (b'id: 5\ndata: a\n\nid\ndata: b\n\n', [('message', 'a', '5', None), ('message', 'b', '', None)]),
}


def normalize(event: Any) -> Expected:
    """Accept a dict with keys event/data/id/retry (a dataclass or named tuple with those fields arrives as one)."""
    if not isinstance(event, dict):
        raise CheckFailed(f"parse_sse should return a list of dicts with keys event, data, id, retry; got an item {short(event)}")
    return (event.get("event", "message"), event.get("data", ""), event.get("id", ""), event.get("retry", None))


def compare(sub: Submission, *names: str, cases: dict[str, tuple[bytes, list[Expected]]] = CASES) -> None:
    sub.function("parse_sse")
    for name in names:
        raw, expected = cases[name]
        result = sub.call("parse_sse", raw)
        if not isinstance(result, list):
            raise CheckFailed(f"parse_sse should return a list, got {short(result)}")
        got = [normalize(event) for event in result]
        if got != expected:
            raise CheckFailed(
                f"parse_sse({raw!r}): expected (event, data, id, retry) = {short(expected, 400)}, got {short(got, 400)}"
            )


@exercise.check("two events, named and unnamed")
def two_events(sub: Submission) -> None:
    compare(sub, "two events")


@exercise.check("multi-line data is joined with \\n")
def multi_line(sub: Submission) -> None:
    compare(sub, "multi-line data")


@exercise.check("comment lines are ignored")
def comments(sub: Submission) -> None:
    compare(sub, "comments")


@exercise.check("CRLF line endings")
def crlf(sub: Submission) -> None:
    compare(sub, "CRLF")


@exercise.check("a blank line with no data dispatches nothing")
def empty_data(sub: Submission) -> None:
    compare(sub, "empty data")


@exercise.check("the last id is remembered across events")
def id_persists(sub: Submission) -> None:
    compare(sub, "id persists", "id reset")
