"""``sse-lesson serve``: the instructor's live demo, run as a real process."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
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
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.rival: subprocess.Popen[str] | None = None

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


def serve_command(port: int) -> list[str]:
    return ["uv", "run", "sse-lesson", "serve", "--port", str(port), "--time-scale", "0", "--log-level", "warning"]


def end(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """``sse-lesson serve`` on a free port; then, started alongside, a rival on the same port."""
    port = free_port()
    process = subprocess.Popen(serve_command(port), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rival = None
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = URL_LINE.search(first_line)
        assert match, first_line
        served = Served(process, match.group(1))
        wait_until_serving(served.url, process)
        # Started now, it runs while the other tests do; its own test collects the result.
        served.rival = rival = subprocess.Popen(
            serve_command(port), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        yield served
    finally:
        end(process)
        if rival is not None:
            end(rival)


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


def test_a_second_server_on_the_same_port_fails(served: Served) -> None:
    assert served.rival is not None
    _, stderr = served.rival.communicate(timeout=60)
    assert served.rival.returncode != 0
    assert "address already in use" in stderr.lower()
    assert httpx.get(f"{served.url}stats", timeout=10).status_code == 200  # the first one is unharmed


# Last, as it ends the module's server.
def test_serve_stops_on_terminate(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(15)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{served.url}stats", timeout=2)
