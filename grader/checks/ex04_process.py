"""Exercise 4, hidden checks."""

from __future__ import annotations

import json

from lesson_app.grading.checks.ex04_process import EXPECTED, STREAM_TIME, TIME_LIMIT, exercise
from lesson_app.grading.core import CheckFailed, Exercise, Submission
from lesson_app.grading.harness import StreamRead, event_tuples, expect_equal, expect_events, fastest_answer, read_stream

hidden = Exercise.hidden_part(exercise)

BLOCKED_AFTER = 0.7  # a blocked loop holds a request for the whole 1 s wait


@hidden.check("a task created through POST /tasks can be processed (the repo comes from get_task_repo)", time_limit=TIME_LIMIT)
def created_task(sub: Submission) -> None:
    with sub.serve("lesson_app_with_router") as site:
        response = site.post("/tasks", json={"title": "Grade the exercises"})
        expect_equal("POST /tasks status", 201, response.status_code)
        created = response.json()
        read = read_stream(site, f"/tasks/{created['id']}/process", timeout=STREAM_TIME)
    expect_events(read, [("start", json.dumps({"task_id": created["id"]})), *EXPECTED[1:]])


@hidden.check("at the real pace each event arrives as it happens, and the server keeps answering", time_limit=10.0)
def streams_live(sub: Submission) -> None:
    latency: list[float] = []

    with sub.serve("lesson_app_with_router", time_scale=1) as site:

        def ask_while_waiting(read: StreamRead) -> bool:
            if len(read.events) == 1 and not latency:
                latency.append(fastest_answer(site, "/tasks/1"))
            return False

        read = read_stream(site, "/tasks/1/process", until=ask_while_waiting, timeout=STREAM_TIME)
    expect_equal("events", EXPECTED, event_tuples(read.events, "event", "data"))
    first, gaps = read.arrivals[0], [b - a for a, b in zip(read.arrivals, read.arrivals[1:])]
    if first > 0.6 or min(gaps) < 0.6:
        raise CheckFailed(
            f"events arrived at {[round(t, 2) for t in read.arrivals]} s: expected the first at once and then one "
            "about every second (yield each event, then wait)"
        )
    if latency and latency[0] > BLOCKED_AFTER:
        raise CheckFailed(
            f"GET /tasks/1 sent during the stream took {latency[0]:.2f} s (expected under {BLOCKED_AFTER} s): "
            "the event loop is blocked (time.sleep?)"
        )
