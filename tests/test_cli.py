"""``sse-lesson serve``: the instructor's live demo, run as a real process."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from lesson_app.cli import main
from lesson_app.wire import Event, parse_events

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[1]
URL_LINE = re.compile(r"open (http://\S+/) in a browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, first_line: str) -> None:
        self.process = process
        self.url = url
        self.first_line = first_line

    def python_process(self) -> psutil.Process:
        """The Python process under ``uv run`` that actually serves."""
        root = psutil.Process(self.process.pid)
        for proc in [root, *root.children(recursive=True)]:
            if any("sse-lesson" in part for part in proc.cmdline()) and "python" in proc.name().lower():
                return proc
        for proc in [root, *root.children(recursive=True)]:
            if proc.net_connections(kind="tcp"):
                return proc
        raise AssertionError("no serving process found")


def wait_until_serving(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"sse-lesson exited with {process.returncode}"
        try:
            if httpx.get(f"{url}stats", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server never answered")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    port = free_port()
    process = subprocess.Popen(
        ["uv", "run", "sse-lesson", "serve", "--port", str(port), "--time-scale", "0", "--log-level", "warning"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = URL_LINE.search(first_line)
        assert match, first_line
        wait_until_serving(match.group(1), process)
        yield Served(process, match.group(1), first_line)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def test_serve_prints_its_loopback_url_and_streams(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    response = httpx.get(f"{served.url}stream/countdown/2", timeout=10)
    assert response.status_code == 200
    assert parse_events(response.content) == [
        Event("tick", '{"remaining": 2}', id="2", retry=2000),
        Event("tick", '{"remaining": 1}', id="1", retry=2000),
        Event("complete", '{"message": "Countdown finished!"}', id="0", retry=2000),
    ]
    stats = httpx.get(f"{served.url}stats", timeout=10).json()
    assert stats["time_scale"] == 0.0
    assert stats["streams_completed"] == 1


def test_serve_binds_loopback_only_by_default(served: Served) -> None:
    port = int(served.url.rsplit(":", 1)[1].rstrip("/"))
    listening = [
        conn.laddr
        for conn in served.python_process().net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    ]
    assert listening, "the serving process listens on nothing"
    assert {(addr.ip, addr.port) for addr in listening} == {("127.0.0.1", port)}


def test_serve_serves_the_demo_page(served: Served) -> None:
    response = httpx.get(served.url, timeout=10)
    assert response.status_code == 200
    assert "<title>Streaming with SSE: live demo</title>" in response.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--time-scale", "-1"], "must be >= 0"),
        (["serve", "--heartbeat", "0"], "must be > 0"),
        (["serve", "--port", "http"], "invalid int value"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_with_usage(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert "usage: sse-lesson" in stderr


def test_port_in_use_fails_instead_of_hanging() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lesson_app.cli", "serve", "--port", str(port), "--time-scale", "0"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert "address already in use" in result.stderr.lower()


# Last, as it ends the module's server.
def test_serve_stops_on_terminate(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(15)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{served.url}stats", timeout=2)
