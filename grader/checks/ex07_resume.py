"""Exercise 7, hidden checks."""

from __future__ import annotations

from lesson_app.grading.checks.ex07_resume import exercise, items, read_items
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import expect_equal

hidden = Exercise.hidden_part(exercise)


@hidden.check("a malformed or unknown Last-Event-ID starts over")
def malformed(sub: Submission) -> None:
    with sub.serve("router") as site:
        for bad in ("abc", "-1", "99", "2.5", "0"):
            expect_equal(f"(event, data, id) after Last-Event-ID: {bad}", items(1, 2, 3), read_items(site, "/items/3", bad))


@hidden.check("Last-Event-ID of the last item answers 204 No Content (EventSource stops)")
def finished(sub: Submission) -> None:
    with sub.serve("router") as site:
        response = site.get("/items/5", headers={"Last-Event-ID": "5"})
    if response.status_code != 204:
        raise CheckFailed(f"status: expected 204, got {response.status_code} with body {response.text[:200]!r}")
