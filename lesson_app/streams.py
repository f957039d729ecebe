"""The lesson's async generators, as written in the seed, with every delay paced.

Each generator takes a ``Pace`` so ``LESSON_TIME_SCALE`` can run it at the real
pace in class or instantly in tests. Otherwise the events are the seed's,
character for character.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import ServerSentEvent

from lesson_app.hub import EventHub
from lesson_app.pace import Pace

Event = dict[str, Any]

WORK_STEPS = (
    "Starting task...",
    "Analyzing requirements...",
    "Processing data...",
    "Generating output...",
    "Finalizing...",
)

SYSTEM_EVENTS: tuple[tuple[str, str | dict[str, Any]], ...] = (
    ("info", "System started"),
    ("task_created", {"task_id": 1}),
    ("task_updated", {"task_id": 1, "status": "in_progress"}),
    ("task_completed", {"task_id": 1}),
    ("info", "Batch complete"),
)


async def task_updates_generator(pace: Pace) -> AsyncIterator[Event]:
    """Simulates task status updates over time."""
    for i in range(5):
        yield {
            "event": "task_update",
            "data": json.dumps({"task_id": i + 1, "status": "processing", "progress": (i + 1) * 20}),
        }
        await pace.sleep(1)

    yield {"event": "complete", "data": json.dumps({"message": "All tasks processed"})}


async def task_progress_generator(pace: Pace, task_id: int, total_steps: int = 5) -> AsyncIterator[Event]:
    """Streams progress updates for a specific task."""
    for step in range(1, total_steps + 1):
        yield {
            "event": "progress",
            "data": json.dumps(
                {
                    "task_id": task_id,
                    "step": step,
                    "total_steps": total_steps,
                    "percentage": int((step / total_steps) * 100),
                }
            ),
        }
        await pace.sleep(0.5)

    yield {"event": "complete", "data": json.dumps({"task_id": task_id, "status": "completed"})}


async def system_updates_generator(pace: Pace) -> AsyncIterator[Event]:
    """Simulates system-wide events: ``info`` carries plain text, the rest JSON."""
    for event_type, data in SYSTEM_EVENTS:
        yield {"event": event_type, "data": json.dumps(data) if isinstance(data, dict) else data}
        await pace.sleep(1)


async def task_work_generator(
    pace: Pace, task_id: int, task_title: str, hub: EventHub | None = None
) -> AsyncIterator[Event]:
    """Simulates work on a specific task, announcing each step on the hub."""
    for i, step in enumerate(WORK_STEPS, 1):
        progress = int((i / len(WORK_STEPS)) * 100)
        if hub is not None:
            hub.publish(task_id, {"task_id": task_id, "change": "step", "step": i, "message": step, "progress": progress})
        yield {
            "event": "step",
            "data": json.dumps(
                {"task_id": task_id, "task_title": task_title, "step": i, "message": step, "progress": progress}
            ),
        }
        await pace.sleep(0.8)

    if hub is not None:
        hub.publish(task_id, {"task_id": task_id, "change": "done", "message": "Task completed successfully"})
    yield {"event": "done", "data": json.dumps({"task_id": task_id, "message": "Task completed successfully"})}


async def countdown_generator(pace: Pace, seconds: int, after: int | None = None, retry_ms: int | None = None) -> AsyncIterator[Event | ServerSentEvent]:
    """Simple countdown stream; each tick's ``id`` is the seconds remaining.

    ``after`` is a ``Last-Event-ID`` already seen: the stream resumes after that
    tick. The stream opens with a ``retry:`` field when ``retry_ms`` is given.
    """
    if retry_ms is not None:
        yield ServerSentEvent(retry=retry_ms)
    start = seconds if after is None else after - 1
    for i in range(start, 0, -1):
        yield {"event": "tick", "id": str(i), "data": json.dumps({"remaining": i})}
        await pace.sleep(1)

    yield {"event": "complete", "id": "0", "data": json.dumps({"message": "Countdown finished!"})}


async def risky_generator(pace: Pace) -> AsyncIterator[Event]:
    """Fails half-way and turns the failure into an ``error`` event."""
    try:
        for i in range(10):
            if i == 5:
                raise ValueError("Something went wrong!")
            yield {"data": json.dumps({"step": i})}
            await pace.sleep(0.5)
    except Exception as e:
        yield {"event": "error", "data": json.dumps({"error": str(e)})}


def canned_reply(prompt: str) -> str:
    """The scripted answer the agent stream sends, word by word."""
    return (
        f'You asked: "{prompt}". '
        "Streaming sends each token the moment it is ready, so you read the answer "
        "while it is still being written. In the next lesson a real agent writes it."
    )


def tokenize(text: str) -> list[str]:
    """Split text into word tokens that keep their leading space, as chat models do."""
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


async def agent_token_generator(pace: Pace, prompt: str, token_delay: float = 0.05) -> AsyncIterator[Event]:
    """A ChatGPT-style token stream: ``token`` events, then ``done``."""
    tokens = tokenize(canned_reply(prompt))
    for index, token in enumerate(tokens):
        yield {"event": "token", "data": json.dumps({"index": index, "token": token})}
        await pace.sleep(token_delay)

    yield {"event": "done", "data": json.dumps({"tokens": len(tokens), "text": "".join(tokens)})}
