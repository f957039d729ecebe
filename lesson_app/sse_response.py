"""The one place lesson streams become HTTP responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from datetime import datetime, timezone
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class _OpenedAtOnce:
    """``events``, after one heartbeat comment sent at once.

    Proxies such as jupyter-server-proxy pass the status and headers on only
    with the first body bytes; without this comment a browser's ``onopen``
    would wait for the stream's first event. ``__anext__`` hands out the inner
    iterator's own awaitable, so a cancelled stream cancels the inner generator
    directly, and each event costs no extra coroutine.
    """

    __slots__ = ("_events", "_opened")

    def __init__(self, events: AsyncIterator[Any]) -> None:
        self._events = events
        self._opened = False

    def __aiter__(self) -> "_OpenedAtOnce":
        return self

    def __anext__(self) -> Awaitable[Any]:
        if self._opened:
            return self._events.__anext__()
        self._opened = True
        return _heartbeat()

    async def aclose(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()


async def _heartbeat() -> ServerSentEvent:
    # The same comment as sse-starlette's own heartbeats.
    return ServerSentEvent(comment=f"ping - {datetime.now(timezone.utc)}")


def lesson_stream(request: Request, events: AsyncIterator[Any]) -> EventSourceResponse:
    """Wrap ``events`` for the wire: a heartbeat at once (so proxies release the headers),
    counted in ``/stats``, failures become ``error`` events, heartbeats at the app's
    interval, caching forbidden. Never compressed: sse-starlette refuses to."""
    app = request.app
    route = request.scope.get("route")
    name = route.path if route is not None else request.scope["path"]
    return EventSourceResponse(
        _OpenedAtOnce(app.state.tracker.track(name, events)),
        headers=STREAM_HEADERS,
        ping=app.state.heartbeat,
    )
