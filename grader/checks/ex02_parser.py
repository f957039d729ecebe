"""Exercise 2, hidden checks: the rarer rules of the event-stream format, and their cases."""

from __future__ import annotations

from lesson_app.grading.checks.ex02_parser import Expected, compare, exercise
from lesson_app.grading.core import Exercise, Submission

hidden = Exercise.hidden_part(exercise)

CASES: dict[str, tuple[bytes, list[Expected]]] = {
    'CR': (b'data: a\r\rdata: b\revent: c\rdata: d\r\r', [('message', 'a', '', None), ('c', 'b\nd', '', None)]),
    'mixed endings': (b'data: a\r\ndata: b\rdata: c\n\n', [('message', 'a\nb\nc', '', None)]),
    'BOM': (b'\xef\xbb\xbfdata: a\n\n', [('message', 'a', '', None)]),
    'no colon': (b'data\n\ndata\ndata\n\nevent\ndata: x\n\n', [('message', '', '', None), ('message', '\n', '', None), ('message', 'x', '', None)]),
    'one space': (b'data:  two spaces\ndata:none\nevent:tight\n\n', [('tight', ' two spaces\nnone', '', None)]),
    'NUL in id': (b'id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n', [('message', 'a', '1', None), ('message', 'b', '1', None)]),
    'retry': (b'retry: 1500\ndata: a\n\nretry: 12ab\ndata: b\n\nretry:  900\ndata: c\n\nretry: -5\ndata: d\n\nretry: 20\ndata: e\n\n', [('message', 'a', '', 1500), ('message', 'b', '', 1500), ('message', 'c', '', 1500), ('message', 'd', '', 1500), ('message', 'e', '', 20)]),
    'unterminated': (b'data: a\n\ndata: b\n', [('message', 'a', '', None)]),
    'unterminated no newline': (b'data: a\n\ndata: b', [('message', 'a', '', None)]),
    'unknown fields': (b'foo: bar\nevent: x\nDATA: no\ndata: 1\n\ndata: 2\n\n', [('x', '1', '', None), ('message', '2', '', None)]),
}


def compare_hidden(sub: Submission, *names: str) -> None:
    compare(sub, *names, cases=CASES)


@hidden.check("CR-only line endings, alone and mixed")
def cr(sub: Submission) -> None:
    compare_hidden(sub, "CR", "mixed endings")


@hidden.check("a leading byte-order mark is skipped")
def bom(sub: Submission) -> None:
    compare_hidden(sub, "BOM")


@hidden.check("a field with no colon has an empty value")
def no_colon(sub: Submission) -> None:
    compare_hidden(sub, "no colon")


@hidden.check("only one space after the colon is removed")
def one_space(sub: Submission) -> None:
    compare_hidden(sub, "one space")


@hidden.check("an id containing NUL is ignored")
def nul_id(sub: Submission) -> None:
    compare_hidden(sub, "NUL in id")


@hidden.check("retry takes ASCII digits only")
def retry(sub: Submission) -> None:
    compare_hidden(sub, "retry")


@hidden.check("an unterminated last event is discarded")
def unterminated(sub: Submission) -> None:
    compare_hidden(sub, "unterminated", "unterminated no newline")


@hidden.check("unknown fields (field names are case-sensitive) are ignored")
def unknown_fields(sub: Submission) -> None:
    compare_hidden(sub, "unknown fields")
