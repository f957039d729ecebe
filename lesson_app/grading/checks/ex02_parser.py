"""Exercise 2: ``parse_sse(raw: bytes) -> list[dict]``, the WHATWG event-stream rules.

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
    "two events": (b"event: greeting\ndata: hello\n\ndata: 2\n\n", [("greeting", "hello", "", None), ("message", "2", "", None)]),
    "multi-line data": (b"data: first\ndata: second\n\n", [("message", "first\nsecond", "", None)]),
    "comments": (b": keep-alive\ndata: x\n: another\n\n", [("message", "x", "", None)]),
    "CRLF": (b"data: a\r\n\r\nevent: b\r\ndata: 2\r\n\r\n", [("message", "a", "", None), ("b", "2", "", None)]),
    "empty data": (b"event: ping\n\nid: 9\n\ndata: ok\n\n", [("message", "ok", "9", None)]),
    "id persists": (b"id: 7\ndata: a\n\ndata: b\n\n", [("message", "a", "7", None), ("message", "b", "7", None)]),
    "CR": (b"data: a\r\rdata: b\revent: c\rdata: d\r\r", [("message", "a", "", None), ("c", "b\nd", "", None)]),
    "mixed endings": (b"data: a\r\ndata: b\rdata: c\n\n", [("message", "a\nb\nc", "", None)]),
    "BOM": (b"\xef\xbb\xbfdata: a\n\n", [("message", "a", "", None)]),
    "no colon": (b"data\n\ndata\ndata\n\nevent\ndata: x\n\n", [("message", "", "", None), ("message", "\n", "", None), ("message", "x", "", None)]),
    "one space": (b"data:  two spaces\ndata:none\nevent:tight\n\n", [("tight", " two spaces\nnone", "", None)]),
    "NUL in id": (b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", [("message", "a", "1", None), ("message", "b", "1", None)]),
    "retry": (
        b"retry: 1500\ndata: a\n\nretry: 12ab\ndata: b\n\nretry:  900\ndata: c\n\nretry: -5\ndata: d\n\nretry: 20\ndata: e\n\n",
        [("message", "a", "", 1500), ("message", "b", "", 1500), ("message", "c", "", 1500), ("message", "d", "", 1500), ("message", "e", "", 20)],
    ),
    "unterminated": (b"data: a\n\ndata: b\n", [("message", "a", "", None)]),
    "unterminated no newline": (b"data: a\n\ndata: b", [("message", "a", "", None)]),
    "unknown fields": (b"foo: bar\nevent: x\nDATA: no\ndata: 1\n\ndata: 2\n\n", [("x", "1", "", None), ("message", "2", "", None)]),
    "id reset": (b"id: 5\ndata: a\n\nid\ndata: b\n\n", [("message", "a", "5", None), ("message", "b", "", None)]),
}


def normalize(event: Any) -> Expected:
    """Accept a dict with keys event/data/id/retry (or an object with those attributes)."""
    if isinstance(event, dict):
        get = event.get
    else:
        get = lambda key, default=None: getattr(event, key, default)  # noqa: E731
    return (get("event", "message"), get("data", ""), get("id", ""), get("retry", None))


def compare(sub: Submission, *names: str) -> None:
    parse_sse = sub.function("parse_sse")
    for name in names:
        raw, expected = CASES[name]
        result = parse_sse(raw)
        if not isinstance(result, list):
            raise CheckFailed(f"parse_sse should return a list, got {type(result).__name__}: {short(result)}")
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


@exercise.check("CR-only line endings, alone and mixed", hidden=True)
def cr(sub: Submission) -> None:
    compare(sub, "CR", "mixed endings")


@exercise.check("a leading byte-order mark is skipped", hidden=True)
def bom(sub: Submission) -> None:
    compare(sub, "BOM")


@exercise.check("a field with no colon has an empty value", hidden=True)
def no_colon(sub: Submission) -> None:
    compare(sub, "no colon")


@exercise.check("only one space after the colon is removed", hidden=True)
def one_space(sub: Submission) -> None:
    compare(sub, "one space")


@exercise.check("an id containing NUL is ignored", hidden=True)
def nul_id(sub: Submission) -> None:
    compare(sub, "NUL in id")


@exercise.check("retry takes ASCII digits only", hidden=True)
def retry(sub: Submission) -> None:
    compare(sub, "retry")


@exercise.check("an unterminated last event is discarded", hidden=True)
def unterminated(sub: Submission) -> None:
    compare(sub, "unterminated", "unterminated no newline")


@exercise.check("unknown fields (field names are case-sensitive) are ignored", hidden=True)
def unknown_fields(sub: Submission) -> None:
    compare(sub, "unknown fields")
