"""Counts open streams and how each one ended, for ``/stats``."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from typing import Any, Literal

logger = logging.getLogger("lesson_app")

Outcome = Literal["completed", "disconnected", "failed"]


class StreamTracker:
    """What ``/stats`` reports: streams open now, and how each one ended.

    A response calls ``opened`` once its headers are out and ``closed`` when its
    stream ends: nothing is counted per event.
    """

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

    def stream_opened(self, path: str) -> None:
        with self._lock:
            self.active_streams += 1
            self.opened[path] += 1

    def stream_closed(self, outcome: Outcome) -> None:
        with self._lock:
            self.active_streams -= 1
            setattr(self, outcome, getattr(self, outcome) + 1)


def error_event(path: str, exc: Exception) -> dict[str, str]:
    """The ``error`` event a crashed stream ends with; the operator gets the details in the log."""
    logger.warning("stream %s failed: %r", path, exc)
    return {"event": "error", "data": json.dumps({"error": str(exc) or type(exc).__name__})}
