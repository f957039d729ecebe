"""The one place lesson streams become HTTP responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse
from sse_starlette.event import ensure_bytes
from sse_starlette.sse import AppStatus, _ensure_watcher_started_on_this_loop, _get_shutdown_state
from starlette.types import Receive, Scope, Send

from lesson_app.tracking import Outcome, StreamTracker, error_event

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def lesson_stream(request: Request, events: AsyncIterator[Any]) -> EventSourceResponse:
    """Wrap ``events`` for the wire: a heartbeat comment at once (proxies such as
    jupyter-server-proxy release the headers only with the first body bytes, so
    ``onopen`` would otherwise wait for the first event), counted in ``/stats``,
    failures become ``error`` events, heartbeats at the app's interval, caching
    forbidden. Never compressed: sse-starlette refuses to.

    ``LessonEventSourceResponse`` is sse-starlette's ``EventSourceResponse`` (its
    subclass): the same bytes on the wire, with less work per stream.
    """
    app = request.app
    route = request.scope.get("route")
    return LessonEventSourceResponse(
        events,
        tracker=app.state.tracker,
        name=route.path if route is not None else request.scope["path"],
        headers=STREAM_HEADERS,
        ping=app.state.heartbeat,
    )


def encode_event(event: Any, sep: str) -> bytes:
    """The bytes sse-starlette's ``ensure_bytes`` makes of ``event``.

    The lesson's usual event, ``{"event": str, "data": str}`` on one line each, is
    written directly; everything else goes through ``ensure_bytes``.
    """
    if type(event) is dict and len(event) == 2:
        name, data = event.get("event"), event.get("data")
        if (
            type(name) is str and type(data) is str
            and "\n" not in name and "\r" not in name and "\n" not in data and "\r" not in data
        ):
            return f"event: {name}{sep}data: {data}{sep}{sep}".encode()
    return ensure_bytes(event, sep)


class _EndOnShutdown:
    """Stands in sse-starlette's set of shutdown events: its watcher calls ``set()`` on server exit."""

    __slots__ = ("set",)

    def __init__(self, end: Callable[[], None]) -> None:
        self.set = end


class LessonEventSourceResponse(EventSourceResponse):
    """sse-starlette's ``EventSourceResponse``, the same bytes for less work per stream; counted and guarded.

    The base class runs a task group of four tasks per response (the stream, the
    heartbeat, a shutdown listener, a disconnect listener) and a cancel scope per
    event. Here the stream runs in the request's own task, one watcher task waits
    for the client to leave, and each heartbeat is a timer on the event loop that
    sends its comment under the same lock and ``active`` flag as the base class.
    A server shutdown reaches the stream through sse-starlette's shared shutdown
    watcher (one per event loop).

    The stream is counted in ``tracker`` once its headers are out and until it
    ends; if the iterator raises, the client gets an ``error`` event and a cleanly
    ended stream. HEAD and WebSocket scopes are left to the base class.
    """

    def __init__(
        self,
        content: AsyncIterator[Any],
        *,
        tracker: StreamTracker,
        name: str,
        headers: dict[str, str] | None = None,
        ping: float | None = None,
        sep: str | None = None,
    ) -> None:
        super().__init__(content, headers=headers, ping=ping, sep=sep)
        self.tracker = tracker
        self.name = name
        self._lock = asyncio.Lock()
        self._ending: asyncio.Timeout | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await super().__call__(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        shutdown = _EndOnShutdown(self._end)
        try:
            async with asyncio.timeout(None) as ending:
                self._ending = ending
                watcher = loop.create_task(self._watch(receive))
                if self.ping_interval > 0:
                    self._ping_timer = loop.call_later(self.ping_interval, self._ping_due, send)
                _ensure_watcher_started_on_this_loop()
                shutdown_events = _get_shutdown_state().events
                shutdown_events.add(shutdown)  # type: ignore[arg-type]
                if AppStatus.should_exit:
                    self._end()
                try:
                    await self._stream(send)
                finally:
                    shutdown_events.discard(shutdown)  # type: ignore[arg-type]
                    self._ending = None
                    self.active = False
                    watcher.cancel()
                    if self._ping_timer is not None:
                        self._ping_timer.cancel()
                    if self._ping_task is not None:
                        self._ping_task.cancel()
        except TimeoutError:
            if not ending.expired():
                raise
        if self._failure is not None:
            raise self._failure
        if self.background is not None:
            await self.background()

    def _end(self) -> None:
        """End the stream now (client gone, server stopping): its iterator is cancelled and closed."""
        if self._ending is not None and self.active:
            self.active = False
            self._ending.reschedule(asyncio.get_running_loop().time())

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with self._lock:  # the opening comment: the headers go out now, through any proxy
            await send({"type": "http.response.body", "body": self._comment(), "more_body": True})
        tracker, name, sep = self.tracker, self.name, self.sep
        iterator = self.body_iterator
        next_event = iterator.__aiter__().__anext__
        tracker.stream_opened(name)
        outcome: Outcome | None = None
        try:
            while True:
                try:
                    chunk = encode_event(await next_event(), sep)
                except StopAsyncIteration:
                    outcome = "completed"
                    break
                except Exception as exc:
                    chunk = encode_event(error_event(name, exc), sep)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    outcome = "failed"
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            tracker.stream_closed(outcome or "disconnected")
            if outcome is None:  # cancelled, or a send failed: close the iterator, as ``aclosing`` would
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        async with self._lock:  # a heartbeat must not follow the end
            self.active = False
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive) -> None:
        """Wait for the client to leave, then end the stream."""
        try:
            while self.active:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
        except Exception:  # a server that cannot receive any more has lost the client too
            pass
        self._end()

    def _comment(self) -> bytes:
        """sse-starlette's default heartbeat comment."""
        return f": ping - {datetime.now(timezone.utc)}{self.sep}{self.sep}".encode()

    def _ping_due(self, send: Send) -> None:
        if self.active:
            self._ping_task = asyncio.get_running_loop().create_task(self._ping(send))

    async def _ping(self, send: Send) -> None:
        """One heartbeat comment, sse-starlette's default one; the next is due an interval after it is sent."""
        ping = self._comment()
        try:
            async with self._lock:
                if self.active:
                    await send({"type": "http.response.body", "body": ping, "more_body": True})
        except Exception as exc:  # the heartbeat could not be sent: the stream ends and the error surfaces
            self._failure = exc
            self._end()
            return
        if self.active:
            self._ping_timer = asyncio.get_running_loop().call_later(self.ping_interval, self._ping_due, send)
