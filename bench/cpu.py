"""CPU time per whole short stream, each peer's app called in-process: ``python -m bench.cpu``.

No sockets and no HTTP parser: a minimal ASGI server loop (``receive`` answers the request,
then waits for the end of the response, as uvicorn's does) drives ``clients`` concurrent
streams of ``/tasks/stream`` at scale 0. What is left is the app's own work per stream,
which is where peers differ. Rounds alternate between peers; medians are printed as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

os.environ["LESSON_TIME_SCALE"] = "0"  # the peers read it at import

PATH = "/tasks/stream"


def load(peer: str) -> Any:
    if peer == "ours":
        from lesson_app import create_app

        return create_app(time_scale=0)
    module = __import__(f"bench.peers.{peer}", fromlist=["app"])
    return module.app


def scope_for(path: str) -> dict[str, Any]:
    path, _, query = path.partition("?")
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"text/event-stream")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }


async def one_stream(app: Any, path: str) -> int:
    """One request through ``app``; the number of body bytes it sent."""
    done = asyncio.Event()
    requested = False
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope_for(path), receive, send)
    return sent


async def streams(app: Any, count: int, clients: int, path: str = PATH) -> float:
    """CPU seconds per stream for ``count`` streams over ``clients`` concurrent clients."""

    async def client(share: int) -> None:
        for _ in range(share):
            await one_stream(app, path)

    started = time.process_time()
    await asyncio.gather(*(client(count // clients) for _ in range(clients)))
    return (time.process_time() - started) / (count // clients * clients)


async def measure(peers: list[str], rounds: int, count: int, clients: int, path: str = PATH) -> dict[str, Any]:
    apps = {peer: load(peer) for peer in peers}
    for app in apps.values():  # warm-up
        await streams(app, max(clients, count // 10), clients, path)
    per_stream: dict[str, list[float]] = {peer: [] for peer in peers}
    for _ in range(rounds):
        for peer, app in apps.items():
            per_stream[peer].append(await streams(app, count, clients, path) * 1e6)
    medians = {peer: statistics.median(values) for peer, values in per_stream.items()}
    return {
        "unit": "CPU microseconds per stream", "path": path, "clients": clients, "streams_per_round": count,
        "median": {peer: round(value, 1) for peer, value in medians.items()},
        "ours_over_bare": round(medians["ours"] / medians["bare"], 3) if {"ours", "bare"} <= set(medians) else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--peers", nargs="+", default=["ours", "bare", "native", "raw"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--path", default=PATH, help="e.g. /agent/stream?prompt=... for a long stream")
    args = parser.parse_args()
    measured = measure(args.peers, args.rounds, args.streams, args.clients, args.path)
    print(json.dumps(asyncio.run(measured), indent=2))


if __name__ == "__main__":
    main()
