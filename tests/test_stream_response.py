"""What every lesson stream gets from ``lesson_stream``, byte for byte on the wire.

The exact bytes and headers, the count in ``/stats``, a crash turned into an ``error``
event, heartbeat comments at the interval, a leaving client noticed and its generator
cleaned up, a clean end that leaves the connection reusable, and streams ended when
uvicorn is told to stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sse_starlette import ServerSentEvent
from sse_starlette.event import ensure_bytes

from lesson_app import create_app
from lesson_app.cors import add_vary_origin
from lesson_app.server import BackgroundServer
from lesson_app.sse_response import encode_event, lesson_stream
from lesson_app.wire import Event, EventParser, parse_events
from tests.conftest import REQUEST_TIMEOUT, get_stats, read_events, wait_for

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent
TERMINAL_CHUNK = b"0\r\n\r\n"
TASK_STREAM_BODY = (
    b'event: task_update\r\ndata: {"task_id": 1, "status": "processing", "progress": 20}\r\n\r\n'
    b'event: task_update\r\ndata: {"task_id": 2, "status": "processing", "progress": 40}\r\n\r\n'
    b'event: task_update\r\ndata: {"task_id": 3, "status": "processing", "progress": 60}\r\n\r\n'
    b'event: task_update\r\ndata: {"task_id": 4, "status": "processing", "progress": 80}\r\n\r\n'
    b'event: task_update\r\ndata: {"task_id": 5, "status": "processing", "progress": 100}\r\n\r\n'
    b'event: complete\r\ndata: {"message": "All tasks processed"}\r\n\r\n'
)
STREAM_HEADERS = [
    ("server", "uvicorn"),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
    ("connection", "keep-alive"),
    ("content-type", "text/event-stream; charset=utf-8"),
    ("vary", "Origin"),
    ("transfer-encoding", "chunked"),
]
PING = re.compile(rb": ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00\r\n\r\n")


# --- a raw HTTP/1.1 client: the bytes exactly as sent --------------------------------------


class RawConnection:
    """One keep-alive socket; reads whole chunked responses and keeps their bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
        self.pending = b""

    def close(self) -> None:
        self.sock.close()

    def request(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.pending += chunk

    def head(self) -> tuple[str, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        status, *lines = head.decode().split("\r\n")
        return status, [(name.lower(), value) for name, value in (line.split(": ", 1) for line in lines)]

    def chunks(self) -> Iterator[bytes]:
        """The body's chunks as they arrive, until the terminal chunk, after the opening comment.

        Every lesson stream opens with one heartbeat comment, sent with the headers, so a
        proxy that holds the headers until the first body bytes releases them at once.
        """
        raw = self._raw_chunks()
        opening = next(raw, None)
        assert opening is not None and PING.fullmatch(opening), f"no opening comment: {opening!r}"
        yield from raw

    def _raw_chunks(self) -> Iterator[bytes]:
        while True:
            while b"\r\n" not in self.pending:
                self._more()
            size_line, rest = self.pending.split(b"\r\n", 1)
            size = int(size_line, 16)
            while len(rest) < size + 2:
                self._more()
                rest = self.pending.split(b"\r\n", 1)[1]
            assert rest[size : size + 2] == b"\r\n", rest[: size + 2]
            self.pending = rest[size + 2 :]
            if size == 0:
                return
            yield rest[:size]

    def response(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        self.request(path, headers)
        status, response_headers = self.head()
        return status, without_date(response_headers), list(self.chunks())


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "date"]


# --- an app with streams made for these checks ---------------------------------------------


class Probe:
    """What the test streams' generators did, seen from the test's thread."""

    def __init__(self) -> None:
        self.cleaned_up = threading.Event()
        self.started = threading.Event()


def probe_app(probe: Probe, **kwargs: Any) -> FastAPI:
    app = create_app(**kwargs)

    @app.get("/lab/crashy")
    async def crashy(request: Request) -> Any:
        async def steps() -> AsyncIterator[dict[str, str]]:
            try:
                for i in range(2):
                    yield {"event": "step", "data": json.dumps({"step": i})}
                    await request.app.state.pace.sleep(0.1)
                raise RuntimeError("disk full")
            finally:
                probe.cleaned_up.set()

        return lesson_stream(request, steps())

    @app.get("/lab/crash-at-once")
    async def crash_at_once(request: Request) -> Any:
        async def nothing() -> AsyncIterator[dict[str, str]]:
            raise LookupError()
            yield {}  # pragma: no cover - makes this an async generator

        return lesson_stream(request, nothing())

    @app.get("/lab/idle")
    async def idle(request: Request) -> Any:
        async def wait_forever() -> AsyncIterator[dict[str, str]]:
            try:
                yield {"event": "hello", "data": "waiting"}
                probe.started.set()
                await asyncio.Event().wait()
            finally:
                probe.cleaned_up.set()

        return lesson_stream(request, wait_forever())

    return app


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def probe_server(probe: Probe) -> Iterator[BackgroundServer]:
    with BackgroundServer(probe_app(probe, time_scale=0, heartbeat=15)) as server:
        yield server


# --- the bytes --------------------------------------------------------------------------------


def test_task_stream_bytes_and_headers_exactly(probe_server: BackgroundServer) -> None:
    connection = RawConnection(probe_server.port)
    try:
        status, headers, chunks = connection.response("/tasks/stream")
        assert status == "HTTP/1.1 200 OK"
        assert headers == STREAM_HEADERS
        assert b"".join(chunks) == TASK_STREAM_BODY
        assert len(chunks) == 6  # one chunk per event: nothing is held back
        # A clean end: the same connection serves the next stream.
        assert connection.response("/tasks/stream")[1:] == (STREAM_HEADERS, chunks)
    finally:
        connection.close()


def test_countdown_bytes_start_with_retry(probe_server: BackgroundServer) -> None:
    connection = RawConnection(probe_server.port)
    try:
        _, _, chunks = connection.response("/stream/countdown/1")
    finally:
        connection.close()
    assert chunks == [
        b"retry: 2000\r\n\r\n",
        b'id: 1\r\nevent: tick\r\ndata: {"remaining": 1}\r\n\r\n',
        b'id: 0\r\nevent: complete\r\ndata: {"message": "Countdown finished!"}\r\n\r\n',
    ]


@pytest.mark.parametrize(
    "event",
    [
        {"event": "tick", "data": '{"remaining": 1}'},
        {"data": '{"step": 0}', "event": "step"},
        {"event": "", "data": ""},
        {"event": "note", "data": "two\nlines"},
        {"event": "note", "data": "cr\rcrlf\r\nend"},
        {"event": "bad\nname", "data": "x"},
        {"event": "é", "data": "naïve ☃"},
        {"event": "tick", "data": 5},
        {"event": None, "data": "x"},
        {"event": "tick", "id": "3", "data": "x"},
        {"event": "tick", "sep": "\n"},
        {"data": "only data"},
        {"retry": 1500},
        {"event": "tick", "data": {"a": 1}},
        ServerSentEvent(data="x", event="y", id="1"),
        ServerSentEvent(comment="hello"),
        b"event: raw\r\ndata: bytes\r\n\r\n",
        "plain text",
        42,
    ],
)
@pytest.mark.parametrize("sep", ["\r\n", "\n", "\r"])
def test_encode_event_gives_sse_starlettes_bytes(event: Any, sep: str) -> None:
    assert encode_event(event, sep) == ensure_bytes(event, sep)


@pytest.mark.parametrize(
    ("origin", "extra"),
    [
        ("http://localhost:8888", [("access-control-allow-origin", "http://localhost:8888")]),
        ("http://evil.example", []),
    ],
)
def test_cors_headers_on_a_stream(probe_server: BackgroundServer, origin: str, extra: list[tuple[str, str]]) -> None:
    connection = RawConnection(probe_server.port)
    try:
        _, headers, chunks = connection.response("/tasks/stream", {"Origin": origin})
    finally:
        connection.close()
    assert headers == [*STREAM_HEADERS[:5], *extra, *STREAM_HEADERS[5:]]
    assert b"".join(chunks) == TASK_STREAM_BODY


@pytest.mark.parametrize("origin", [None, "http://localhost:8888", "http://evil.example"])
def test_vary_on_plain_json_and_errors(probe_server: BackgroundServer, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    for path, status in (("/tasks", 200), ("/tasks/99", 404), ("/stream/countdown/0", 400), ("/nowhere", 404)):
        response = httpx.get(f"{probe_server.url}{path}", headers=headers, timeout=REQUEST_TIMEOUT)
        assert response.status_code == status, path
        assert response.headers.get_list("vary") == ["Origin"], path


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"content-type", b"text/plain")], [(b"content-type", b"text/plain"), (b"vary", b"Origin")]),
        ([(b"vary", b"Accept-Encoding"), (b"x", b"1")], [(b"vary", b"Accept-Encoding, Origin"), (b"x", b"1")]),
        ([], [(b"vary", b"Origin")]),
    ],
)
def test_vary_origin_is_added_as_starlette_adds_it(
    headers: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]
) -> None:
    message = {"type": "http.response.start", "status": 200, "headers": list(headers)}
    add_vary_origin(message)
    assert message["headers"] == expected


# --- the error guard --------------------------------------------------------------------------


def test_a_crash_mid_stream_becomes_an_error_event(
    probe: Probe, probe_server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    connection = RawConnection(probe_server.port)
    with caplog.at_level(logging.WARNING, logger="lesson_app"):
        try:
            status, _, chunks = connection.response("/lab/crashy")
            assert status == "HTTP/1.1 200 OK"
            assert connection.response("/tasks/stream")[2] != []  # ended cleanly: the connection is reusable
        finally:
            connection.close()
    assert chunks == [
        b'event: step\r\ndata: {"step": 0}\r\n\r\n',
        b'event: step\r\ndata: {"step": 1}\r\n\r\n',
        b'event: error\r\ndata: {"error": "disk full"}\r\n\r\n',
    ]
    assert probe.cleaned_up.is_set()
    stats = get_stats(probe_server)
    assert (stats["active_streams"], stats["streams_failed"], stats["streams_completed"]) == (0, 1, 1)
    assert stats["opened_by_path"] == {"/lab/crashy": 1, "/tasks/stream": 1}
    assert any("stream /lab/crashy failed" in record.getMessage() for record in caplog.records), caplog.records


def test_a_crash_before_any_event_names_the_exception(probe_server: BackgroundServer) -> None:
    assert read_events(f"{probe_server.url}/lab/crash-at-once") == [Event("error", '{"error": "LookupError"}')]
    assert get_stats(probe_server)["streams_failed"] == 1


# --- a client that leaves ----------------------------------------------------------------------


def test_a_leaving_client_is_noticed_without_waiting_for_a_heartbeat(
    probe: Probe, probe_server: BackgroundServer
) -> None:
    connection = RawConnection(probe_server.port)
    connection.request("/lab/idle")
    assert connection.head()[0] == "HTTP/1.1 200 OK"
    assert next(connection.chunks()) == b"event: hello\r\ndata: waiting\r\n\r\n"
    assert probe.started.wait(5)
    assert get_stats(probe_server)["active_streams"] == 1
    connection.close()
    left_at = time.monotonic()
    assert probe.cleaned_up.wait(5), "the generator's cleanup never ran"
    assert time.monotonic() - left_at < 3  # heartbeat is 15 s: the disconnect itself was noticed
    assert wait_for(lambda: get_stats(probe_server)["active_streams"] == 0, timeout=3)
    stats = get_stats(probe_server)
    assert (stats["streams_disconnected"], stats["streams_completed"], stats["streams_failed"]) == (1, 0, 0)


# --- heartbeats --------------------------------------------------------------------------------


def test_heartbeats_come_at_the_interval(probe: Probe) -> None:
    interval = 0.4
    with BackgroundServer(probe_app(probe, time_scale=1, heartbeat=interval)) as server:
        connection = RawConnection(server.port)
        try:
            connection.request("/lab/idle")
            connection.head()
            chunks = connection.chunks()
            assert next(chunks) == b"event: hello\r\ndata: waiting\r\n\r\n"
            opened = time.monotonic()
            arrivals = []
            for _ in range(4):
                assert PING.fullmatch(next(chunks))
                arrivals.append(time.monotonic() - opened)
        finally:
            connection.close()
    assert 0.5 * interval < arrivals[0] < 4 * interval, arrivals  # not at once: after one interval
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert all(0.5 * interval < gap < 4 * interval for gap in gaps), gaps
    assert probe.cleaned_up.wait(5)


def test_heartbeats_between_events_leave_the_events_whole(probe: Probe) -> None:
    with BackgroundServer(probe_app(probe, time_scale=0.3, heartbeat=0.1)) as server:
        connection = RawConnection(server.port)
        try:
            status, headers, chunks = connection.response("/tasks/stream")
            # The stream ended cleanly: no ping after the terminal chunk, the next response parses.
            assert connection.response("/tasks/1/progress")[0] == "HTTP/1.1 200 OK"
        finally:
            connection.close()
        stats = get_stats(server)
    pings = [chunk for chunk in chunks if chunk.startswith(b":")]
    assert len(pings) >= 3, chunks
    assert all(PING.fullmatch(ping) for ping in pings)
    assert b"".join(chunk for chunk in chunks if not chunk.startswith(b":")) == TASK_STREAM_BODY
    assert parse_events(b"".join(chunks)) == parse_events(TASK_STREAM_BODY)
    assert (stats["streams_completed"], stats["active_streams"]) == (2, 0)


# --- a server told to stop ---------------------------------------------------------------------


def test_uvicorn_stopping_ends_open_streams() -> None:
    """SIGTERM to ``uvicorn lesson_app.main:app`` ends idle streams; the process exits promptly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "LESSON_TIME_SCALE": "1", "LESSON_HEARTBEAT": "15", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "uvicorn", "lesson_app.main:app", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        connections = [RawConnection(port) for _ in range(3)]
        for connection in connections:
            connection.request("/tasks/monitor?ids=1")
            assert connection.head()[0] == "HTTP/1.1 200 OK"
            assert next(connection.chunks()).startswith(b"event: snapshot\r\n")
        process.send_signal(signal.SIGTERM)
        told_at = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - told_at < 5  # the streams did not hold the server up
        for connection in connections:
            try:
                rest = list(connection.chunks())  # ends at the terminal chunk ...
            except ConnectionError:
                rest = []  # ... or when the server closes the socket
            assert all(PING.fullmatch(chunk) for chunk in rest), rest
            connection.close()
        assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
