"""The seed's code on sse-starlette, copied verbatim, as a student would run it.

Two changes only, the same ones the lesson app makes: every ``asyncio.sleep(x)`` is
``asyncio.sleep(x * TIME_SCALE)`` (so scale 0 still yields to the loop once per event,
like ``Pace.sleep``), and every response pings at ``HEARTBEAT``. The seed imports
``TaskRepository``/``get_task_repo`` from a module of its own: here it is a tiny dict.
``/agent/stream`` and ``/tasks/monitor`` are written in the seed's style for the
benchmarks that need a long and an idle stream.
"""

from fastapi import FastAPI, Depends, HTTPException, status
from sse_starlette.sse import EventSourceResponse
import asyncio
import json

from bench.peers import HEARTBEAT, TIME_SCALE, canned_reply, tokenize


class TaskRepository:
    def __init__(self) -> None:
        self.tasks = {
            1: {"id": 1, "title": "Write the lesson outline", "status": "pending"},
            2: {"id": 2, "title": "Record the demo video", "status": "pending"},
            3: {"id": 3, "title": "Review student feedback", "status": "pending"},
        }

    def get_by_id(self, task_id: int) -> dict | None:
        return self.tasks.get(task_id)


_repo = TaskRepository()


def get_task_repo() -> TaskRepository:
    return _repo


app = FastAPI(title="Task API")


async def task_updates_generator():
    """Simulates task status updates over time."""
    for i in range(5):
        yield {
            "event": "task_update",
            "data": json.dumps({
                "task_id": i + 1,
                "status": "processing",
                "progress": (i + 1) * 20
            })
        }
        await asyncio.sleep(1 * TIME_SCALE)  # Simulate work

    yield {
        "event": "complete",
        "data": json.dumps({"message": "All tasks processed"})
    }


@app.get("/tasks/stream")
async def stream_task_updates():
    return EventSourceResponse(task_updates_generator(), ping=HEARTBEAT)


async def task_progress_generator(task_id: int, total_steps: int = 5):
    """Streams progress updates for a specific task."""
    for step in range(1, total_steps + 1):
        yield {
            "event": "progress",
            "data": json.dumps({
                "task_id": task_id,
                "step": step,
                "total_steps": total_steps,
                "percentage": int((step / total_steps) * 100)
            })
        }
        await asyncio.sleep(0.5 * TIME_SCALE)

    yield {
        "event": "complete",
        "data": json.dumps({
            "task_id": task_id,
            "status": "completed"
        })
    }


@app.get("/tasks/{task_id}/progress")
async def stream_task_progress(
    task_id: int,
    repo: TaskRepository = Depends(get_task_repo)
):
    # Verify task exists before streaming
    task = repo.get_by_id(task_id)
    if not task:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=f"Task with id {task_id} not found"
        )

    return EventSourceResponse(task_progress_generator(task_id), ping=HEARTBEAT)


# Stream 1: System-wide updates
async def system_updates_generator():
    """Simulates system-wide events."""
    events = [
        ("info", "System started"),
        ("task_created", {"task_id": 1}),
        ("task_updated", {"task_id": 1, "status": "in_progress"}),
        ("task_completed", {"task_id": 1}),
        ("info", "Batch complete"),
    ]

    for event_type, data in events:
        yield {
            "event": event_type,
            "data": json.dumps(data) if isinstance(data, dict) else data
        }
        await asyncio.sleep(1 * TIME_SCALE)


@app.get("/stream/system")
async def stream_system_updates():
    return EventSourceResponse(system_updates_generator(), ping=HEARTBEAT)


# Stream 3: Countdown timer
async def countdown_generator(seconds: int):
    """Simple countdown stream."""
    for i in range(seconds, 0, -1):
        yield {
            "event": "tick",
            "data": json.dumps({"remaining": i})
        }
        await asyncio.sleep(1 * TIME_SCALE)

    yield {
        "event": "complete",
        "data": json.dumps({"message": "Countdown finished!"})
    }


@app.get("/stream/countdown/{seconds}")
async def stream_countdown(seconds: int):
    if seconds < 1 or seconds > 60:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail="Seconds must be between 1 and 60"
        )
    return EventSourceResponse(countdown_generator(seconds), ping=HEARTBEAT)


# In the seed's style: a token stream, and an idle stream that only pings.
async def agent_token_generator(prompt: str):
    tokens = tokenize(canned_reply(prompt))
    for index, token in enumerate(tokens):
        yield {"event": "token", "data": json.dumps({"index": index, "token": token})}
        await asyncio.sleep(0.05 * TIME_SCALE)

    yield {"event": "done", "data": json.dumps({"tokens": len(tokens), "text": "".join(tokens)})}


@app.get("/agent/stream")
async def stream_agent_reply(prompt: str):
    return EventSourceResponse(agent_token_generator(prompt.strip()), ping=HEARTBEAT)


async def monitor_generator(tasks: list[dict]):
    yield {"event": "snapshot", "data": json.dumps({"tasks": tasks})}
    await asyncio.Event().wait()  # nothing changes: the stream idles with its pings


@app.get("/tasks/monitor")
async def monitor_tasks(ids: str, repo: TaskRepository = Depends(get_task_repo)):
    tasks = []
    for task_id in ids.split(","):
        task = repo.get_by_id(int(task_id))
        if not task:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"Task {task_id} not found")
        tasks.append(task)
    return EventSourceResponse(monitor_generator(tasks), ping=HEARTBEAT)
