"""The seed's streams on FastAPI's own SSE: ``response_class=EventSourceResponse`` and ``yield``.

FastAPI encodes each yielded ``ServerSentEvent`` itself (``fastapi/routing.py``): a
producer task pulls from the generator into a memory stream, a second task inserts
keep-alive comments, and a ``StreamingResponse`` writes the bytes. Dict payloads go in
``data=`` (FastAPI JSON-encodes them); plain-text payloads in ``raw_data=``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent

from bench.peers import SYSTEM_EVENTS, TIME_SCALE, canned_reply, tokenize

app = FastAPI(title="Task API")

@app.get("/tasks/stream", response_class=EventSourceResponse)
async def stream_task_updates() -> AsyncIterator[ServerSentEvent]:
    for i in range(5):
        yield ServerSentEvent(
            event="task_update", data={"task_id": i + 1, "status": "processing", "progress": (i + 1) * 20}
        )
        await asyncio.sleep(1 * TIME_SCALE)
    yield ServerSentEvent(event="complete", data={"message": "All tasks processed"})


@app.get("/stream/system", response_class=EventSourceResponse)
async def stream_system_updates() -> AsyncIterator[ServerSentEvent]:
    for event_type, data in SYSTEM_EVENTS:
        if isinstance(data, dict):
            yield ServerSentEvent(event=event_type, data=data)
        else:
            yield ServerSentEvent(event=event_type, raw_data=data)
        await asyncio.sleep(1 * TIME_SCALE)


@app.get("/agent/stream", response_class=EventSourceResponse)
async def stream_agent_reply(prompt: str) -> AsyncIterator[ServerSentEvent]:
    tokens = tokenize(canned_reply(prompt.strip()))
    for index, token in enumerate(tokens):
        yield ServerSentEvent(event="token", data={"index": index, "token": token})
        await asyncio.sleep(0.05 * TIME_SCALE)
    yield ServerSentEvent(event="done", data={"tokens": len(tokens), "text": "".join(tokens)})
