"""Serve an ASGI app from a background thread of the current process.

Made for Jupyter kernels, whose main thread already runs an event loop::

    server = BackgroundServer(app).start()
    server.url   # "http://127.0.0.1:PORT"
    server.stop()

``stop()`` ends every open response itself, so stopping never waits on a
stream that would otherwise run forever, and it sets no process-wide flag.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import threading
import time
import weakref
from typing import Any

import anyio
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("lesson_app.server")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
TICK = 0.1  # uvicorn's tick: the date header and the exit flag are looked at this often
POLL = 0.005  # how often a stopping server looks whether its connections are gone


class ServerStartError(RuntimeError):
    """The server could not start: the port is taken, or the app failed at startup."""


class _StoppableApp:
    """Wraps an app so every in-flight HTTP response or WebSocket can be ended on demand.

    Ending a response cancels its handler (a stream's generator gets
    ``CancelledError`` and its cleanup runs), then completes the HTTP
    message, so the client sees the stream end normally.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.closing = False
        self._scopes: set[anyio.CancelScope] = set()

    @property
    def in_flight(self) -> int:
        return len(self._scopes)

    def end_all(self) -> None:
        """Must run on the server's event loop."""
        self.closing = True
        for scope in list(self._scopes):
            scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = {"started": False, "complete": False}

        async def tracking_send(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.accept"):
                state["started"] = True
            elif kind == "websocket.close" or (kind == "http.response.body" and not message.get("more_body", False)):
                state["complete"] = True
            await send(message)

        with anyio.CancelScope() as cancel_scope:
            if self.closing:
                cancel_scope.cancel()
            self._scopes.add(cancel_scope)
            try:
                await self.app(scope, receive, tracking_send)
            finally:
                self._scopes.discard(cancel_scope)

        if cancel_scope.cancelled_caught and not state["complete"]:
            try:
                for message in self._farewell(scope["type"], started=state["started"]):
                    await send(message)
            except OSError:
                pass  # the client is gone already

    @staticmethod
    def _farewell(kind: str, started: bool) -> list[Message]:
        """The messages that end a response cut short by ``end_all``."""
        if kind == "websocket":
            return [{"type": "websocket.close", "code": 1001, "reason": "server is stopping"}]
        if started:
            return [{"type": "http.response.body", "body": b"", "more_body": False}]
        return [
            {"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"text/plain")]},
            {"type": "http.response.body", "body": b"server is stopping"},
        ]


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that never touches signal handlers (it is not the main thread)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.failure: BaseException | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self._serve(sockets)

    def wake(self) -> None:
        """Must run on the server's loop: have ``main_loop`` look at ``should_exit`` now, not at its next tick."""
        self._wake.set()

    async def main_loop(self) -> None:
        # uvicorn's loop, except that ``wake`` ends the 0.1 s wait between ticks early.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            try:
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's shutdown, polling every few milliseconds instead of sleeping 0.1 s at a time.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await self._poll(lambda: not self.server_state.connections, TICK)
        try:
            await asyncio.wait_for(self._wait_tasks_to_complete(), timeout=self.config.timeout_graceful_shutdown)
        except asyncio.TimeoutError:
            logger.error("cancelling %s task(s): graceful shutdown took too long", len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _wait_tasks_to_complete(self) -> None:
        await self._poll(lambda: self.force_exit or not self.server_state.connections)
        await self._poll(lambda: self.force_exit or not self.server_state.tasks)
        for server in self.servers:
            await server.wait_closed()

    @staticmethod
    async def _poll(done: Any, limit: float | None = None) -> None:
        """Wait until ``done()`` (or ``limit`` seconds), looking every ``POLL`` seconds."""
        deadline = None if limit is None else time.monotonic() + limit
        while not done() and (deadline is None or time.monotonic() < deadline):
            await asyncio.sleep(POLL)


_live: "weakref.WeakKeyDictionary[Any, BackgroundServer]" = weakref.WeakKeyDictionary()
_live_lock = threading.Lock()


def _default_app() -> ASGIApp:
    from lesson_app.main import app

    return app


class BackgroundServer:
    """Run ``app`` with uvicorn on a daemon thread; usable as a context manager.

    Starting a server for an app that already has a live one stops the old
    one first, so re-running a notebook cell never leaves two behind.
    """

    def __init__(
        self,
        app: ASGIApp | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        uds: str | None = None,
        log_level: str = "warning",
    ) -> None:
        self.app = app if app is not None else _default_app()
        self.host = host
        self.port = port
        self.uds = uds
        self.log_level = log_level
        self._stoppable = _StoppableApp(self.app)
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; with ``uds``, ``http://localhost`` (reach it through the socket)."""
        if self._socket is None:
            raise RuntimeError("the server is not running: call start() first")
        if self.uds is not None:
            return "http://localhost"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and bool(self._server and self._server.started)

    @property
    def open_responses(self) -> int:
        """HTTP responses in flight right now, streams included."""
        return self._stoppable.in_flight

    @property
    def thread_name(self) -> str:
        """The name of the thread serving (also the name its log records carry)."""
        return f"uvicorn:{self.uds}" if self.uds is not None else f"uvicorn:{self.port}"

    def _bind(self) -> socket.socket:
        if self.uds is not None:
            return self._bind_unix(self.uds)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise ServerStartError(
                    f"port {self.port} on {self.host} is already in use; "
                    "stop the other server or use port=0 for a free port"
                ) from None
            raise ServerStartError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        sock.listen(2048)
        sock.setblocking(False)
        return sock

    @staticmethod
    def _bind_unix(path: str) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise ServerStartError(f"cannot listen on the Unix socket {path}: {exc.strerror}") from exc
        sock.listen(2048)
        sock.setblocking(False)
        return sock

    def start(self, timeout: float = START_TIMEOUT) -> "BackgroundServer":
        """Start serving; return once the server accepts connections."""
        if self.running:
            return self
        with _live_lock:
            previous = _live.get(self.app)
        if previous is not None and previous is not self:
            previous.stop()

        self._stoppable = _StoppableApp(self.app)
        self._socket = self._bind()
        if self.uds is None:
            self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self._stoppable,
            log_level=self.log_level,
            log_config=None,
            access_log=False,
            lifespan="auto",
            timeout_graceful_shutdown=STOP_TIMEOUT,
            ws="auto",
        )
        self._server = server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                self._cleanup_socket()
                reason = server.failure or "the app failed during startup"
                raise ServerStartError(f"server on {self.host}:{self.port} did not start: {reason}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"server on {self.host}:{self.port} did not start within {timeout:.0f} s")
            time.sleep(0.002)
        with _live_lock:
            _live[self.app] = self
        return self

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
                runner.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # SystemExit from uvicorn on a failed startup
            self._server.failure = exc

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End every open response, shut the server down and join its thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        loop = server.loop
        if thread.is_alive() and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stoppable.end_all)
            except RuntimeError:
                pass  # the loop closed in between
            server.should_exit = True
            try:
                loop.call_soon_threadsafe(server.wake)
            except RuntimeError:
                pass
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        self._cleanup_socket()
        self._server = None
        self._thread = None
        with _live_lock:
            if _live.get(self.app) is self:
                del _live[self.app]

    def _cleanup_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            if self.uds is not None:
                try:
                    os.unlink(self.uds)
                except OSError:
                    pass

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.url}" if self.running else "stopped"
        return f"<BackgroundServer {state}>"
