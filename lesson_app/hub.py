"""The event hub: how one request hears about another's changes.

Two backends share one interface (:class:`Hub`):

- :class:`EventHub`, in-process, the default: needs nothing installed, but a
  change reaches only the streams of the same process;
- ``RedisStreamHub`` (``lesson_app.hub_redis``), chosen by a ``redis://`` URL:
  every change goes through one Redis Stream, so every worker hears it and a
  reconnect can resume from the event's stream id.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Hashable, Protocol

HUB_URL_ENV = "LESSON_HUB_URL"
IN_PROCESS_URLS = ("", "memory://")


class Subscription:
    """A bounded queue of ``(topic, message)`` pairs for the topics one subscriber watches.

    A plain deque plus one waiter future: an idle subscription (the common case,
    thousands of open monitor streams) costs a fraction of an ``asyncio.Queue``.
    """

    def __init__(self, topics: frozenset[Hashable], loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self.topics = topics
        self.loop = loop
        self.maxsize = maxsize
        self.dropped = 0
        self._items: deque[Any] | None = None  # made on the first message
        self._waiter: asyncio.Future[None] | None = None

    def _put(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        if len(self._items) >= self.maxsize:
            self.dropped += 1  # a slow subscriber loses messages, never blocks publishers
            return
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _next_item(self) -> Any:
        while not self._items:
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        assert self._items is not None
        return self._items.popleft()

    async def get(self) -> tuple[Hashable, Any]:
        return await self._next_item()


class Hub(Protocol):
    """What the app, the repositories and the monitor stream need from a hub."""

    #: ``True`` when events carry lasting ids a reconnect can resume from.
    resumable: bool

    @property
    def subscriber_count(self) -> int: ...

    def publish(self, topic: Hashable, message: Any) -> int: ...

    def subscribe(self, topics: Iterable[Hashable]) -> AbstractAsyncContextManager[Subscription]: ...

    async def aclose(self) -> None: ...


class EventHub:
    """Fan messages out to every subscriber of a topic, inside one process.

    ``publish`` may be called from any thread and never blocks; each subscriber
    reads its own bounded queue on its own event loop.
    """

    resumable = False

    def __init__(self, max_queue: int = 1000) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self._max_queue = max_queue

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def publish(self, topic: Hashable, message: Any) -> int:
        """Deliver ``message`` to the subscribers of ``topic``; return how many there were."""
        with self._lock:
            targets = [sub for sub in self._subscriptions if topic in sub.topics]
        for sub in targets:
            item = (topic, message)
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is sub.loop:
                sub._put(item)
            elif not sub.loop.is_closed():
                sub.loop.call_soon_threadsafe(sub._put, item)
        return len(targets)

    @asynccontextmanager
    async def subscribe(self, topics: Iterable[Hashable]) -> AsyncIterator[Subscription]:
        sub = Subscription(frozenset(topics), asyncio.get_running_loop(), self._max_queue)
        with self._lock:
            self._subscriptions.add(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subscriptions.discard(sub)

    async def aclose(self) -> None:
        """Nothing to release: the hub lives and dies with its process."""


def hub_url_from_env() -> str:
    return os.environ.get(HUB_URL_ENV, "").strip()


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_hub_url(url: str) -> str:
    """``url`` stripped, if it names a hub: empty or ``memory://`` (in-process), or a Redis URL."""
    url = url.strip()
    if url in IN_PROCESS_URLS or url.startswith(REDIS_SCHEMES):
        return url
    raise ValueError(f"hub URL must be empty, memory:// or redis://HOST:PORT/DB, got {url!r}")


def hub_from_url(url: str) -> Hub:
    """``""`` or ``memory://``: the in-process hub; ``redis://`` or ``rediss://``: Redis Streams."""
    url = check_hub_url(url)
    if url in IN_PROCESS_URLS:
        return EventHub()
    from lesson_app.hub_redis import RedisStreamHub  # redis is imported only when asked for

    return RedisStreamHub(url)
