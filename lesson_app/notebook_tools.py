"""Small tools the notebooks share: the server's errors, waiting for a condition, a byte-counting relay,
and a headless Chromium for cells that show what a real browser does.

They used to be pasted into several notebooks; here they have one name each::

    from lesson_app.notebook_tools import ServerErrors, wait_until, fetch_stats, CountingRelay
    from lesson_app.notebook_tools import HeadlessChromium, chromium_available
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

UVICORN_ERRORS = "uvicorn.error"


class ServerErrors(logging.Handler):
    """Collects what the notebook's servers log as errors, so a cell can print it.

    Use it as a context manager (``with ServerErrors() as errors: ...``) or call
    ``install()`` and ``remove()``. Each message is ``"ExceptionType: message"``,
    with the exception's cause when it has one.
    """

    def __init__(self, logger_name: str = UVICORN_ERRORS) -> None:
        super().__init__()
        self.logger = logging.getLogger(logger_name)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            self.messages.append(record.getMessage())
            return
        message = f"{type(error).__name__}: {error}"
        if error.__cause__ is not None:
            message += f"  (caused by {type(error.__cause__).__name__}: {error.__cause__})"
        self.messages.append(message)

    def install(self) -> "ServerErrors":
        self.logger.addHandler(self)
        return self

    def remove(self) -> None:
        self.logger.removeHandler(self)

    def __enter__(self) -> "ServerErrors":
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> float:
    """Poll ``condition()`` until it is true; return the seconds it took. ``TimeoutError`` after ``timeout``."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout:g} s")
        time.sleep(interval)
    return time.perf_counter() - started


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """True once an HTTP server answers at ``url`` (any status), False while nothing listens."""
    try:
        httpx.get(url, timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def fetch_stats(base_url: str) -> dict[str, Any]:
    """The lesson app's ``GET /stats``: streams open now and how past streams ended."""
    response = httpx.get(f"{base_url}/stats", timeout=5.0)
    response.raise_for_status()
    return response.json()


class CountingRelay:
    """A TCP relay on 127.0.0.1 in front of a server, counting the connections and the bytes each way.

    ``sent`` counts client-to-server bytes, ``received`` server-to-client bytes::

        async with CountingRelay(port) as relay:
            ... read from relay.base instead of the server's own URL ...
        relay.connections, relay.sent, relay.received
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.sent = self.received = self.connections = 0
        self.base = ""
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> "CountingRelay":
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        if self._handlers:
            await asyncio.wait_for(asyncio.gather(*self._handlers, return_exceptions=True), timeout=5)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer, "sent"),
            self._pipe(server_reader, client_writer, "received"),
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        try:
            while data := await reader.read(65536):
                setattr(self, direction, getattr(self, direction) + len(data))
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")


def chromium_available() -> bool:
    """True when Debian's Chromium and the ``playwright`` package are both installed.

    False while the grader runs the notebook: its sandbox has no use for a browser in "try it"
    cells, and the browser checks run the student's code in the grader's own Chromium.
    """
    import importlib.util
    import os

    from lesson_app.grading.core import BATCH_ENV

    if os.environ.get(BATCH_ENV) == "1":
        return False
    return os.path.exists(CHROMIUM) and importlib.util.find_spec("playwright") is not None


class HeadlessChromium:
    """A real, headless Chromium driven by Playwright, for cells that show what a browser does.

    A script runs in a page of the server's own origin and records what it saw in ``window.seen``::

        async with HeadlessChromium() as chromium:
            seen = await chromium.run(f"{url}/openapi.json", "window.seen = []; ...", seconds=1.0)

    Any page of the server's own address will do: the script's relative URLs then need no CORS.

    ``run`` waits ``seconds``, or less when the script sets ``window.done = true``, then
    closes the page (and with it every EventSource it opened) and returns ``window.seen``.
    """

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.executable = executable
        self._playwright: Any = None
        self._browser: Any = None

    async def __aenter__(self) -> "HeadlessChromium":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> "HeadlessChromium":
        """Launch the browser; for a notebook that keeps it open over several cells (then call ``stop()``)."""
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, args=list(CHROMIUM_ARGS)
            )
        except BaseException:
            await self._playwright.stop()
            raise
        return self

    async def stop(self) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
        finally:
            if self._playwright is not None:
                await self._playwright.stop()
            self._browser = self._playwright = None

    async def run(self, page_url: str, script: str, seconds: float = 1.0) -> Any:
        """Open ``page_url``, run ``script`` in it, and return ``window.seen`` after ``seconds`` (or ``window.done``)."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        page = await self._browser.new_page()
        try:
            await page.goto(page_url, wait_until="domcontentloaded")
            await page.evaluate("() => {\n" + script + "\n}")  # a function body: its last value is not called
            try:
                await page.wait_for_function("window.done === true", timeout=seconds * 1000)
            except PlaywrightTimeout:
                pass
            return await page.evaluate("window.seen")
        finally:
            await page.close()
