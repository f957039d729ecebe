"""The event hub on Redis Streams: every worker hears every change, and every event keeps an id.

Publishing is one ``XADD ... MAXLEN ~ N`` to a single stream. Each process runs
one supervised ``XREAD BLOCK`` loop that remembers the last id it read and fans
each entry out to the local subscribers of its topic; after a Redis blip it
reconnects with backoff and carries on from that id, so nothing is skipped.
A change is never handed to local subscribers directly: the stream is the only
way in, so no event arrives twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Hashable

import redis
import redis.asyncio

from lesson_app.hub import Subscription

logger = logging.getLogger("lesson_app.hub")

STREAM_KEY = "lesson:events"
MAXLEN = 10_000  # approximate: Redis trims whole nodes, so a few more may stay
BLOCK_MS = 1_000
READ_COUNT = 500
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 1.0
SOCKET_TIMEOUT = 10.0  # longer than BLOCK_MS: a blocked XREAD is not a dead connection
WRITE_TIMEOUT = 2.0  # a blocking call holds up its event loop: a hung Redis must not hold it long
READER_STOP_TIMEOUT = 2.0
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def is_stream_id(text: str) -> bool:
    return bool(STREAM_ID.match(text))


def id_order(stream_id: str) -> tuple[int, int]:
    """Stream ids compare as (milliseconds, sequence), not as strings."""
    millis, _, sequence = stream_id.partition("-")
    return int(millis), int(sequence)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One entry of the stream: its id (the SSE ``id``), its topic and its message."""

    id: str
    topic: Hashable
    message: Any


class SubscriberTooSlow(Exception):
    """The subscriber's queue overflowed: it was dropped and should resume from its last id."""


class StreamSubscription(Subscription):
    """A bounded queue of :class:`StreamEvent`; a subscriber that falls ``maxsize`` behind is dropped."""

    def __init__(
        self,
        topics: frozenset[Hashable],
        loop: asyncio.AbstractEventLoop,
        maxsize: int,
        on_overflow: Callable[[StreamSubscription], None],
    ) -> None:
        super().__init__(topics, loop, maxsize)
        self.overflowed = False
        self._on_overflow = on_overflow

    def _put(self, item: Any) -> None:
        if self.overflowed:
            return
        if self._items is None:
            self._items = deque()
        if len(self._items) >= self.maxsize:
            self.overflowed = True
            self.dropped += 1
            self._items.clear()  # it resumes from the stream, not from this queue
            self._on_overflow(self)
            self._wake()
            return
        self._items.append(item)
        self._wake()

    async def next_event(self) -> StreamEvent:
        """The next event, oldest first; raises :class:`SubscriberTooSlow` once dropped."""
        while not self._items and not self.overflowed:
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed:
            raise SubscriberTooSlow(f"more than {self.maxsize} events behind")
        assert self._items is not None
        return self._items.popleft()

    async def get(self) -> tuple[Hashable, Any]:
        event = await self.next_event()
        return event.topic, event.message


class RedisStreamHub:
    """The :class:`lesson_app.hub.Hub` of several workers, on one Redis Stream.

    Writes (``publish`` and the task repository's ``MULTI``) use a blocking client:
    a loopback round trip, called where the in-process hub took a lock. Everything
    that waits (the reader's ``XREAD BLOCK``, a replay) uses ``redis.asyncio`` on the
    event loop of the server that first subscribed.
    """

    resumable = True

    def __init__(
        self,
        url: str,
        *,
        stream: str = STREAM_KEY,
        maxlen: int = MAXLEN,
        max_queue: int = 1000,
        block_ms: int = BLOCK_MS,
    ) -> None:
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self.max_queue = max_queue
        self.block_ms = block_ms
        self.redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=WRITE_TIMEOUT, socket_connect_timeout=WRITE_TIMEOUT
        )
        self.reconnects = 0
        self.dropped_subscribers = 0
        self._aredis: redis.asyncio.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_topic: dict[Hashable, set[StreamSubscription]] = {}
        self._subscriptions: set[StreamSubscription] = set()
        self._reader: asyncio.Task[None] | None = None
        self._reader_lock: asyncio.Lock | None = None
        self._closing = False
        self.last_id: str | None = None

    # --- writing ------------------------------------------------------------------

    def entry(self, topic: Hashable, message: Any) -> dict[str, str]:
        return {"topic": json.dumps(topic), "data": json.dumps(message)}

    def add_to(self, pipe: redis.client.Pipeline, topic: Hashable, message: Any) -> None:
        """Queue the ``XADD`` of ``message`` on ``pipe``: the repository's ``MULTI`` writes task and event together."""
        pipe.xadd(self.stream, self.entry(topic, message), maxlen=self.maxlen, approximate=True)

    def publish(self, topic: Hashable, message: Any) -> int:
        """Append ``message`` to the stream; return how many subscribers of ``topic`` this process has.

        Every worker's reader, this one's included, delivers it from the stream.
        """
        self.redis.xadd(self.stream, self.entry(topic, message), maxlen=self.maxlen, approximate=True)
        return len(self._by_topic.get(topic, ()))

    # --- subscribing --------------------------------------------------------------

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._reader_lock = asyncio.Lock()
            self._aredis = redis.asyncio.Redis.from_url(
                self.url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT
            )
        elif loop is not self._loop:
            raise RuntimeError("a RedisStreamHub serves the event loop of the server that first used it")
        assert self._aredis is not None
        return self._aredis

    async def _ensure_reader(self) -> None:
        client = self._client()
        assert self._reader_lock is not None
        async with self._reader_lock:
            if self._reader is not None and not self._reader.done():
                return
            if self.last_id is None:
                newest = await client.xrevrange(self.stream, "+", "-", count=1)
                self.last_id = newest[0][0] if newest else "0-0"
            self._reader = asyncio.get_running_loop().create_task(self._read_forever(), name="hub-reader")

    async def _read_forever(self) -> None:
        """The one supervised reader of this process: resumes from ``last_id`` after any failure."""
        client = self._client()
        delay = BACKOFF_FIRST
        while not self._closing:
            try:
                response = await client.xread({self.stream: self.last_id}, count=READ_COUNT, block=self.block_ms)
            except Exception as exc:  # a supervised loop: any failure is retried, cancellation is not
                if self._closing or _being_cancelled():
                    return  # a cancellation redis-py turned into a connection error while connecting
                self.reconnects += 1
                logger.warning("hub reader lost Redis (%s); retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            for _stream, entries in response or ():
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    self._dispatch(self._event(entry_id, fields))

    def _event(self, entry_id: str, fields: dict[str, str]) -> StreamEvent:
        return StreamEvent(entry_id, json.loads(fields["topic"]), json.loads(fields["data"]))

    def _dispatch(self, event: StreamEvent) -> None:
        for sub in list(self._by_topic.get(event.topic, ())):
            sub._put(event)

    def _forget(self, sub: StreamSubscription) -> None:
        if sub not in self._subscriptions:
            return
        self._subscriptions.discard(sub)
        for topic in sub.topics:
            watchers = self._by_topic.get(topic)
            if watchers is not None:
                watchers.discard(sub)
                if not watchers:
                    del self._by_topic[topic]

    def _overflowed(self, sub: StreamSubscription) -> None:
        self.dropped_subscribers += 1
        self._forget(sub)

    @asynccontextmanager
    async def subscribe(self, topics: Iterable[Hashable]) -> AsyncIterator[StreamSubscription]:
        """Register a live queue now: every event the reader sees from here on lands in it."""
        await self._ensure_reader()
        assert self._loop is not None
        sub = StreamSubscription(frozenset(topics), self._loop, self.max_queue, self._overflowed)
        self._subscriptions.add(sub)
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        try:
            yield sub
        finally:
            self._forget(sub)

    # --- resuming -----------------------------------------------------------------

    async def events_after(self, last_id: str, topics: Iterable[Hashable]) -> list[StreamEvent] | None:
        """The events of ``topics`` after ``last_id``, oldest first.

        ``None`` when the stream no longer holds ``last_id`` (trimmed away, Redis
        restarted, or never one of ours): the caller must start afresh.
        """
        if not is_stream_id(last_id):
            return None
        watched = set(topics)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.xrange(self.stream, last_id, last_id, count=1)
            pipe.xrange(self.stream, "(" + last_id, "+")
            found, after = await pipe.execute()
        if not found:
            return None
        events = (self._event(entry_id, fields) for entry_id, fields in after)
        return [event for event in events if event.topic in watched]

    async def aclose(self) -> None:
        """Stop the reader and close both clients."""
        if self._reader is not None:
            self._closing = True
            deadline = asyncio.get_running_loop().time() + READER_STOP_TIMEOUT
            while not self._reader.done() and asyncio.get_running_loop().time() < deadline:
                self._reader.cancel()  # again: redis-py can swallow one that lands while it connects
                await asyncio.wait({self._reader}, timeout=0.05)
            self._reader = None
            self._closing = False
        if self._aredis is not None:
            await self._aredis.aclose()
            self._aredis = None
            self._loop = None
        self.last_id = None  # a server started again reads from the stream's end, as a fresh one does
        self.redis.close()
