"""Streams not tied to one task: system, countdown, risky, the agent, and ``/stats``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from sse_starlette import EventSourceResponse

from lesson_app.sse_response import lesson_stream
from lesson_app.streams import agent_token_generator, countdown_generator, risky_generator, system_updates_generator

router = APIRouter()

MAX_PROMPT = 2000


@router.get("/stream/system")
async def stream_system_updates(request: Request) -> EventSourceResponse:
    return lesson_stream(request, system_updates_generator(request.app.state.pace))


def resume_point(last_event_id: str | None, seconds: int) -> int | None:
    """The tick a reconnecting client saw last, or ``None`` to start over.

    Anything that is not one of this countdown's ids is ignored, never an error.
    """
    if last_event_id is None:
        return None
    value = last_event_id.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        return None
    tick = int(value)
    return tick if 0 <= tick <= seconds else None


@router.get("/stream/countdown/{seconds}", response_model=None)
async def stream_countdown(
    request: Request,
    seconds: int,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse | Response:
    if seconds < 1 or seconds > 60:
        raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="Seconds must be between 1 and 60")
    after = resume_point(last_event_id, seconds)
    if after == 0:
        # The client already saw `complete`: 204 tells EventSource to stop reconnecting.
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return lesson_stream(
        request,
        countdown_generator(request.app.state.pace, seconds, after=after, retry_ms=request.app.state.retry_ms),
    )


@router.get("/stream/risky")
async def stream_risky(request: Request) -> EventSourceResponse:
    return lesson_stream(request, risky_generator(request.app.state.pace))


@router.get("/agent/stream")
async def stream_agent_reply(
    request: Request,
    prompt: Annotated[str, Query(min_length=1, max_length=MAX_PROMPT)],
) -> EventSourceResponse:
    if not prompt.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="prompt must not be blank")
    return lesson_stream(request, agent_token_generator(request.app.state.pace, prompt.strip()))


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    app = request.app
    return {
        **app.state.tracker.snapshot(),
        "time_scale": app.state.pace.time_scale,
        "heartbeat_seconds": app.state.heartbeat,
        "hub_subscribers": app.state.hub.subscriber_count,
    }
