"""The floor of the stack: a Starlette ``StreamingResponse`` whose generator writes SSE bytes by hand.

No event objects and no error guard: just routing, JSON and the bytes. The idle
``/tasks/monitor`` stream (for the held-streams figure) pings from its own generator,
with the comment sse-starlette sends, every ``LESSON_HEARTBEAT`` seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from fastapi import FastAPI
from starlette.responses import StreamingResponse

from bench.peers import HEARTBEAT, SYSTEM_EVENTS, TIME_SCALE, canned_reply, tokenize

app = FastAPI(title="Task API")

def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def event_stream(chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


async def task_updates() -> AsyncIterator[bytes]:
    for i in range(5):
        yield sse("task_update", json.dumps({"task_id": i + 1, "status": "processing", "progress": (i + 1) * 20}))
        await asyncio.sleep(1 * TIME_SCALE)
    yield sse("complete", json.dumps({"message": "All tasks processed"}))


async def system_updates() -> AsyncIterator[bytes]:
    for event_type, data in SYSTEM_EVENTS:
        yield sse(event_type, json.dumps(data) if isinstance(data, dict) else data)
        await asyncio.sleep(1 * TIME_SCALE)


async def agent_tokens(prompt: str) -> AsyncIterator[bytes]:
    tokens = tokenize(canned_reply(prompt))
    for index, token in enumerate(tokens):
        yield sse("token", json.dumps({"index": index, "token": token}))
        await asyncio.sleep(0.05 * TIME_SCALE)
    yield sse("done", json.dumps({"tokens": len(tokens), "text": "".join(tokens)}))


@app.get("/tasks/stream")
async def stream_task_updates() -> StreamingResponse:
    return event_stream(task_updates())


@app.get("/stream/system")
async def stream_system_updates() -> StreamingResponse:
    return event_stream(system_updates())


@app.get("/agent/stream")
async def stream_agent_reply(prompt: str) -> StreamingResponse:
    return event_stream(agent_tokens(prompt.strip()))


async def idle_monitor(task_ids: list[int]) -> AsyncIterator[bytes]:
    yield sse("snapshot", json.dumps({"tasks": [{"id": task_id, "status": "pending"} for task_id in task_ids]}))
    while True:  # nothing changes: the stream idles with its pings
        await asyncio.sleep(HEARTBEAT)
        yield f": ping - {datetime.now(timezone.utc)}\r\n\r\n".encode()


@app.get("/tasks/monitor")
async def monitor_tasks(ids: str) -> StreamingResponse:
    return event_stream(idle_monitor([int(task_id) for task_id in ids.split(",")]))
