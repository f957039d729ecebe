"""The lesson in a real browser: the seed's console snippet, CORS, and the live demo page."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from lesson_app.server import BackgroundServer
from tests.conftest import REQUEST_TIMEOUT, ServerFactory, get_stats, wait_for

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not CHROMIUM.exists() and not IN_CI and shutil.which("chromium") is None,
        reason="Chromium is not installed (CI installs it and always runs these tests)",
    ),
]

# The seed's "Testing in Browser" snippet, character for character.
SEED_SNIPPET = """const source = new EventSource('http://localhost:8000/tasks/stream');

source.onmessage = (event) => {
    console.log('Message:', event.data);
};

source.addEventListener('task_update', (event) => {
    console.log('Task update:', JSON.parse(event.data));
});

source.addEventListener('complete', (event) => {
    console.log('Complete:', JSON.parse(event.data));
    source.close();
});

source.onerror = (error) => {
    console.error('Error:', error);
    source.close();
};
"""
SEED_URL = "http://localhost:8000"

TASK_UPDATES = [{"task_id": i, "status": "processing", "progress": i * 20} for i in range(1, 6)]
COMPLETE = {"message": "All tasks processed"}
PAGE_TIMEOUT_MS = 15_000
# evil.example resolves to loopback inside this browser only, so a non-local origin can be served locally.
FOREIGN_HOST = "evil.example"


def other_origin_app() -> Starlette:
    async def blank(request: object) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html><head><link rel="icon" href="data:,"><title>another site</title></head><body></body></html>'
        )

    return Starlette(routes=[Route("/", blank)])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--host-resolver-rules=MAP {FOREIGN_HOST} 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


class ConsoleLog:
    """Every console message and uncaught page error of one page."""

    def __init__(self, page: Page) -> None:
        self.messages: list[ConsoleMessage] = []
        self.arrivals: list[float] = []
        self.page_errors: list[Error] = []
        page.on("console", self._record)
        page.on("pageerror", lambda error: self.page_errors.append(error))

    def _record(self, message: ConsoleMessage) -> None:
        self.arrivals.append(time.perf_counter())
        self.messages.append(message)

    def values(self) -> list[tuple[str, list[object]]]:
        """Each message as (console method, its arguments as JSON values)."""
        return [(message.type, [arg.json_value() for arg in message.args]) for message in self.messages]

    def errors(self) -> list[str]:
        return [message.text for message in self.messages if message.type == "error"]


def run_seed_snippet(page: Page, stream_url: str) -> ConsoleLog:
    """Evaluate the seed's snippet on the current page; return once it logs `Complete:` or `Error:`."""
    assert SEED_URL in SEED_SNIPPET
    snippet = SEED_SNIPPET.replace(SEED_URL, stream_url)
    log = ConsoleLog(page)
    finished = lambda message: message.text.startswith(("Complete:", "Error:"))  # noqa: E731
    with page.expect_console_message(finished, timeout=PAGE_TIMEOUT_MS):
        # Run it as a console would: a string given to page.evaluate whose last statement yields
        # a function gets that function called (here: onerror), so hand the text to eval instead.
        page.evaluate("(code) => { (0, eval)(code); }", snippet)
    return log


def assert_seed_output(log: ConsoleLog) -> None:
    logged = [(kind, args) for kind, args in log.values() if args and args[0] in {"Task update:", "Complete:", "Error:", "Message:"}]
    assert logged == [
        *(("log", ["Task update:", update]) for update in TASK_UPDATES),
        ("log", ["Complete:", COMPLETE]),
    ]
    assert log.page_errors == []


# --- (a) the seed's snippet on the app's own origin --------------------------------------


def test_seed_snippet_on_the_apps_own_origin(page: Page, server: BackgroundServer) -> None:
    page.goto(f"{server.url}/")
    log = run_seed_snippet(page, server.url)
    assert_seed_output(log)
    assert not any(text.startswith("Error:") for text in log.errors())
    assert wait_for(lambda: get_stats(server)["streams_completed"] == 1, 5)


def test_seed_snippet_sees_events_one_second_apart(page: Page, paced_server: BackgroundServer) -> None:
    """"You'll see events arriving one second apart", at the real pace."""
    page.goto(f"{paced_server.url}/")
    log = run_seed_snippet(page, paced_server.url)
    assert_seed_output(log)
    arrivals = [at for at, message in zip(log.arrivals, log.messages) if message.text.startswith(("Task update:", "Complete:"))]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 5
    assert all(0.3 < gap < 2.5 for gap in gaps), gaps  # one second apart, with wide margins


# --- (b) another origin: local ones are allowed by CORS, others refused -------------------


def test_seed_snippet_from_another_local_origin(page: Page, server: BackgroundServer) -> None:
    with BackgroundServer(other_origin_app()) as other:
        assert other.port != server.port
        page.goto(f"{other.url}/")
        assert page.title() == "another site"
        log = run_seed_snippet(page, server.url)
    assert_seed_output(log)
    assert log.errors() == []


def test_seed_snippet_from_localhost_to_127_0_0_1(page: Page, server: BackgroundServer) -> None:
    page.goto(f"http://localhost:{server.port}/")
    log = run_seed_snippet(page, server.url)
    assert_seed_output(log)


def test_seed_snippet_from_a_non_local_origin_is_refused(page: Page, server: BackgroundServer) -> None:
    with BackgroundServer(other_origin_app()) as other:
        page.goto(f"http://{FOREIGN_HOST}:{other.port}/")
        assert page.title() == "another site"
        log = run_seed_snippet(page, server.url)
    logged = [args[0] for _, args in log.values() if args and isinstance(args[0], str)]
    assert "Task update:" not in logged
    assert "Complete:" not in logged
    assert "Error:" in logged
    assert any("CORS" in text for text in log.errors()), log.errors()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:8888", True),
        ("http://127.0.0.1:3000", True),
        ("http://localhost", True),
        ("http://[::1]:8888", True),
        ("https://localhost:8443", True),
        ("http://evil.example", False),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example:8000", False),
        ("http://evil.example/?http://localhost:1", False),
        ("null", False),
        ("file://", False),
    ],
)
def test_cors_allows_local_origins_only(server: BackgroundServer, origin: str, allowed: bool) -> None:
    response = httpx.get(f"{server.url}/tasks/stream", headers={"Origin": origin}, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)
    preflight = httpx.options(
        f"{server.url}/tasks/1/execute",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=REQUEST_TIMEOUT,
    )
    assert preflight.status_code == (200 if allowed else 400)


@pytest.mark.parametrize("path", ["/tasks/stream", "/tasks"])
@pytest.mark.parametrize("origin", [None, "http://localhost:8888", "http://evil.example"])
def test_every_response_varies_on_origin(server: BackgroundServer, path: str, origin: str | None) -> None:
    """The answer depends on the Origin, so caches must key on it, with or without one."""
    headers = {"Origin": origin} if origin else {}
    response = httpx.get(f"{server.url}{path}", headers=headers, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200
    assert response.headers.get_list("vary") == ["Origin"]


# --- (c) the live demo page ----------------------------------------------------------------


def open_demo(page: Page, server: BackgroundServer) -> ConsoleLog:
    log = ConsoleLog(page)
    page.goto(f"{server.url}/")
    assert page.title() == "Streaming with SSE: live demo"
    return log


def log_rows(page: Page) -> list[tuple[str, str, str]]:
    """The event log, oldest first: (event, data, id) of each row."""
    rows = page.locator("#event-log-body tr").evaluate_all(
        "rows => rows.map(r => [r.querySelector('.event').textContent, r.querySelector('.data').textContent, r.querySelector('.id').textContent])"
    )
    return [tuple(row) for row in reversed(rows)]


def events_only(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [row for row in rows if not row[0].startswith("(")]


def test_demo_page_loads_cleanly_and_polls_stats(page: Page, server: BackgroundServer) -> None:
    log = open_demo(page, server)
    expect(page.locator("#stats-status")).to_contain_text("updated")
    expect(page.locator("#stat-streams_opened")).to_have_text("0")
    expect(page.locator("#stat-active_streams")).to_have_text("0")
    for button in ["btn-tasks-stream", "btn-progress", "btn-system", "btn-countdown", "btn-risky", "btn-agent",
                   "btn-monitor", "btn-execute", "close-all"]:
        expect(page.locator(f"#{button}")).to_be_visible()
    expect(page.locator("#execute-note")).to_contain_text("EventSource")
    page.wait_for_timeout(1500)  # a couple of polls
    assert log.errors() == []
    assert log.page_errors == []


def test_demo_page_streams_and_updates_stats(page: Page, server: BackgroundServer) -> None:
    log = open_demo(page, server)
    page.click("#btn-tasks-stream")
    expect(page.locator("#event-log-body tr[data-event='complete']")).to_have_count(1)
    assert events_only(log_rows(page)) == [
        *(("task_update", f'{{"task_id": {i}, "status": "processing", "progress": {i * 20}}}', "") for i in range(1, 6)),
        ("complete", '{"message": "All tasks processed"}', ""),
    ]
    expect(page.locator("#open-streams li")).to_have_count(0)  # closed itself on `complete`
    expect(page.locator("#stat-streams_opened")).to_have_text("1")
    expect(page.locator("#stat-streams_completed")).to_have_text("1")
    expect(page.locator("#log-count")).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert log.errors() == []
    assert log.page_errors == []


def test_demo_page_close_button_ends_a_stream(page: Page, server: BackgroundServer) -> None:
    log = open_demo(page, server)
    page.fill("#monitor-ids", "1,2")
    page.click("#btn-monitor")
    expect(page.locator("#event-log-body tr[data-event='snapshot']")).to_have_count(1)
    expect(page.locator("#open-streams li")).to_have_count(1)
    expect(page.locator("#stat-active_streams")).to_have_text("1")
    expect(page.locator("#stat-hub_subscribers")).to_have_text("1")

    page.fill("#patch-task-id", "2")
    page.select_option("#patch-status", "completed")
    page.click("#btn-patch")
    update = page.locator("#event-log-body tr[data-event='task_update'] .data")
    expect(update).to_have_text(
        '{"task_id": 2, "change": "updated", "task": {"id": 2, "title": "Record the demo video", "status": "completed"}}'
    )

    page.locator("#open-streams li .close-stream").click()
    expect(page.locator("#open-streams li")).to_have_count(0)
    assert wait_for(lambda: get_stats(server)["active_streams"] == 0, 5)
    expect(page.locator("#stat-active_streams")).to_have_text("0")
    expect(page.locator("#stat-streams_disconnected")).to_have_text("1")
    assert get_stats(server)["hub_subscribers"] == 0
    assert log.errors() == []
    assert log.page_errors == []


def test_demo_page_close_all(page: Page, make_server: ServerFactory) -> None:
    server = make_server(time_scale=1)
    log = open_demo(page, server)
    page.fill("#countdown-seconds", "60")
    page.click("#btn-countdown")
    page.click("#btn-monitor")
    page.click("#btn-system")
    expect(page.locator("#open-streams li")).to_have_count(3)
    first_tick = page.locator("#event-log-body tr[data-event='tick']").last  # newest rows come first
    expect(first_tick).to_be_visible()
    expect(page.locator("#stat-active_streams")).to_have_text("3")
    tick = first_tick
    assert tick.locator(".data").text_content() == '{"remaining": 60}'
    assert tick.locator(".id").text_content() == "60"

    page.click("#close-all")
    expect(page.locator("#open-streams li")).to_have_count(0)
    expect(page.locator("#open-count")).to_have_text("0")
    expect(page.locator("#stat-active_streams")).to_have_text("0")
    assert wait_for(lambda: get_stats(server)["streams_disconnected"] == 3, 5)
    assert log.errors() == []
    assert log.page_errors == []


def test_demo_page_execute_reads_a_post_stream_with_fetch(page: Page, server: BackgroundServer) -> None:
    log = open_demo(page, server)
    page.fill("#execute-task-id", "3")
    page.click("#btn-execute")
    expect(page.locator("#event-log-body tr[data-event='done']")).to_have_count(1)
    steps = ["Starting task...", "Analyzing requirements...", "Processing data...", "Generating output...", "Finalizing..."]
    assert events_only(log_rows(page)) == [
        *(
            (
                "step",
                f'{{"task_id": 3, "task_title": "Review student feedback", "step": {i}, "message": "{m}", "progress": {i * 20}}}',
                "",
            )
            for i, m in enumerate(steps, 1)
        ),
        ("done", '{"task_id": 3, "message": "Task completed successfully"}', ""),
    ]
    assert get_stats(server)["opened_by_path"] == {"/tasks/{task_id}/execute": 1}
    assert log.errors() == []
    assert log.page_errors == []


def test_demo_page_shows_the_server_error_event(page: Page, server: BackgroundServer) -> None:
    log = open_demo(page, server)
    page.click("#btn-risky")
    error_row = page.locator("#event-log-body tr[data-event='error']")
    expect(error_row).to_have_count(1)
    assert error_row.locator(".data").text_content() == '{"error": "Something went wrong!"}'
    assert [row[1] for row in events_only(log_rows(page)) if row[0] == "message"] == [
        f'{{"step": {i}}}' for i in range(5)
    ]
    expect(page.locator("#open-streams li")).to_have_count(0)
    assert log.page_errors == []


def test_demo_page_agent_and_countdown_inputs(page: Page, server: BackgroundServer) -> None:
    open_demo(page, server)
    page.fill("#agent-prompt", "Why SSE & not polling?")
    page.click("#btn-agent")
    done = page.locator("#event-log-body tr[data-event='done'] .data")
    expect(done).to_contain_text('You asked: \\"Why SSE & not polling?\\".')
    page.fill("#countdown-seconds", "3")
    page.click("#btn-countdown")
    expect(page.locator("#event-log-body tr[data-event='complete']")).to_have_count(1)
    ticks = page.locator("#event-log-body tr[data-event='tick'] .id").all_text_contents()
    assert ticks == ["1", "2", "3"]  # newest first
