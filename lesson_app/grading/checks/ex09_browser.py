"""Exercise 9: ``watchTask(url, log)`` in JavaScript, run in headless Chromium: the visible checks."""

from __future__ import annotations

from lesson_app.grading.browser import Run, process_events, scenarios_for
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import short

exercise = Exercise("ex09", "ex09_browser_client.ipynb", "watchTask: EventSource in the browser")

TIME_LIMIT = 60.0  # a browser start, four pages and the wait for reconnects, on a busy machine


def runs(sub: Submission) -> dict[str, Run]:
    return scenarios_for(sub.value("WATCH_TASK_JS"))


def logged(task_id: int) -> list[list[object]]:
    return [[name, data] for name, data in process_events(task_id)]


def expect_log(run: Run, expected: list[list[object]], what: str) -> None:
    if run.errors:
        raise CheckFailed(f"{what}: the page raised {short(run.errors)}")
    if run.log != expected:
        raise CheckFailed(f"{what}: expected log(...) calls {short(expected)}, got {short(run.log)}")


@exercise.check("watchTask logs start, progress and done with their parsed JSON data", time_limit=TIME_LIMIT)
def logs_named_events(sub: Submission) -> None:
    run = runs(sub)["normal"]
    if not run.log and not run.errors:
        raise CheckFailed(
            "nothing was logged: every event of /process has a name, so `onmessage` never fires; "
            "add a listener per event name with addEventListener"
        )
    expect_log(run, logged(1), "GET /tasks/1/process")


@exercise.check("it closes the stream on done: one connection, no reconnect", time_limit=TIME_LIMIT)
def closes_on_done(sub: Submission) -> None:
    run = runs(sub)["normal"]
    if run.connections != 1:
        raise CheckFailed(
            f"the server saw {run.connections} connections to /tasks/1/process: after `done`, call source.close(), "
            "or EventSource reconnects and starts the task again"
        )
    if run.ready_state != 2:
        raise CheckFailed(f"watchTask should return its EventSource, closed after done (readyState 2); got {run.ready_state!r}")


@exercise.check("a server `error` event is logged as server-error, not as a lost connection", time_limit=TIME_LIMIT)
def server_error_event(sub: Submission) -> None:
    run = runs(sub)["server_error"]
    expect_log(run, [logged(1)[0], ["server-error", {"error": "disk full"}]], "a stream that sends event: error")
    if run.connections != 1:
        raise CheckFailed(f"after the server's error event the server saw {run.connections} connections: close the source")
