"""Hundreds of clients at once: every one gets its whole stream, in order, with nothing mixed in."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, aiter_events
from tests.conftest import ServerFactory, get_stats

pytestmark = pytest.mark.timeout(120)

CLIENTS = 300


def countdown(seconds: int) -> list[Event]:
    ticks = [Event("tick", f'{{"remaining": {i}}}', id=str(i), retry=2000) for i in range(seconds, 0, -1)]
    return [*ticks, Event("complete", '{"message": "Countdown finished!"}', id="0", retry=2000)]


async def read_all(client: httpx.AsyncClient, url: str) -> list[Event]:
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        return [event async for event in aiter_events(response.aiter_raw())]


async def many_clients(url: str, count: int) -> list[list[Event] | BaseException]:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    timeout = httpx.Timeout(60.0, pool=60.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        return await asyncio.gather(*(read_all(client, url) for _ in range(count)), return_exceptions=True)


def test_300_clients_each_get_the_whole_countdown(make_server: ServerFactory) -> None:
    # A small scale keeps the streams open long enough to overlap.
    server = make_server(time_scale=0.3)
    started = time.perf_counter()
    results = asyncio.run(many_clients(f"{server.url}/stream/countdown/3", CLIENTS))
    elapsed = time.perf_counter() - started

    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], failures[:3]
    expected = countdown(3)
    wrong = [r for r in results if r != expected]
    assert wrong == [], wrong[:2]

    stats = get_stats(server)
    assert stats["streams_opened"] == CLIENTS
    assert stats["streams_completed"] == CLIENTS
    assert stats["active_streams"] == 0
    # Overlap, not one after another: 300 streams of ~0.9 s each finished far sooner than in series.
    assert elapsed < 60, elapsed


def test_concurrent_clients_were_really_open_together(make_server: ServerFactory) -> None:
    server = make_server(time_scale=0.5)
    peak = 0

    async def watch_peak(stop: asyncio.Event) -> None:
        nonlocal peak
        async with httpx.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                peak = max(peak, (await client.get(f"{server.url}/stats")).json()["active_streams"])
                await asyncio.sleep(0.05)

    async def scenario() -> list[list[Event] | BaseException]:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_peak(stop))
        results = await many_clients(f"{server.url}/stream/countdown/4", 50)
        stop.set()
        await watcher
        return results

    results = asyncio.run(scenario())
    assert all(r == countdown(4) for r in results)
    assert peak >= 40, peak


def test_mixed_streams_at_once_do_not_cross(server: BackgroundServer) -> None:
    paths = {
        "/stream/countdown/5": countdown(5),
        "/tasks/2/progress": [
            *(
                Event("progress", f'{{"task_id": 2, "step": {s}, "total_steps": 5, "percentage": {s * 20}}}')
                for s in range(1, 6)
            ),
            Event("complete", '{"task_id": 2, "status": "completed"}'),
        ],
        "/stream/system": [
            Event("info", "System started"),
            Event("task_created", '{"task_id": 1}'),
            Event("task_updated", '{"task_id": 1, "status": "in_progress"}'),
            Event("task_completed", '{"task_id": 1}'),
            Event("info", "Batch complete"),
        ],
    }

    async def scenario() -> list[tuple[str, list[Event] | BaseException]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            order = [path for _ in range(40) for path in paths]
            results = await asyncio.gather(*(read_all(client, f"{server.url}{p}") for p in order), return_exceptions=True)
            return list(zip(order, results))

    for path, result in asyncio.run(scenario()):
        assert result == paths[path], path
