"""The notebooks' shared tools, against a real lesson server."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import pytest

from lesson_app.notebook_tools import CountingRelay, ServerErrors, fetch_stats, wait_until
from lesson_app.server import BackgroundServer


def test_server_errors_collects_exception_and_cause_then_detaches() -> None:
    logger = logging.getLogger("uvicorn.error")
    with ServerErrors() as errors:
        try:
            try:
                raise KeyError("inner")
            except KeyError as inner:
                raise ValueError("outer") from inner
        except ValueError:
            logger.error("boom", exc_info=True)
        logger.error("plain message")
    logger.error("after the block")
    assert errors.messages == ["ValueError: outer  (caused by KeyError: 'inner')", "plain message"]
    assert errors not in logger.handlers


def test_wait_until_returns_elapsed_and_times_out() -> None:
    flag = threading.Event()
    threading.Timer(0.1, flag.set).start()
    assert 0.05 <= wait_until(flag.is_set, timeout=5) < 4
    with pytest.raises(TimeoutError):
        wait_until(lambda: False, timeout=0.05)


def test_fetch_stats_reads_the_apps_counters(server: BackgroundServer) -> None:
    before = fetch_stats(server.url)
    with httpx.stream("GET", f"{server.url}/tasks/stream") as response:
        response.read()
    after = fetch_stats(server.url)
    assert after["active_streams"] == 0
    assert after != before


def test_counting_relay_counts_bytes_both_ways(server: BackgroundServer) -> None:
    async def through_relay() -> tuple[CountingRelay, bytes]:
        async with CountingRelay(server.port) as relay:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"{relay.base}/tasks/stream")
        return relay, response.content

    started = time.monotonic()
    relay, body = asyncio.run(through_relay())
    assert time.monotonic() - started < 10
    assert b"event: complete" in body
    assert relay.connections == 1
    assert relay.received > len(body)  # the body plus the status line and headers
    assert relay.sent > 0
