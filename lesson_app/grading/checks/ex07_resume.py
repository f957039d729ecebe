"""Exercise 7: ``GET /items/{total}`` sends ids and resumes after ``Last-Event-ID``: the visible checks."""

from __future__ import annotations

import json
from typing import Any

from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import Site, event_tuples, expect_equal, read_stream

exercise = Exercise("ex07", "ex07_resumable_stream.ipynb", "a resumable stream")


def items(*numbers: int) -> list[tuple[str, str, str]]:
    return [("item", json.dumps({"n": n}), str(n)) for n in numbers]


def read_items(site: Site, path: str, last_event_id: str | None = None, **kwargs: Any) -> list[tuple[str, str, str]]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else None
    read = read_stream(site, path, headers=headers, **kwargs)
    expect_equal(f"status with Last-Event-ID {last_event_id!r}", 200, read.status)
    if not read.ended and "until" not in kwargs:
        raise CheckFailed(f"the stream did not end: {read.describe_end()}")
    return event_tuples(read.events, "event", "data", "id")


@exercise.check("every item carries its id: GET /items/5 sends items 1..5 with ids '1'..'5'")
def ids(sub: Submission) -> None:
    with sub.serve("router") as site:
        expect_equal("(event, data, id)", items(1, 2, 3, 4, 5), read_items(site, "/items/5"))


@exercise.check("Last-Event-ID: 3 resumes with item 4")
def resumes(sub: Submission) -> None:
    with sub.serve("router") as site:
        expect_equal("(event, data, id) after Last-Event-ID: 3", items(4, 5), read_items(site, "/items/5", "3"))


@exercise.check("a client that drops out and reconnects like EventSource sees every item exactly once")
def reconnect(sub: Submission) -> None:
    with sub.serve("router") as site:
        first = read_stream(site, "/items/5", max_events=2)
        if not first.last_event_id:
            raise CheckFailed("after two events the client knows no last event id: send `id` with each event")
        rest = read_items(site, "/items/5", first.last_event_id)
    seen = event_tuples(first.events, "event", "data", "id") + rest
    expect_equal("items seen across both connections", items(1, 2, 3, 4, 5), seen)
