"""Figure 8: the event hub across workers.

1,000 monitors spread over 2 workers sharing one Redis, 1,000 PATCHes spread
over both workers (a new connection each, as a load balancer would spread
them): the time from sending a PATCH to each watching monitor's
``task_update``, and every event lost or duplicated. Against the same load on
1 worker with the in-process hub, in the same run.

Monitors live in a client process of their own; arrival and send times are
both ``time.monotonic()`` (one clock for every process of the machine).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench.figures import percentile
from bench.servers import raise_open_file_limit
from lesson_app.process_server import ProcessServer
from lesson_app.redis_server import RedisServer
from lesson_app.wire import EventParser

CONNECT_CONCURRENCY = 50
OPEN_TIMEOUT = 120.0
SETTLE_TIMEOUT = 30.0
TITLE = "bench {seq}"
TARGET_P95_MS = 50.0


@dataclass(frozen=True)
class HubSizes:
    monitors: int
    patches: int
    tasks: int  # monitor i watches task i % tasks + 1: each PATCH reaches monitors / tasks of them
    interval: float  # seconds between PATCHes


FULL_HUB = HubSizes(monitors=1000, patches=1000, tasks=20, interval=0.02)  # 50 PATCHes/s, 2,500 events/s
QUICK_HUB = HubSizes(monitors=40, patches=40, tasks=4, interval=0.01)


class Monitor(asyncio.Protocol):
    """One ``/tasks/monitor`` stream over HTTP/1.0 (no chunking): notes when each PATCH's event arrives."""

    def __init__(self, index: int, request: bytes) -> None:
        self.index = index
        self.request = request
        self.head = b""  # the response head, until its blank line
        self.in_head = True
        self.worker = ""
        self.parser = EventParser()
        self.snapshot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.arrivals: list[tuple[int, float]] = []  # (PATCH seq, arrival time)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self.in_head:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            self.head, data = self.head.split(b"\r\n\r\n", 1)
            self.in_head = False
            for line in self.head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("x-worker:"):
                    self.worker = line.split(":", 1)[1].strip()
        for event in self.parser.feed(data):
            if event.event == "snapshot":
                if not self.snapshot.done():
                    self.snapshot.set_result(None)
            elif event.event == "task_update":
                title = json.loads(event.data)["task"]["title"]
                self.arrivals.append((int(title.rsplit(" ", 1)[1]), now))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError("closed before the snapshot"))


async def _open(port: int, index: int, tasks: int, limit: asyncio.Semaphore) -> Monitor:
    path = f"/tasks/monitor?ids={index % tasks + 1}"
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    async with limit:
        _, monitor = await asyncio.get_running_loop().create_connection(
            lambda: Monitor(index, request), "127.0.0.1", port
        )
        await asyncio.wait_for(asyncio.shield(monitor.snapshot), OPEN_TIMEOUT)
        return monitor


async def _watch(pipe: Connection, port: int, count: int, tasks: int) -> None:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    monitors = await asyncio.gather(*(_open(port, i, tasks, limit) for i in range(count)))
    pipe.send(("ready", dict(Counter(m.worker for m in monitors))))
    expected_total = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while sum(len(m.arrivals) for m in monitors) < expected_total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything more now would be a duplicate
    pipe.send(("arrivals", [m.arrivals for m in monitors]))


def watch(pipe: Connection, port: int, count: int, tasks: int) -> None:
    """Entry point of the monitors' process."""
    raise_open_file_limit()
    asyncio.run(_watch(pipe, port, count, tasks))


def measure_one(server: ProcessServer, sizes: HubSizes) -> dict[str, Any]:
    """Open the monitors, send the PATCHes, count what arrived."""
    with httpx.Client(timeout=10.0) as client:
        for n in range(4, sizes.tasks + 1):
            assert client.post(f"{server.url}/tasks", json={"title": f"task {n}"}).status_code == 201
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    watcher = context.Process(target=watch, args=(theirs, server.port, sizes.monitors, sizes.tasks), daemon=True)
    watcher.start()
    try:
        kind, workers = ours.recv()
        assert kind == "ready"
        sent: list[tuple[int, float]] = []  # (task, send time) per seq
        patched_on: Counter[str] = Counter()
        fresh = httpx.Limits(max_keepalive_connections=0)  # one connection per PATCH: spread over workers
        with httpx.Client(timeout=10.0, limits=fresh) as client:
            for seq in range(sizes.patches):
                task = seq % sizes.tasks + 1
                started = time.monotonic()
                response = client.patch(f"{server.url}/tasks/{task}", json={"title": TITLE.format(seq=seq)})
                assert response.status_code == 200, response.text
                sent.append((task, started))
                patched_on[response.headers.get("x-worker", "")] += 1
                time.sleep(max(0.0, sizes.interval - (time.monotonic() - started)))
        watching = Counter(i % sizes.tasks + 1 for i in range(sizes.monitors))
        ours.send(sum(watching[task] for task, _ in sent))
        kind, arrivals = ours.recv()
        assert kind == "arrivals"
    finally:
        watcher.join(timeout=10)
        if watcher.is_alive():
            watcher.kill()
    latencies, lost, duplicated = [], 0, 0
    for index, got in enumerate(arrivals):
        task = index % sizes.tasks + 1
        expected = {seq for seq, (patched, _) in enumerate(sent) if patched == task}
        seen = Counter(seq for seq, _ in got)
        lost += len(expected - set(seen))
        duplicated += sum(times - 1 for times in seen.values()) + sum(1 for seq in seen if seq not in expected)
        first_arrival: dict[int, float] = {}
        for seq, arrived in got:
            first_arrival.setdefault(seq, arrived)
        latencies += [(arrived - sent[seq][1]) * 1000 for seq, arrived in first_arrival.items() if seq in expected]
    return {
        "deliveries": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "lost": lost,
        "duplicated": duplicated,
        "monitors_per_worker": workers,
        "patches_per_worker": dict(patched_on),
    }


def measure(sizes: HubSizes = FULL_HUB) -> dict[str, Any]:
    """Both setups, one after the other, with the same load and the same client."""
    results: dict[str, Any] = {"sizes": dataclasses.asdict(sizes), "target_p95_ms": TARGET_P95_MS}
    with RedisServer() as redis_server:
        with ProcessServer(hub=redis_server.url, workers=2, time_scale=0) as server:
            results["redis_2_workers"] = measure_one(server, sizes)
    with ProcessServer(workers=1, time_scale=0) as server:
        results["in_process_1_worker"] = measure_one(server, sizes)
    return results


if __name__ == "__main__":
    print(json.dumps(measure(QUICK_HUB), indent=2))
