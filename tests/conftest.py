"""Shared fixtures: real lesson servers on 127.0.0.1 and a reader for their streams."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lesson_app import create_app
from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, iter_events

REQUEST_TIMEOUT = 10.0

ServerFactory = Callable[..., BackgroundServer]


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Start a ``BackgroundServer`` for ``create_app(**kwargs)``; every one is stopped afterwards."""
    servers: list[BackgroundServer] = []

    def start(**app_kwargs: Any) -> BackgroundServer:
        server = BackgroundServer(create_app(**app_kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> BackgroundServer:
    """The lesson app at time scale 0: every stream runs instantly."""
    return make_server(time_scale=0)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[BackgroundServer]:
    """One scale-0 server for a whole test module: only for tests that change no state they assert on."""
    with BackgroundServer(create_app(time_scale=0)) as server:
        yield server


@pytest.fixture
def paced_server(make_server: ServerFactory) -> BackgroundServer:
    """The lesson app at the real pace (time scale 1), for timing and delivery checks."""
    return make_server(time_scale=1)


def read_events(url: str, method: str = "GET", *, timeout: float = REQUEST_TIMEOUT, **kwargs: Any) -> list[Event]:
    """Every event of a stream that must answer 200 with ``text/event-stream``."""
    with httpx.stream(method, url, timeout=timeout, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(iter_events(response.iter_raw()))


def timed_events(url: str, method: str = "GET", **kwargs: Any) -> list[tuple[float, Event]]:
    """Each event with the seconds between sending the request and its arrival."""
    started = time.perf_counter()
    with httpx.stream(method, url, timeout=REQUEST_TIMEOUT, **kwargs) as response:
        assert response.status_code == 200
        return [(time.perf_counter() - started, event) for event in iter_events(response.iter_raw())]


def get_stats(server: BackgroundServer) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/stats", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200
    return response.json()


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()

