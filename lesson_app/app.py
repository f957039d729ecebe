"""``create_app``: a fresh lesson app with its own tasks, hub, pace and counters."""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lesson_app.cors import StreamingCORSMiddleware
from lesson_app.hub import Hub, hub_from_url, hub_url_from_env
from lesson_app.pace import Pace, number_from_env
from lesson_app.repository import TaskRepository
from lesson_app.tracking import StreamTracker
from lesson_app.workers import WorkerHeader, worker_header_from_env

HEARTBEAT_ENV = "LESSON_HEARTBEAT"
DEFAULT_HEARTBEAT = 15.0
DEFAULT_RETRY_MS = 2000
LOCAL_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$"


def heartbeat_from_env(default: float = DEFAULT_HEARTBEAT) -> float:
    return number_from_env(HEARTBEAT_ENV, default, _validate_heartbeat, "a number of seconds > 0")


def _validate_heartbeat(value: float) -> float:
    if not value > 0:
        raise ValueError(f"heartbeat must be a number of seconds > 0, got {value!r}")
    return float(value)


def _json_safe(value: Any) -> Any:
    """Non-finite floats as strings: strict JSON has no NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, still valid JSON when the rejected input was ``NaN`` (Python's json accepts it)."""
    return JSONResponse(status_code=422, content={"detail": _json_safe(jsonable_encoder(exc.errors()))})


def create_app(
    time_scale: float | None = None,
    *,
    heartbeat: float | None = None,
    retry_ms: int = DEFAULT_RETRY_MS,
    repo: TaskRepository | None = None,
    hub_url: str | None = None,
    worker_header: bool | None = None,
) -> FastAPI:
    """Build the lesson's app.

    ``time_scale`` multiplies every simulated delay (default: ``LESSON_TIME_SCALE``
    or 1). ``heartbeat`` is the seconds between keep-alive comments on every
    stream (default: ``LESSON_HEARTBEAT`` or 15). ``hub_url`` chooses the event
    hub (default: ``LESSON_HUB_URL`` or in-process); with ``redis://...`` the
    tasks live in Redis too, so several workers serve the same tasks and events.
    ``worker_header`` adds ``X-Worker: <pid>`` to every response (default:
    ``LESSON_WORKER_HEADER``, or on with a Redis hub).
    """
    from lesson_app import page_routes, stream_routes, task_routes

    hub: Hub
    if repo is not None:
        hub = repo.hub
    else:
        hub = hub_from_url(hub_url_from_env() if hub_url is None else hub_url.strip())
        if hub.resumable:
            from lesson_app.repository_redis import RedisTaskRepository

            repo = RedisTaskRepository(hub)  # type: ignore[arg-type]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.aclose()

    app = FastAPI(
        title="Task API",
        description="The streaming lesson's app: every stream of the lesson, served with Server-Sent Events.",
        lifespan=lifespan,
    )
    app.state.pace = Pace(time_scale)
    app.state.heartbeat = heartbeat_from_env() if heartbeat is None else _validate_heartbeat(heartbeat)
    app.state.retry_ms = retry_ms
    app.state.hub = hub
    app.state.task_repo = repo if repo is not None else TaskRepository(hub)
    app.state.tracker = StreamTracker()

    app.add_middleware(
        StreamingCORSMiddleware,
        allow_origin_regex=LOCAL_ORIGINS,
        allow_methods=["GET", "POST", "PATCH"],
        allow_headers=["*"],
    )
    app.add_exception_handler(RequestValidationError, validation_error)
    if hub.resumable:
        import redis

        from lesson_app.repository_redis import hub_unavailable

        app.add_exception_handler(redis.RedisError, hub_unavailable)
    if worker_header_from_env(default=hub.resumable) if worker_header is None else worker_header:
        app.add_middleware(WorkerHeader, worker=str(os.getpid()))
    for module in (task_routes, stream_routes, page_routes):
        # The routes themselves, not include_router's nested router: that would match every request twice.
        app.router.routes.extend(module.router.routes)
    return app
