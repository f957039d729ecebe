"""Apply nest_asyncio, then start, read and stop ``BackgroundServer`` as a notebook kernel would.

Run by ``tests/test_nest_asyncio.py`` on each supported Python; prints one JSON report.
"""
import asyncio
import json
import sys
import threading
import time

import nest_asyncio

nest_asyncio.apply()

import httpx

from lesson_app import create_app
from lesson_app.server import BackgroundServer
from lesson_app.wire import aiter_events, parse_events

report = {"python": "%d.%d" % sys.version_info[:2]}
app = create_app(time_scale=0)
threads_before = threading.active_count()

t0 = time.perf_counter()
server = BackgroundServer(app).start()
report["start_seconds"] = round(time.perf_counter() - t0, 3)
report["sync_events"] = [[e.event, e.data, e.id] for e in parse_events(httpx.get(server.url + "/stream/countdown/3", timeout=10).content)]


async def cell() -> list[str]:
    """A notebook cell: the main thread's loop is running; streams are read with await."""
    again = BackgroundServer(app).start()  # re-running the start cell replaces the server
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", again.url + "/tasks/stream") as response:
            events = [e.event async for e in aiter_events(response.aiter_raw())]
    # nest_asyncio's reason to exist: a nested run inside a running loop.
    nested = asyncio.get_event_loop().run_until_complete(asyncio.sleep(0, result="nested ok"))
    return events + [nested, str(server.running), str(again.running)]


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
report["async_cell"] = loop.run_until_complete(cell())
BackgroundServer(app).start().stop()
paced = create_app(time_scale=1)
live = BackgroundServer(paced).start()  # stopped while a stream is open
with httpx.stream("GET", live.url + "/stream/countdown/60", timeout=10) as response:
    chunks = response.iter_raw()
    first = next(chunks)
    t0 = time.perf_counter()
    live.stop()
    report["stop_seconds"] = round(time.perf_counter() - t0, 3)
    report["events_before_stop"] = [e.event for e in parse_events(first + b"".join(chunks))]
report["active_after_stop"] = paced.state.tracker.active_streams
report["threads_leaked"] = threading.active_count() - threads_before
print(json.dumps(report))
