"""Run a student's EventSource code in headless Chromium against a scripted stream, and record what happened.

The stream comes from ``replay_app``, a small app that replays the events of the
lesson's ``GET /tasks/{task_id}/process`` in a few scenarios and counts the
connections each one gets. The page loads the student's JavaScript, calls
``watchTask(url, log)`` and keeps every ``log(kind, data)`` call.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import os
import shutil
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from lesson_app.grading.core import CheckFailed

CHROMIUM_ENV = "LESSON_CHROMIUM"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
GAP = 0.05  # seconds between replayed events
RETRY_MS = 300  # what the replay tells EventSource to wait before it reconnects
SETTLE = 1.2  # seconds to watch for reconnects after a scenario's stream ends
SCENARIO_TIMEOUT = 4.0

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>watchTask</title>
<script>
window.__log = [];
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
function log(kind, data) { window.__log.push([String(kind), data === undefined ? null : data]); }
</script>
<script src="student.js"></script>
<script>
try {
  window.__source = watchTask(new URLSearchParams(location.search).get("url"), log);
} catch (error) {
  window.__errors.push(String(error));
}
</script>
"""

SCENARIOS = {
    "normal": "/tasks/1/process",
    "other_task": "/tasks/2/process",
    "server_error": "/scenario/server-error/tasks/1/process",
    "dropped": "/scenario/dropped/tasks/1/process",
}


def process_events(task_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The seed's ``/tasks/{task_id}/process`` events."""
    return [("start", {"task_id": task_id}), ("progress", {"percent": 50}), ("done", {"result": "success"})]


def replay_app(script: str) -> FastAPI:
    """The page with ``script`` as ``student.js``, and the scripted streams; ``app.state.connections`` counts per path."""
    app = FastAPI()
    app.state.connections = Counter()

    async def replay(events: list[tuple[str, dict[str, Any]]]) -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(comment="open", retry=RETRY_MS)
        for name, data in events:
            await asyncio.sleep(GAP)
            yield ServerSentEvent(event=name, data=json.dumps(data))

    def counted(request: Request) -> None:
        app.state.connections[request.url.path] += 1

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/student.js")
    async def student_js() -> Response:
        return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    @app.get("/tasks/{task_id}/process")
    async def process(task_id: int, request: Request) -> EventSourceResponse:
        counted(request)
        return EventSourceResponse(replay(process_events(task_id)))

    @app.get("/scenario/server-error/tasks/{task_id}/process")
    async def server_error(task_id: int, request: Request) -> EventSourceResponse:
        counted(request)
        return EventSourceResponse(replay([process_events(task_id)[0], ("error", {"error": "disk full"})]))

    @app.get("/scenario/dropped/tasks/{task_id}/process")
    async def dropped(task_id: int, request: Request) -> EventSourceResponse:
        counted(request)
        return EventSourceResponse(replay(process_events(task_id)[:1]))  # ends before done: a lost connection

    return app


@dataclass
class Run:
    """What one scenario showed: the page's log, uncaught errors, the source's readyState, connections seen."""

    log: list[list[Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ready_state: int | None = None
    connections: int = 0


def chromium() -> str:
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise CheckFailed(
            "these checks run your JavaScript in Chromium, which is not installed here "
            f"(set {CHROMIUM_ENV} to its path); the grader runs them for you"
        )
    return path


class BrowserService:
    """One headless Chromium, shared by every run in this process, driven from a thread of its own.

    Playwright's objects belong to the event loop that made them; checks run in
    threads of their own, so they hand their work to this loop instead.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._browser: Any = None
        self._playwright: Any = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="chromium", daemon=True).start()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    async def _browser_ready(self) -> Any:
        if self._browser is None or not self._browser.is_connected():
            from playwright.async_api import async_playwright

            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        return self._browser

    def start(self, timeout: float) -> None:
        """Launch the browser now."""
        asyncio.run_coroutine_threadsafe(self._browser_ready(), self._ensure_loop()).result(timeout)

    def run(self, script: str, timeout: float) -> dict[str, Run]:
        future = asyncio.run_coroutine_threadsafe(self._run(script), self._ensure_loop())
        return future.result(timeout)

    async def _run(self, script: str) -> dict[str, Run]:
        from lesson_app.server import BackgroundServer

        browser = await self._browser_ready()
        app = replay_app(script)
        server = await asyncio.to_thread(BackgroundServer(app).start)
        context = await browser.new_context()
        try:
            pages = {name: await context.new_page() for name in SCENARIOS}
            await asyncio.gather(*(page.goto(f"{server.url}/page?url={SCENARIOS[name]}") for name, page in pages.items()))
            await asyncio.gather(*(self._until_ended(page) for page in pages.values()))
            await asyncio.sleep(SETTLE)  # any reconnect happens now
            runs = {}
            for name, page in pages.items():
                state = await page.evaluate(
                    "() => ({log: window.__log, errors: window.__errors,"
                    " ready: window.__source && typeof window.__source.readyState === 'number'"
                    " ? window.__source.readyState : null})"
                )
                runs[name] = Run(state["log"], state["errors"], state["ready"], app.state.connections[SCENARIOS[name]])
            return runs
        finally:
            await context.close()
            await asyncio.to_thread(server.stop)

    @staticmethod
    async def _until_ended(page: Any) -> None:
        try:
            await page.wait_for_function(
                "window.__log.some(([k]) => ['done', 'server-error', 'connection-lost'].includes(k))"
                " || window.__errors.length > 0",
                polling=50,
                timeout=SCENARIO_TIMEOUT * 1000,
            )
        except Exception:  # noqa: BLE001 - a page that never logs the end is a result too
            pass

    def close(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def shut() -> None:
            if self._browser is not None:
                await self._browser.close()
            if self._playwright is not None:
                await self._playwright.stop()

        try:
            asyncio.run_coroutine_threadsafe(shut(), loop).result(10)
        except Exception:  # noqa: BLE001 - at exit, a browser already gone is fine
            pass
        loop.call_soon_threadsafe(loop.stop)


_service = BrowserService()
RUN_TIMEOUT = 50.0


def warm_up() -> None:
    """Start this process's Chromium now, so the first browser check does not pay for it."""
    chromium()
    _service.start(RUN_TIMEOUT)


def run_scenarios(script: str) -> dict[str, Run]:
    """Every scenario of ``SCENARIOS`` with ``script`` loaded, in this process's headless Chromium."""
    chromium()  # a clear failure when there is none
    return _service.run(script, RUN_TIMEOUT)


_cache: dict[str, dict[str, Run]] = {}
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def scenarios_for(script: Any) -> dict[str, Run]:
    """``run_scenarios``, once per distinct script (every check of a notebook reads the same runs)."""
    if not isinstance(script, str) or "watchTask" not in script:
        raise CheckFailed("WATCH_TASK_JS should be a string of JavaScript that defines function watchTask(url, log)")
    key = hashlib.sha256(script.encode()).hexdigest()
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _cache:
            try:
                _cache[key] = run_scenarios(script)
            except TimeoutError:
                raise CheckFailed(f"the page did not finish within {RUN_TIMEOUT:g} s") from None
        return _cache[key]
