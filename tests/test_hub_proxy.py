"""The browser parts of the course where a hub serves them: through jupyter-server-proxy, under a prefix.

A real ``jupyter lab`` from this environment, started the way a JupyterHub starts a
student's server (``--ServerApp.base_url=/user/student/``, ``JUPYTERHUB_SERVICE_PREFIX``,
a token), is driven with Playwright and Debian's Chromium on a hostname mapped to
loopback. In the hub scenario every browser request straight to a loopback address is
aborted, as for a student whose browser is on another machine: only the proxied path
can work. The local scenario (base URL ``/``, nothing blocked) runs the same checks.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import Request
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from lesson_app import create_app
from lesson_app.server import BackgroundServer
from lesson_app.sse_response import lesson_stream
from lesson_app.wire import EventParser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")
HUB_HOST = "student.hub.test"  # resolves to loopback inside the test's browser only
PREFIX = "/user/student/"
KERNEL_TIME_SCALE = "0.3"  # /tasks/stream: five task_update 0.3 s apart, then complete
STARTUP_TIMEOUT = 90
NOTEBOOK_TIMEOUT_MS = 150_000
LOOPBACK = re.compile(r"^[a-z]+://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")

TASK_UPDATES = [
    ("task_update", json.dumps({"task_id": i, "status": "processing", "progress": i * 20})) for i in range(1, 6)
]
TASK_STREAM = [*TASK_UPDATES, ("complete", json.dumps({"message": "All tasks processed"}))]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.timeout(300)
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not IN_CI, reason="Chromium is not installed (CI installs it and always runs these tests)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running ``jupyter lab`` and how a browser reaches it."""

    scenario: str
    port: int
    token: str
    base_url: str
    browser_host: str
    root: Path
    process: subprocess.Popen
    blocked: list[str] = field(default_factory=list)

    @property
    def local_url(self) -> str:
        """For httpx in this process."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def browser_url(self) -> str:
        return f"http://{self.browser_host}:{self.port}{self.base_url}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


def start_lab(tmp: Path, scenario: str) -> Lab:
    root = tmp / "notebooks"
    root.mkdir()
    # A copy: JupyterLab may autosave what it runs, and the course's notebooks stay clean.
    shutil.copy(REPO / "notebooks" / "07_in_the_browser.ipynb", root)
    settings = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the DOM, so the test can find each output without scrolling.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    hub = scenario == "hub"
    base_url = PREFIX if hub else "/"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTERHUB_", "JPY_"))}
    env.pop("LESSON_BROWSER_URL", None)
    env.update(
        LESSON_TIME_SCALE=KERNEL_TIME_SCALE,
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        IPYTHONDIR=str(tmp / "ipython"),
    )
    if hub:
        env["JUPYTERHUB_SERVICE_PREFIX"] = PREFIX
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(JUPYTER_LAB),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={base_url}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_remote_access=True",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={tmp / 'settings'}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
    ]
    if os.geteuid() == 0:  # CI containers often run as root
        command.append("--allow-root")
    log = (tmp / "jupyter.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(scenario, port, token, base_url, HUB_HOST if hub else "127.0.0.1", root, process)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited: {(tmp / 'jupyter.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{lab.local_url}api/status", headers=lab.auth, timeout=2).status_code == 200:
                return lab
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_lab(lab)
    raise RuntimeError(f"jupyter lab did not answer within {STARTUP_TIMEOUT} s")


def stop_lab(lab: Lab) -> None:
    """SIGTERM lets Jupyter shut its kernels down; the session's group is killed if it lingers."""
    if lab.process.poll() is None:
        lab.process.send_signal(signal.SIGTERM)
        try:
            lab.process.wait(20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(lab.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    lab.process.wait(10)


@pytest.fixture(scope="module", params=["hub", "local"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    started = start_lab(tmp_path_factory.mktemp(f"lab-{request.param}"), request.param)
    yield started
    stop_lab(started)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--host-resolver-rules=MAP {HUB_HOST} 127.0.0.1",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, lab: Lab) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if lab.scenario == "hub":

        def abort_direct(route: Route) -> None:
            lab.blocked.append(route.request.url)
            route.abort("addressunreachable")

        context.route(LOOPBACK, abort_direct)
    yield context
    context.close()


# --- the notebook in JupyterLab -------------------------------------------------------


def code_cell(page: Page, text: str):
    return page.locator(".jp-CodeCell").filter(has_text=text)


def open_and_run_notebook_07(page: Page, lab: Lab) -> None:
    """Open notebook 07 in JupyterLab and run every cell above the last one, which stops the app."""
    page.goto(f"{lab.browser_url}lab/tree/07_in_the_browser.ipynb?token={lab.token}")
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    # The kernel is up and connected (the execution indicator alone says "idle" before the kernel starts).
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=90_000)
    stop_cell = code_cell(page, 'print("stopped")')
    stop_cell.locator(".jp-InputPrompt").click()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Above Selected Cell$")).click()
    kernel_view = code_cell(page, "handle = display(")
    expect(kernel_view.locator(".jp-OutputArea-output").last).to_contain_text(
        "events shown live", timeout=NOTEBOOK_TIMEOUT_MS
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert "Traceback" not in " ".join(errors.all_inner_texts())


def run_last_cell(page: Page) -> None:
    stop_cell = code_cell(page, 'print("stopped")')
    stop_cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    expect(stop_cell.locator(".jp-OutputArea-output")).to_contain_text("stopped", timeout=30_000)


def live_view_events(page: Page) -> list[tuple[str, str, float]]:
    """(event, data, ms since the page loaded) of each event the notebook's live view showed."""
    frame = page.frame_locator("iframe[src*='live?path=']")
    expect(frame.locator("li[data-event='complete']")).to_have_count(1, timeout=30_000)
    rows = frame.locator("li.event, li.end, li.error, li.note")
    return [
        (row.get_attribute("data-event"), row.locator(".data").inner_text(), float(row.get_attribute("data-ms")))
        for row in rows.all()
    ]


def notebook_04_console_snippet() -> str:
    """The JavaScript notebook 04 prints for the student to paste into the app page's console."""
    notebook = json.loads((REPO / "notebooks" / "04_first_stream.ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "new EventSource('tasks/stream')" in source:
            return source.split('print("""', 1)[1].split('""")', 1)[0]
    raise AssertionError("notebook 04 prints no console snippet with a relative EventSource URL")


def wait_until(page: Page, condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` while Playwright keeps delivering the page's events (console messages)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True


def assert_spread(times_ms: list[float], pause: float) -> None:
    """Events paced ``pause`` s apart arrive spread over time, not all at once when the stream ends.

    Wide margins for a busy machine: the whole run takes at least half its paced length,
    and all but two events arrive at moments of their own (a hiccup may bunch two).
    """
    paced_ms = 1000 * pause * (len(times_ms) - 1)
    assert times_ms[-1] - times_ms[0] > 0.5 * paced_ms, times_ms
    gaps = [later - earlier for earlier, later in zip(times_ms, times_ms[1:])]
    moments = 1 + sum(gap > 400 * pause for gap in gaps)
    assert moments >= len(times_ms) - 2, gaps


@needs_chromium
def test_notebook_07_browser_parts_work(context: BrowserContext, lab: Lab) -> None:
    page = context.new_page()
    open_and_run_notebook_07(page, lab)

    # 1. The live EventSource view: every /tasks/stream event, spread over time.
    iframe_src = page.locator("iframe[src*='live?path=']").get_attribute("src")
    app_port = int(re.search(r"(?:proxy/|:)(\d+)/live", iframe_src).group(1))
    expected_src = f"{PREFIX}proxy/{app_port}/" if lab.scenario == "hub" else f"http://127.0.0.1:{app_port}/"
    assert iframe_src == expected_src + "live?path=%2Ftasks%2Fstream"
    shown = live_view_events(page)
    assert [(name, data) for name, data, _ in shown] == TASK_STREAM
    assert_spread([ms for *_, ms in shown], float(KERNEL_TIME_SCALE))

    # 2. The demo page, opened at the link the notebook shows (its browser_url).
    link = page.locator(".jp-RenderedMarkdown a", has_text="Open the lesson app's page")
    href = link.get_attribute("href")
    assert href == expected_src
    demo = context.new_page()
    demo.goto(urljoin(page.url, href))
    expect(demo.locator("#stats-status")).to_contain_text("updated", timeout=15_000)  # fetch("stats") works
    demo.locator("#btn-tasks-stream").click()
    log = demo.locator("#event-log-body tr.log-row:not(.kind-note)")
    expect(log.filter(has_text="All tasks processed")).to_have_count(1, timeout=30_000)
    rows = list(reversed(log.all()))  # the log shows the newest first
    assert [(row.get_attribute("data-event"), row.locator("td.data").inner_text()) for row in rows] == TASK_STREAM
    clock = [datetime.strptime(row.locator("td.time").inner_text(), "%H:%M:%S.%f") for row in rows]
    assert_spread([1000 * (t - clock[0]).total_seconds() for t in clock], float(KERNEL_TIME_SCALE))

    # The POST stream, read with fetch() and Accept: text/event-stream, streams through the proxy too.
    demo.locator("#btn-execute").click()
    steps = demo.locator("#event-log-body tr.log-row[data-stream*='POST']:not(.kind-note)")
    expect(steps.filter(has=demo.locator("td.event", has_text=re.compile("^done$")))).to_have_count(1, timeout=30_000)
    step_rows = list(reversed(steps.all()))
    assert [row.get_attribute("data-event") for row in step_rows] == ["step"] * 5 + ["done"]
    step_clock = [datetime.strptime(row.locator("td.time").inner_text(), "%H:%M:%S.%f") for row in step_rows]
    assert_spread([1000 * (t - step_clock[0]).total_seconds() for t in step_clock], 0.8 * float(KERNEL_TIME_SCALE))

    # Notebook 04's console snippet, pasted into the console of that page, as the notebook says.
    console: list[str] = []
    demo.on("console", lambda message: console.append(message.text))
    demo.evaluate("{" + notebook_04_console_snippet() + "}")
    assert wait_until(demo, lambda: any(text.startswith("Complete:") for text in console), 30), console
    assert [text.split(":")[0] for text in console] == ["Task update"] * 5 + ["Complete"]

    if lab.scenario == "hub":
        # The blocking is real: going around the proxy fails...
        reached = demo.evaluate(
            f"fetch('http://127.0.0.1:{app_port}/stats').then(() => 'reached', () => 'blocked')"
        )
        assert reached == "blocked"
        # ...and nothing else ever tried it: every view went through the proxy.
        assert lab.blocked == [f"http://127.0.0.1:{app_port}/stats"]
    demo.close()
    run_last_cell(page)


# --- the proxy itself, read with httpx ------------------------------------------------


@pytest.fixture(scope="module")
def proxied_app() -> Iterator[BackgroundServer]:
    app = create_app(time_scale=0.3)

    @app.get("/slow-start")
    async def slow_start(request: Request):
        async def events():
            await request.app.state.pace.sleep(5)  # 1.5 s at this scale
            yield {"event": "late", "data": "first event after 1.5 s"}

        return lesson_stream(request, events())

    with BackgroundServer(app) as server:
        yield server


def read_through_proxy(lab: Lab, server: BackgroundServer, path: str, accept: str) -> tuple[float, list[tuple[float, str]]]:
    """(seconds until the headers, [(seconds, event name)]) for ``path`` read through the hub's proxy."""
    parser = EventParser()
    arrivals: list[tuple[float, str]] = []
    url = f"{lab.local_url}proxy/{server.port}{path}"
    started = time.perf_counter()
    with httpx.stream("GET", url, headers={**lab.auth, "Accept": accept}, timeout=30) as response:
        headers_at = time.perf_counter() - started
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers  # never gzipped
        for chunk in response.iter_raw():
            now = time.perf_counter() - started
            arrivals.extend((now, event.event) for event in parser.feed(chunk))
    return headers_at, arrivals


def test_proxy_streams_incrementally_with_the_event_stream_accept(lab: Lab, proxied_app: BackgroundServer) -> None:
    _, arrivals = read_through_proxy(lab, proxied_app, "/tasks/stream", "text/event-stream")
    assert [name for _, name in arrivals] == [name for name, _ in TASK_STREAM]
    assert_spread([1000 * at for at, _ in arrivals], 0.3)


def test_proxy_releases_headers_before_the_first_event(lab: Lab, proxied_app: BackgroundServer) -> None:
    headers_at, arrivals = read_through_proxy(lab, proxied_app, "/slow-start", "text/event-stream")
    assert [name for _, name in arrivals] == ["late"]
    assert arrivals[0][0] > 1.2
    assert headers_at < 1.0, "the opening comment must release the headers at once"


def test_proxy_buffers_without_the_event_stream_accept(lab: Lab, proxied_app: BackgroundServer) -> None:
    """Why every fetch() reader must send ``Accept: text/event-stream``: otherwise it all comes at the end."""
    headers_at, arrivals = read_through_proxy(lab, proxied_app, "/tasks/stream", "*/*")
    assert [name for _, name in arrivals] == [name for name, _ in TASK_STREAM]
    assert headers_at > 1.0  # nothing until the stream is over (1.2 s of pauses)
    assert arrivals[-1][0] - arrivals[0][0] < 0.2
