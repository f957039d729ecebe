"""The apps checks serve: each built from the names a student's notebook defined.

A fixture is a function ``(names, **params) -> ASGI app``. Checks ask for one by
name (``submission.serve("countdown")``) and then only talk HTTP to it. What a
check needs to observe beyond the responses (a cleanup log, the hub's
subscribers) the fixture serves under ``/_observe/``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from sse_starlette import EventSourceResponse

from lesson_app.grading.core import CheckFailed
from lesson_app.grading.local import Names

Fixture = Callable[..., Any]
FIXTURES: dict[str, Fixture] = {}


def fixture(name: str) -> Callable[[Fixture], Fixture]:
    def register(function: Fixture) -> Fixture:
        FIXTURES[name] = function
        return function

    return register


def build(name: str, names: Names, params: dict[str, Any]) -> Any:
    """The app of fixture ``name``; ``CheckFailed`` for what the student's names get wrong."""
    try:
        make = FIXTURES[name]
    except KeyError:
        raise ValueError(f"unknown fixture {name!r}; known: {', '.join(sorted(FIXTURES))}") from None
    return make(names, **params)


def student_router(names: Names) -> APIRouter:
    return names.instance("router", APIRouter)


@fixture("app")
def the_app(names: Names) -> FastAPI:
    """The notebook's own ``app``."""
    return names.instance("app", FastAPI)


@fixture("countdown")
def countdown_app(names: Names) -> FastAPI:
    """``GET /countdown/{seconds}?delay=`` streams ``countdown(seconds, delay=delay)``; ``GET /ping`` answers at once."""
    countdown = names.function("countdown")
    app = FastAPI()

    @app.get("/countdown/{seconds}")
    async def stream(seconds: int, delay: float = 0.0) -> EventSourceResponse:
        return EventSourceResponse(countdown(seconds, delay=delay))

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


@fixture("lesson_app_with_router")
def lesson_app_with_router(names: Names, time_scale: float = 0) -> FastAPI:
    """The lesson app at ``time_scale`` with the notebook's ``router`` included; ``/_observe/subscribers``."""
    from lesson_app import create_app

    router = student_router(names)
    app = create_app(time_scale=time_scale)
    app.include_router(router)

    @app.get("/_observe/subscribers")
    async def subscribers() -> dict[str, int]:
        return {"subscribers": app.state.hub.subscriber_count}

    return app


@fixture("router")
def router_app(names: Names) -> FastAPI:
    """A bare FastAPI app with the notebook's ``router`` included."""
    app = FastAPI()
    app.include_router(student_router(names))
    return app


async def scripted_source(steps: int, fail_at: int | None, error: str, error_type: str) -> AsyncIterator[dict[str, str]]:
    """``{"step": i}`` messages, raising ``error_type(error)`` before step ``fail_at``."""
    exception = {"ValueError": ValueError, "ConnectionError": ConnectionError, "RuntimeError": RuntimeError}[error_type]
    for i in range(steps):
        if i == fail_at:
            raise exception(error)
        yield {"data": json.dumps({"step": i})}
        await asyncio.sleep(0)
    if fail_at is not None and fail_at >= steps:
        raise exception(error)


@fixture("guarded")
def guarded_app(names: Names) -> FastAPI:
    """``GET /guarded?steps=&fail_at=&error=&error_type=`` streams ``guarded(<a scripted source>)``."""
    guarded = names.function("guarded")
    app = FastAPI()

    @app.get("/guarded")
    async def stream(steps: int = 3, fail_at: int | None = None, error: str = "", error_type: str = "ValueError") -> EventSourceResponse:
        if error_type not in ("ValueError", "ConnectionError", "RuntimeError"):
            raise HTTPException(400, "unknown error_type")
        return EventSourceResponse(guarded(scripted_source(steps, fail_at, error, error_type)))

    return app


@fixture("ticks")
def ticks_app(names: Names) -> FastAPI:
    """``GET /ticks?delay=&heartbeat=`` returns ``tick_response(cleanup_log, ...)``; ``/_observe/cleanup_log``."""
    tick_response = names.function("tick_response")
    cleanup_log: list[Any] = []
    app = FastAPI()

    @app.get("/ticks")
    async def stream(delay: float, heartbeat: float = 15.0) -> EventSourceResponse:
        response = tick_response(cleanup_log, delay=delay, heartbeat=heartbeat)
        if not isinstance(response, EventSourceResponse):
            raise TypeError(f"tick_response should return an EventSourceResponse, got {type(response).__name__}")
        return response

    @app.get("/_observe/cleanup_log")
    async def observe() -> list[Any]:
        return [item if isinstance(item, str) else repr(item) for item in cleanup_log]

    return app


__all__ = ["FIXTURES", "CheckFailed", "build", "fixture"]
