"""``BackgroundServer`` keeps its promises: ready on return, one per app, a quick and clean stop."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from sse_starlette.sse import AppStatus
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

from lesson_app import create_app
from lesson_app.server import BackgroundServer, ServerStartError
from lesson_app.wire import Event, EventParser
from tests.conftest import REQUEST_TIMEOUT, get_stats, read_events, wait_for

pytestmark = pytest.mark.timeout(90)


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_start_returns_once_it_accepts_connections() -> None:
    app = create_app(time_scale=0)
    durations = []
    for _ in range(10):
        started = time.perf_counter()
        server = BackgroundServer(app).start()
        durations.append(time.perf_counter() - started)
        try:
            # No retry, no sleep: the very first request must be served.
            response = httpx.get(f"{server.url}/tasks", timeout=REQUEST_TIMEOUT)
            assert response.status_code == 200
            assert server.running
        finally:
            server.stop()
    assert statistics.median(durations) < 0.5, durations


def test_url_names_loopback_and_the_bound_port() -> None:
    server = BackgroundServer(create_app(time_scale=0))
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - not started yet
    with server:
        assert server.port != 0
        assert server.url == f"http://127.0.0.1:{server.port}"
    assert not server.running


def test_port_in_use_raises_server_start_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ServerStartError, match="already in use"):
            BackgroundServer(create_app(time_scale=0), port=port).start()
        assert time.monotonic() - started < 3


def test_port_of_another_live_server_raises() -> None:
    with BackgroundServer(create_app(time_scale=0)) as first:
        second = BackgroundServer(create_app(time_scale=0), port=first.port)
        with pytest.raises(ServerStartError):
            second.start()
        assert not second.running
        assert httpx.get(f"{first.url}/tasks", timeout=REQUEST_TIMEOUT).status_code == 200


def test_starting_again_for_the_same_app_stops_the_previous_server() -> None:
    app = create_app(time_scale=0)
    first = BackgroundServer(app).start()
    second = BackgroundServer(app).start()
    try:
        assert not first.running
        assert not accepts_connections(first.port)
        assert second.running
        assert read_events(f"{second.url}/stream/countdown/1")[-1].event == "complete"
        live = [t for t in threading.enumerate() if t.name.startswith("uvicorn:")]
        assert [t.name for t in live] == [f"uvicorn:{second.port}"]
    finally:
        second.stop()


def test_servers_for_different_apps_coexist() -> None:
    with BackgroundServer(create_app(time_scale=0)) as one, BackgroundServer(create_app(time_scale=0)) as two:
        assert one.running and two.running
        assert one.port != two.port


def test_start_stop_cycles_leak_no_threads() -> None:
    app = create_app(time_scale=0)
    BackgroundServer(app).start().stop()  # warm-up: anything created once, lazily
    before = {t.ident for t in threading.enumerate()}
    for i in range(15):
        server = BackgroundServer(app).start()
        if i % 3 == 0:
            read_events(f"{server.url}/stream/countdown/1")
        if i % 2:  # half the cycles leave it to the next start() to stop the old server
            server.stop()
    server.stop()
    leaked = [t for t in threading.enumerate() if t.ident not in before]
    assert leaked == []


def test_start_twice_is_harmless() -> None:
    with BackgroundServer(create_app(time_scale=0)) as server:
        port = server.port
        assert server.start() is server
        assert server.port == port
        assert [t.name for t in threading.enumerate() if t.name == f"uvicorn:{port}"] == [f"uvicorn:{port}"]


def test_stop_twice_and_stop_before_start_are_harmless() -> None:
    server = BackgroundServer(create_app(time_scale=0))
    server.stop()
    server.start()
    server.stop()
    server.stop()
    assert not server.running


def test_a_stopped_server_starts_again() -> None:
    server = BackgroundServer(create_app(time_scale=0))
    for _ in range(3):
        with server:
            assert read_events(f"{server.url}/tasks/stream")[-1].event == "complete"


@dataclass
class StreamReader:
    """Reads one stream on its own thread and records how it ended."""

    url: str
    events: list[Event] = field(default_factory=list)
    error: BaseException | None = None
    first_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> "StreamReader":
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self) -> None:
        parser = EventParser()
        try:
            with httpx.stream("GET", self.url, timeout=REQUEST_TIMEOUT) as response:
                for chunk in response.iter_raw():
                    self.events.extend(parser.feed(chunk))
                    if self.events:
                        self.first_event.set()
        except BaseException as exc:  # recorded, asserted on by the test
            self.error = exc
        finally:
            self.first_event.set()


def test_stop_ends_twenty_open_streams_quickly_and_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="uvicorn.error")
    app = create_app(time_scale=1)
    server = BackgroundServer(app).start()
    paths = ["/stream/countdown/60", "/tasks/monitor?ids=1,2", "/stream/system", "/tasks/stream"]
    readers = [StreamReader(f"{server.url}{paths[i % len(paths)]}").start() for i in range(20)]
    for reader in readers:
        assert reader.first_event.wait(10)
    assert wait_for(lambda: app.state.tracker.active_streams == 20, timeout=5)
    assert app.state.hub.subscriber_count == 5

    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3

    for reader in readers:
        assert reader.thread is not None
        reader.thread.join(5)
        assert not reader.thread.is_alive(), "a client stream never ended"
        assert reader.error is None, repr(reader.error)
        assert reader.events, "no event before the stop"
    # Every generator's cleanup ran: read straight from the app, the server is gone.
    assert app.state.tracker.active_streams == 0
    assert app.state.tracker.disconnected == 20
    assert app.state.hub.subscriber_count == 0
    assert not accepts_connections(server.port)

    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]
    assert AppStatus.should_exit is False

    with BackgroundServer(app) as again:
        assert read_events(f"{again.url}/stream/countdown/2", timeout=10)[-1] == Event(
            "complete", '{"message": "Countdown finished!"}', id="0", retry=2000
        )
        assert get_stats(again)["active_streams"] == 0


def test_stop_closes_open_websockets_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    app = FastAPI()
    cleaned: list[bool] = []

    @app.websocket("/ws")
    async def endless(socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                await socket.send_text("tick")
                await asyncio.sleep(0.05)
        finally:
            cleaned.append(True)

    async def scenario() -> int | None:
        server = BackgroundServer(app).start()
        async with connect(server.url.replace("http://", "ws://") + "/ws", open_timeout=5) as client:
            assert await asyncio.wait_for(client.recv(), 5) == "tick"
            started = time.perf_counter()
            await asyncio.to_thread(server.stop)
            assert time.perf_counter() - started < 3
            with pytest.raises(ConnectionClosedOK):
                while True:
                    await asyncio.wait_for(client.recv(), 5)
            return client.close_code

    assert asyncio.run(scenario()) == 1001
    assert cleaned == [True]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_stop_is_quick_without_streams() -> None:
    server = BackgroundServer(create_app(time_scale=0)).start()
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3


def test_context_manager_starts_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    app = create_app(time_scale=0)
    with BackgroundServer(app) as server:
        assert server.running
        port = server.port
        assert read_events(f"{server.url}/stream/countdown/3")[-1].event == "complete"
    assert not server.running
    assert not accepts_connections(port)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_context_manager_stops_on_error() -> None:
    app = create_app(time_scale=0)
    with pytest.raises(ZeroDivisionError):
        with BackgroundServer(app) as server:
            port = server.port
            1 / 0  # noqa: B018
    assert not server.running
    assert not accepts_connections(port)


def test_default_app_is_the_module_app() -> None:
    from lesson_app.main import app

    with BackgroundServer() as server:
        assert server.app is app
        assert httpx.get(f"{server.url}/tasks", timeout=REQUEST_TIMEOUT).status_code == 200


# --- inside a Jupyter kernel, whose main thread already runs an event loop ---------------------

KERNEL_CELLS = [
    # 0: setup
    "import json, threading\n"
    "import httpx\n"
    "from lesson_app import create_app\n"
    "from lesson_app.server import BackgroundServer\n"
    "from lesson_app.wire import aiter_events\n"
    "app = create_app(time_scale=0)",
    # 1: the start cell, run twice
    "server = BackgroundServer(app).start()\nprint(server.url)",
    # 2: read a stream with top-level await
    "async with httpx.AsyncClient(timeout=10) as client:\n"
    "    async with client.stream('GET', f'{server.url}/stream/countdown/3') as response:\n"
    "        events = [[e.event, e.data, e.id] async for e in aiter_events(response.aiter_raw())]\n"
    "print(json.dumps(events))",
    # 3: remember the first server before re-running the start cell
    "first = server",
    # 4: after the re-run: one live server, and it streams
    "from lesson_app.watch import ashow_stream\n"
    "events = await ashow_stream(f'{server.url}/tasks/stream', quiet=True)\n"
    "uvicorn_threads = [t.name for t in threading.enumerate() if t.name.startswith('uvicorn:')]\n"
    "print(json.dumps({'first_running': first.running, 'running': server.running, 'same': first is server,\n"
    "                  'threads': len(uvicorn_threads), 'events': [e.event for e in events]}))",
    # 5: stop
    "server.stop()\n"
    "print(json.dumps({'running': server.running,\n"
    "                  'threads': sum(t.name.startswith('uvicorn:') for t in threading.enumerate()),\n"
    "                  'active': app.state.tracker.active_streams}))",
]


def cell_text(cell: object) -> str:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors == [], errors
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.timeout(120)
def test_works_inside_a_jupyter_kernel() -> None:
    import json
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    repo = Path(__file__).resolve().parents[1]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in KERNEL_CELLS]
    client = NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(repo)}})
    outputs: dict[str, str] = {}
    with client.setup_kernel():
        for step, index in [("setup", 0), ("start", 1), ("read", 2), ("remember", 3), ("restart", 1), ("after", 4), ("stop", 5)]:
            client.execute_cell(notebook.cells[index], index)
            outputs[step] = cell_text(notebook.cells[index])

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+\n", outputs["restart"])
    assert json.loads(outputs["read"]) == [
        ["tick", '{"remaining": 3}', "3"],
        ["tick", '{"remaining": 2}', "2"],
        ["tick", '{"remaining": 1}', "1"],
        ["complete", '{"message": "Countdown finished!"}', "0"],
    ]
    assert json.loads(outputs["after"]) == {
        "first_running": False,
        "running": True,
        "same": False,
        "threads": 1,
        "events": ["task_update"] * 5 + ["complete"],
    }
    assert json.loads(outputs["stop"]) == {"running": False, "threads": 0, "active": 0}
