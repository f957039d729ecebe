"""Figures 1-4: the peers side by side, each in its own uvicorn process, rounds alternated."""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.client import first_event_seconds, long_streams, verify_events, whole_streams
from bench.holder import hold
from bench.servers import PeerServer, start_all, stop_all

PEERS = ["ours", "bare", "native", "raw"]
HOLD_PEERS = ["ours", "bare", "raw"]
SHORT_PATH = "/tasks/stream"
LONG_PATH = "/agent/stream?prompt=" + "+".join(["word"] * 399)  # 1,999 characters: ~430 token events
IDLE_PATH = "/tasks/monitor?ids=1"
CHECKED_PATHS = [SHORT_PATH, "/stream/system", LONG_PATH]


@dataclass
class Sizes:
    rounds: int
    short_seconds: float
    short_clients: int
    long_repeats: int
    first_event_samples: int
    hold_levels: list[int]
    heartbeat: float
    window: float
    latency_samples: int
    settle: float
    lifecycle_repeats: int
    notebook_limit: int | None
    grading_copies: int
    grading_only: str | None


FULL = Sizes(9, 2.0, 16, 10, 200, [100, 1000, 5000], 2.0, 5.0, 40, 1.0, 5, None, 30, None)
QUICK = Sizes(1, 0.3, 16, 1, 5, [100], 0.5, 1.2, 3, 0.2, 1, 1, 1, "ex01")


def rotated(servers: dict[str, PeerServer], turn: int) -> list[tuple[str, PeerServer]]:
    """The peers in their order, starting at a different one each turn: no peer always goes first."""
    items = list(servers.items())
    start = turn % len(items)
    return items[start:] + items[:start]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "rounds": values}


def check_same_events(servers: dict[str, PeerServer]) -> dict[str, int]:
    """Every peer must serve the very same events as ours; returns the event count per path."""
    counts = {}
    for path in CHECKED_PATHS:
        reference = verify_events(servers["ours"].url, path)
        for peer, server in servers.items():
            events = [(e.event, e.data) for e in verify_events(server.url, path)]
            if events != [(e.event, e.data) for e in reference]:
                raise AssertionError(f"{peer} serves different events than ours on {path}")
        counts[path] = len(reference)
    return counts


def throughput(sizes: Sizes, log_dir: str) -> dict[str, Any]:
    """Figures 1 and 2 on one set of scale-0 servers."""
    servers = start_all(PEERS, time_scale=0, log_dir=log_dir)
    try:
        counts = check_same_events(servers)
        long_events = counts[LONG_PATH]
        for server in servers.values():  # warm-up: imports, caches, first connections
            asyncio.run(whole_streams(server.host, server.port, SHORT_PATH, sizes.short_clients, 0.2))
            asyncio.run(long_streams(server.host, server.port, LONG_PATH, 1))
        short: dict[str, list[float]] = {peer: [] for peer in PEERS}
        events: dict[str, list[float]] = {peer: [] for peer in PEERS}
        for turn in range(sizes.rounds):
            for peer, server in rotated(servers, turn):
                done, elapsed = asyncio.run(
                    whole_streams(server.host, server.port, SHORT_PATH, sizes.short_clients, sizes.short_seconds)
                )
                short[peer].append(done / elapsed)
            for peer, server in rotated(servers, turn):
                elapsed = asyncio.run(long_streams(server.host, server.port, LONG_PATH, sizes.long_repeats))
                events[peer].append(long_events * sizes.long_repeats / elapsed)
        errors = {peer: server.logged_errors() for peer, server in servers.items()}
    finally:
        stop_all(servers)
    return {
        "short_streams": {
            "unit": "streams/s", "path": SHORT_PATH, "events_per_stream": counts[SHORT_PATH],
            "clients": sizes.short_clients, "seconds_per_round": sizes.short_seconds,
            "peers": {peer: summary(values) for peer, values in short.items()},
        },
        "events": {
            "unit": "events/s", "path": LONG_PATH.split("?")[0] + "?prompt=<1,999 chars>",
            "events_per_stream": long_events, "streams_per_round": sizes.long_repeats,
            "peers": {peer: summary(values) for peer, values in events.items()},
        },
        "server_errors_logged": errors,
    }


def first_event(sizes: Sizes, log_dir: str) -> dict[str, Any]:
    """Figure 3: connect -> first event at the real pace, samples alternated across peers."""
    servers = start_all(PEERS, time_scale=1, log_dir=log_dir)
    try:
        for server in servers.values():
            first_event_seconds(server.host, server.port, SHORT_PATH)
        samples: dict[str, list[float]] = {peer: [] for peer in PEERS}
        for turn in range(sizes.first_event_samples):
            for peer, server in rotated(servers, turn):
                samples[peer].append(first_event_seconds(server.host, server.port, SHORT_PATH) * 1000)
            time.sleep(0.01)
    finally:
        stop_all(servers)
    return {
        "unit": "ms", "path": SHORT_PATH, "time_scale": 1,
        "peers": {
            peer: {"median": statistics.median(values), "p90": percentile(values, 0.9), "samples": len(values)}
            for peer, values in samples.items()
        },
    }


HOLDER_TIMEOUT = 120.0


def receive(pipe: Any, process: Any, timeout: float = HOLDER_TIMEOUT) -> Any:
    """The client process's next message; an error if it died or went silent."""
    deadline = time.monotonic() + timeout
    while not pipe.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"client process exited with {process.exitcode}")
        if time.monotonic() > deadline:
            raise TimeoutError("client process went silent")
    return pipe.recv()


def hold_level(peer: str, count: int, sizes: Sizes, log_dir: str) -> dict[str, Any]:
    """One fresh server holding ``count`` idle streams, spread over 1-2 client processes."""
    server = PeerServer(peer, time_scale=1, heartbeat=sizes.heartbeat, log_dir=log_dir).launch().wait_ready()
    context = multiprocessing.get_context("fork")  # no threads here yet; fast to start
    processes, pipes = [], []
    try:
        for _ in range(2):  # warm-up: the idle stream and the latency probe, once each
            first_event_seconds(server.host, server.port, IDLE_PATH)
            first_event_seconds(server.host, server.port, SHORT_PATH)
        time.sleep(sizes.settle)
        rss_idle = server.rss()
        shares = [count // 2, count - count // 2] if count >= 1000 else [count]
        for share in shares:
            parent, child = context.Pipe()
            process = context.Process(target=hold, args=(child, server.host, server.port, IDLE_PATH, share))
            process.start()
            processes.append(process)
            pipes.append(parent)
        ready = [receive(pipe, process) for pipe, process in zip(pipes, processes)]
        opened = sum(message[1] for message in ready)
        open_seconds = max(message[2] for message in ready)
        time.sleep(sizes.settle)
        rss_held = server.rss()
        latencies = [first_event_seconds(server.host, server.port, SHORT_PATH) * 1000 for _ in range(sizes.latency_samples)]
        for pipe in pipes:
            pipe.send(("window", sizes.window))
        counts = [n for pipe, process in zip(pipes, processes) for n in receive(pipe, process)[1]]
        for pipe, process in zip(pipes, processes):
            pipe.send(("close", None))
            receive(pipe, process)
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
        server.stop()
    return {
        "connections": count,
        "opened": opened,
        "open_seconds": open_seconds,
        "rss_idle_mb": rss_idle / 2**20,
        "rss_held_mb": rss_held / 2**20,
        "kib_per_connection": (rss_held - rss_idle) / count / 1024,
        "latency_ms_median": statistics.median(latencies),
        "latency_ms_p90": percentile(latencies, 0.9),
        "heartbeat_s": sizes.heartbeat,
        "window_s": sizes.window,
        "served": sum(1 for n in counts if n >= 1),
        "min_heartbeats": min(counts),
        "median_heartbeats": statistics.median(counts),
        "server_errors_logged": server.logged_errors(),
    }


def connections(sizes: Sizes, log_dir: str) -> dict[str, Any]:
    """Figure 4: idle streams held by one process, the peers alternated at each level."""
    levels: dict[str, list[dict[str, Any]]] = {peer: [] for peer in HOLD_PEERS}
    for count in sizes.hold_levels:
        for peer in HOLD_PEERS:
            levels[peer].append(hold_level(peer, count, sizes, log_dir))
    return {"path": IDLE_PATH, "levels": sizes.hold_levels, "peers": levels}
