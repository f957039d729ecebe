"""``X-Worker``: which process answered, to see a load balancer spread clients over workers."""

from __future__ import annotations

import os

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORKER_HEADER_ENV = "LESSON_WORKER_HEADER"


def worker_header_from_env(default: bool) -> bool:
    value = os.environ.get(WORKER_HEADER_ENV, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{WORKER_HEADER_ENV} must be 1 or 0, got {value!r}")


class WorkerHeader:
    """Pure ASGI middleware (streams pass through untouched): adds ``X-Worker`` to every response."""

    def __init__(self, app: ASGIApp, worker: str) -> None:
        self.app = app
        self.worker = worker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Worker"] = self.worker
            await send(message)

        await self.app(scope, receive, send_with_worker)
