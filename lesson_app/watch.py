"""Read a stream and print each event with its arrival time, so streaming is visible."""

from __future__ import annotations

import time
from typing import Any

import httpx

from lesson_app.wire import Event, aiter_events, iter_events


def describe(event: Event, elapsed: float) -> str:
    extra = f"  id={event.id}" if event.id else ""
    return f"+{elapsed:6.3f}s  {event.event:<12} {event.data}{extra}"


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        response.read()
        raise httpx.HTTPStatusError(
            f"{response.status_code} from {response.request.url}: {response.text}",
            request=response.request,
            response=response,
        )


def show_stream(url: str, method: str = "GET", *, quiet: bool = False, timeout: float = 30.0, **kwargs: Any) -> list[Event]:
    """Stream ``url`` with ``httpx.stream``, printing every event as it arrives."""
    events: list[Event] = []
    started = time.perf_counter()
    with httpx.stream(method, url, timeout=timeout, **kwargs) as response:
        _check(response)
        for event in iter_events(response.iter_raw()):
            events.append(event)
            if not quiet:
                print(describe(event, time.perf_counter() - started))
    return events


async def ashow_stream(
    url: str, method: str = "GET", *, quiet: bool = False, timeout: float = 30.0, **kwargs: Any
) -> list[Event]:
    """Async twin of ``show_stream``, for top-level ``await`` in a notebook cell."""
    events: list[Event] = []
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=timeout) as client:
        async with client.stream(method, url, **kwargs) as response:
            _check(response)
            async for event in aiter_events(response.aiter_raw()):
                events.append(event)
                if not quiet:
                    print(describe(event, time.perf_counter() - started))
    return events
