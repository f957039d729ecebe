"""Counts open streams and guards every lesson stream against failures."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

logger = logging.getLogger("lesson_app")


class StreamTracker:
    """What ``/stats`` reports: streams open now, and how each one ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active_streams = 0
        self.opened: Counter[str] = Counter()
        self.completed = 0
        self.disconnected = 0
        self.failed = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "active_streams": self.active_streams,
                "streams_opened": sum(self.opened.values()),
                "streams_completed": self.completed,
                "streams_disconnected": self.disconnected,
                "streams_failed": self.failed,
                "opened_by_path": dict(self.opened),
            }

    def _open(self, path: str) -> None:
        with self._lock:
            self.active_streams += 1
            self.opened[path] += 1

    def _close(self, outcome: str) -> None:
        with self._lock:
            self.active_streams -= 1
            setattr(self, outcome, getattr(self, outcome) + 1)

    async def track(self, path: str, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Relay ``events``; count the stream while open; turn a crash into an ``error`` event.

        A client that disconnects cancels this generator: the ``finally`` below
        and the inner generator's own cleanup both run.
        """
        self._open(path)
        outcome = "disconnected"
        try:
            async with aclosing(events):
                try:
                    async for event in events:
                        yield event
                    outcome = "completed"
                except Exception as exc:
                    outcome = "failed"
                    logger.warning("stream %s failed: %r", path, exc)
                    yield {"event": "error", "data": json.dumps({"error": str(exc) or type(exc).__name__})}
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "disconnected"
            raise
        finally:
            self._close(outcome)
