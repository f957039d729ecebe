"""The one place lesson streams become HTTP responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def lesson_stream(request: Request, events: AsyncIterator[Any]) -> EventSourceResponse:
    """Wrap ``events`` for the wire: counted in ``/stats``, failures become ``error``
    events, heartbeats at the app's interval, caching forbidden."""
    app = request.app
    route = request.scope.get("route")
    name = route.path if route is not None else request.scope["path"]
    return EventSourceResponse(
        app.state.tracker.track(name, events),
        headers=STREAM_HEADERS,
        ping=app.state.heartbeat,
    )
