"""Start and stop of ``BackgroundServer``, in a fresh process: ``python -m bench.lifecycle --repeats N``.

Prints one JSON object: the first (cold) start, later (warm) starts, and ``stop()`` with
0, 20 and 200 idle streams open, plus how many of those clients saw their stream end.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import time

STREAM_PATH = "/tasks/monitor?ids=1"


def open_streams(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` idle monitor streams, each past its first event."""
    request = f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(request)
        received = b""
        while b"\ndata:" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("stream closed before its snapshot")
            received += chunk
        sockets.append(sock)
    return sockets


def ended(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the server finished this stream (terminal chunk or closed connection)."""
    sock.settimeout(timeout)
    tail = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
            tail = (tail + chunk)[-16:]
            if tail.endswith(b"0\r\n\r\n"):
                return True
    except OSError:
        return False
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--streams", type=int, nargs="+", default=[0, 20, 200])
    args = parser.parse_args()

    from bench.servers import raise_open_file_limit

    raise_open_file_limit()
    started = time.perf_counter()
    from lesson_app import create_app
    from lesson_app.server import BackgroundServer

    imported = time.perf_counter() - started
    app = create_app(time_scale=0)
    started = time.perf_counter()
    server = BackgroundServer(app).start()
    cold_start = time.perf_counter() - started
    server.stop()

    warm_starts: list[float] = []
    stops: dict[str, list[float]] = {str(count): [] for count in args.streams}
    clients_ended: dict[str, int] = {str(count): 0 for count in args.streams}
    for _ in range(args.repeats):
        for count in args.streams:
            server = BackgroundServer(app)
            started = time.perf_counter()
            server.start()
            warm_starts.append(time.perf_counter() - started)
            sockets = open_streams(server.host, server.port, count)
            started = time.perf_counter()
            server.stop()
            stops[str(count)].append(time.perf_counter() - started)
            clients_ended[str(count)] += sum(ended(sock) for sock in sockets)

    print(json.dumps({
        "import_s": imported,
        "cold_start_s": cold_start,
        "warm_start_s": statistics.median(warm_starts),
        "stop_s": {count: statistics.median(times) for count, times in stops.items()},
        "stop_max_s": {count: max(times) for count, times in stops.items()},
        "clients_ended": {count: f"{clients_ended[count]}/{int(count) * args.repeats}" for count in stops},
        "repeats": args.repeats,
    }))


if __name__ == "__main__":
    main()
