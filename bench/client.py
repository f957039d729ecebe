"""The one HTTP client every peer is measured with: raw asyncio sockets, no parsing on the hot path.

A response is complete when its chunked body ends with the terminal chunk; events are
checked once per peer with the lesson's own parser (``verify_events``), not while timing.
"""

from __future__ import annotations

import asyncio
import socket
import time

import httpx

from lesson_app.wire import Event, parse_events

END_OF_BODY = b"\r\n0\r\n\r\n"
OK = b"HTTP/1.1 200"


def request_bytes(host: str, port: int, path: str, *, close: bool = False) -> bytes:
    connection = "close" if close else "keep-alive"
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\nConnection: {connection}\r\n\r\n".encode()


class KeepAliveStream(asyncio.Protocol):
    """One keep-alive connection that runs whole streaming requests, one after another."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.done: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.buffer.endswith(END_OF_BODY) and self.done is not None and not self.done.done():
            self.done.set_result(bytes(self.buffer))
            self.buffer.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("the server closed the connection mid-response"))

    def fetch(self, request: bytes) -> "asyncio.Future[bytes]":
        self.done = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(request)
        return self.done


async def open_stream(host: str, port: int) -> KeepAliveStream:
    _, protocol = await asyncio.get_running_loop().create_connection(KeepAliveStream, host, port)
    return protocol


async def whole_streams(host: str, port: int, path: str, clients: int, seconds: float) -> tuple[int, float]:
    """``clients`` keep-alive connections fetch ``path`` back to back for ``seconds``: (streams, elapsed)."""
    request = request_bytes(host, port, path)
    deadline = time.perf_counter() + seconds
    completed = 0

    async def client() -> None:
        nonlocal completed
        stream = await open_stream(host, port)
        try:
            while time.perf_counter() < deadline:
                body = await stream.fetch(request)
                if not body.startswith(OK):
                    raise RuntimeError(f"{path}: {body[:80]!r}")
                completed += 1
        finally:
            assert stream.transport is not None
            stream.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return completed, time.perf_counter() - started


async def long_streams(host: str, port: int, path: str, repeats: int) -> float:
    """Seconds to read ``path`` whole, ``repeats`` times in a row on one connection."""
    request = request_bytes(host, port, path)
    stream = await open_stream(host, port)
    try:
        started = time.perf_counter()
        for _ in range(repeats):
            body = await stream.fetch(request)
            if not body.startswith(OK):
                raise RuntimeError(f"{path}: {body[:80]!r}")
        return time.perf_counter() - started
    finally:
        assert stream.transport is not None
        stream.transport.close()


def first_event_seconds(host: str, port: int, path: str, timeout: float = 10.0) -> float:
    """Connect, ask for ``path``, and time until the first whole event has arrived."""
    request = request_bytes(host, port, path, close=True)
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{path}: the stream ended before its first event")
            received += chunk
            data_at = received.find(b"\ndata:")
            if data_at != -1 and (received.find(b"\n\n", data_at) != -1 or received.find(b"\r\n\r\n", data_at) != -1):
                elapsed = time.perf_counter() - started
                if not received.startswith(OK):
                    raise RuntimeError(f"{path}: {received[:80]!r}")
                return elapsed


def verify_events(base_url: str, path: str) -> list[Event]:
    """The stream's events, parsed the way a browser would, for comparing peers."""
    with httpx.stream("GET", base_url + path, timeout=30) as response:
        response.raise_for_status()
        return parse_events(b"".join(response.iter_raw()))
