"""Hold many idle streams open from a client process and count the heartbeats each one gets.

Runs in a child process (``multiprocessing``), driven over a pipe:
``ready`` once every stream has its first event, then ``window`` -> counts, then ``close``.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection

from bench.client import request_bytes
from bench.servers import raise_open_file_limit

CONNECT_CONCURRENCY = 100
FIRST_EVENT_TIMEOUT = 60.0


class HeldStream(asyncio.Protocol):
    """An open stream: notes its first event, then counts comment lines (heartbeats)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.first_event: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.last_byte = b""
        self.comments = 0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.comments += (self.last_byte + data).count(b"\n:")
        self.last_byte = data[-1:]
        if not self.first_event.done():
            self.head += data
            if b"\ndata:" in self.head:
                self.first_event.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.first_event.done():
            self.first_event.set_exception(ConnectionError("closed before the first event"))


async def _open(host: str, port: int, request: bytes, limit: asyncio.Semaphore) -> HeldStream | None:
    loop = asyncio.get_running_loop()
    async with limit:
        try:
            _, stream = await loop.create_connection(lambda: HeldStream(request), host, port)
            await asyncio.wait_for(asyncio.shield(stream.first_event), FIRST_EVENT_TIMEOUT)
            return stream
        except (OSError, asyncio.TimeoutError):
            return None


async def _hold(pipe: Connection, host: str, port: int, path: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    request = request_bytes(host, port, path)
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.perf_counter()
    opened = await asyncio.gather(*(_open(host, port, request, limit) for _ in range(count)))
    streams = [stream for stream in opened if stream is not None]
    pipe.send(("ready", len(streams), time.perf_counter() - started))
    while True:
        command, argument = await loop.run_in_executor(None, pipe.recv)
        if command == "window":
            for stream in streams:
                stream.comments = 0
            await asyncio.sleep(argument)
            counts = [0 if stream.lost else stream.comments for stream in streams]
            pipe.send(("counts", counts + [0] * (count - len(streams))))
        elif command == "close":
            for stream in streams:
                if stream.transport is not None:
                    stream.transport.close()
            await asyncio.sleep(0.1)
            pipe.send(("closed", None))
            return


def hold(pipe: Connection, host: str, port: int, path: str, count: int) -> None:
    """Entry point of a client process."""
    raise_open_file_limit()
    asyncio.run(_hold(pipe, host, port, path, count))
