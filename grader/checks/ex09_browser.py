"""Exercise 9, hidden checks."""

from __future__ import annotations

from lesson_app.grading.checks.ex09_browser import TIME_LIMIT, exercise, expect_log, logged, runs
from lesson_app.grading.core import CheckFailed, Exercise, Submission

hidden = Exercise.hidden_part(exercise)


@hidden.check("a lost connection is logged as connection-lost and not retried forever", time_limit=TIME_LIMIT)
def lost_connection(sub: Submission) -> None:
    run = runs(sub)["dropped"]
    expect_log(run, [logged(1)[0], ["connection-lost", None]], "a stream that ends before done")
    if run.connections != 1:
        raise CheckFailed(f"after the connection was lost the server saw {run.connections} connections: close the source")


@hidden.check("watchTask streams the url it is given", time_limit=TIME_LIMIT)
def uses_its_url(sub: Submission) -> None:
    expect_log(runs(sub)["other_task"], logged(2), "GET /tasks/2/process")
