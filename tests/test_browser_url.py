"""``browser_url``: the address a student's browser uses for a kernel-side server, in each environment.

The environments are faked (environment variables, a Jupyter runtime file, a stubbed
``google.colab``); the server and its pages are real.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import httpx
import pytest
from IPython.display import IFrame

from lesson_app.browser import OVERRIDE_ENV, jupyter_base_url, locate
from lesson_app.notebook_views import live_view
from lesson_app.server import BackgroundServer
from tests.conftest import REQUEST_TIMEOUT

ENV_NAMES = (
    OVERRIDE_ENV,
    "JUPYTERHUB_SERVICE_PREFIX",
    "CODESPACES",
    "CODESPACE_NAME",
    "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN",
    "JPY_PARENT_PID",
    "JUPYTER_RUNTIME_DIR",
)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hint of any hosted environment, whatever the machine running the tests has set."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.fixture
def colab(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stub of ``google.colab`` whose ``output.eval_js`` answers like Colab's page; returns the JS it was asked."""
    asked: list[str] = []

    def eval_js(script: str) -> str:
        asked.append(script)
        port = script.split("proxyPort(")[1].split(",")[0]
        return f"https://{port}-gpu-t4-s-abc123.colab.googleusercontent.com/"

    google = types.ModuleType("google")
    colab_module = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    output.eval_js = eval_js  # type: ignore[attr-defined]
    colab_module.output = output  # type: ignore[attr-defined]
    google.colab = colab_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return asked


def test_local_jupyter_uses_loopback() -> None:
    address = locate(8123)
    assert (address.url, address.where, address.same_machine) == ("http://127.0.0.1:8123/", "local", True)


def test_local_ipv6_host_is_bracketed() -> None:
    assert locate(8123, host="::1").url == "http://[::1]:8123/"


@pytest.mark.parametrize("prefix", ["/user/student/", "/user/student"])
def test_jupyterhub_and_binder_use_the_service_prefix(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", prefix)
    address = locate(8123)
    assert (address.url, address.where) == ("/user/student/proxy/8123/", "jupyterhub")


def test_binder_prefix() -> None:
    environ = {"JUPYTERHUB_SERVICE_PREFIX": "/binder/jupyter/user/org-course-x1y2z3/"}
    assert locate(40000, environ=environ).url == "/binder/jupyter/user/org-course-x1y2z3/proxy/40000/"


def write_server_info(runtime: Path, pid: int, base_url: str) -> None:
    runtime.mkdir(parents=True, exist_ok=True)
    info = {"base_url": base_url, "pid": pid, "port": 8888, "url": f"http://localhost:8888{base_url}"}
    (runtime / f"jpserver-{pid}.json").write_text(json.dumps(info), encoding="utf-8")


def test_a_jupyter_server_behind_a_base_url(tmp_path: Path) -> None:
    write_server_info(tmp_path, 4242, "/lab-server/")
    environ = {"JPY_PARENT_PID": "4242", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    assert jupyter_base_url(environ) == "/lab-server/"
    address = locate(8123, environ=environ)
    assert (address.url, address.where) == ("/lab-server/proxy/8123/", "jupyter-base-url")


def test_a_jupyter_server_at_the_root_is_local(tmp_path: Path) -> None:
    write_server_info(tmp_path, 4242, "/")
    environ = {"JPY_PARENT_PID": "4242", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    assert locate(8123, environ=environ).url == "http://127.0.0.1:8123/"


def test_an_unknown_parent_server_is_local(tmp_path: Path) -> None:
    write_server_info(tmp_path, 4242, "/lab-server/")
    environ = {"JPY_PARENT_PID": "999999", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    assert jupyter_base_url(environ) is None
    assert locate(8123, environ=environ).where == "local"


def test_codespaces_uses_the_forwarded_port() -> None:
    environ = {
        "CODESPACES": "true",
        "CODESPACE_NAME": "fluffy-space-robot-5g9x",
        "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "app.github.dev",
    }
    address = locate(8123, environ=environ)
    assert (address.url, address.where) == ("https://fluffy-space-robot-5g9x-8123.app.github.dev/", "codespaces")


def test_codespaces_default_domain() -> None:
    environ = {"CODESPACES": "true", "CODESPACE_NAME": "fluffy"}
    assert locate(8123, environ=environ).url == "https://fluffy-8123.app.github.dev/"


def test_colab_asks_its_kernel_port_proxy(colab: list[str]) -> None:
    address = locate(8123, environ={})
    assert (address.url, address.where) == ("https://8123-gpu-t4-s-abc123.colab.googleusercontent.com/", "colab")
    assert colab == ["google.colab.kernel.proxyPort(8123, {'cache': false})"]


def test_colab_wins_over_a_hub_prefix(colab: list[str]) -> None:
    assert locate(8123, environ={"JUPYTERHUB_SERVICE_PREFIX": "/user/x/"}).where == "colab"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://lab.example.org/proxy/{port}/", "https://lab.example.org/proxy/8123/"),
        ("https://lab.example.org/proxy/{port}", "https://lab.example.org/proxy/8123/"),
        ("http://localhost:{port}/", "http://localhost:8123/"),
        ("https://lab.example.org/user/ana/", "https://lab.example.org/user/ana/proxy/8123/"),
        ("/jupyter", "/jupyter/proxy/8123/"),
    ],
)
def test_the_override_wins_over_everything(colab: list[str], value: str, expected: str) -> None:
    environ = {OVERRIDE_ENV: value, "JUPYTERHUB_SERVICE_PREFIX": "/user/x/", "CODESPACES": "true", "CODESPACE_NAME": "c"}
    address = locate(8123, environ=environ)
    assert (address.url, address.where) == (expected, "override")
    assert colab == []  # Colab's page is not even asked


def test_a_blank_override_is_ignored() -> None:
    assert locate(8123, environ={OVERRIDE_ENV: "  "}).where == "local"


# --- on a real server -----------------------------------------------------------------


def test_background_server_browser_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundServer() as server:
        assert server.browser_url == f"{server.url}/"
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/student/")
        assert server.browser_url == f"/user/student/proxy/{server.port}/"
    with pytest.raises(RuntimeError, match="not running"):
        server.browser_url


def test_live_page_is_served_for_a_stream_of_the_app(shared_server: BackgroundServer) -> None:
    response = httpx.get(f"{shared_server.url}/live", params={"path": "/tasks/monitor?ids=1,2"}, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "new EventSource(url)" in response.text


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"path": "/nowhere"}, 404, "this app has no GET route at /nowhere"),
        ({"path": "tasks/stream"}, 400, "path must be a path of this app starting with a single '/', e.g. /tasks/stream"),
        ({"path": "//evil.example/x"}, 400, "path must be a path of this app starting with a single '/', e.g. /tasks/stream"),
        ({"path": "https://evil.example/"}, 400, "path must be a path of this app starting with a single '/', e.g. /tasks/stream"),
    ],
)
def test_live_page_refuses_what_it_cannot_show(
    shared_server: BackgroundServer, params: dict[str, str], status: int, detail: str
) -> None:
    response = httpx.get(f"{shared_server.url}/live", params=params, timeout=REQUEST_TIMEOUT)
    assert (response.status_code, response.json()["detail"]) == (status, detail)


def test_live_page_needs_a_path(shared_server: BackgroundServer) -> None:
    response = httpx.get(f"{shared_server.url}/live", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "path"]


def test_every_stream_opens_with_a_comment_at_once(shared_server: BackgroundServer) -> None:
    """A proxy that releases headers with the first body bytes gets them before any event."""
    with httpx.stream("GET", f"{shared_server.url}/tasks/monitor", params={"ids": "1"}, timeout=REQUEST_TIMEOUT) as response:
        first = next(response.iter_raw())
        assert "content-encoding" not in response.headers
    assert first.startswith(b": ping - ") and first.endswith(b"\r\n\r\n"), first


def test_demo_page_uses_relative_urls_only(shared_server: BackgroundServer) -> None:
    page = httpx.get(f"{shared_server.url}/", timeout=REQUEST_TIMEOUT).text
    for opener in ("new EventSource(", "fetch("):
        for call in page.split(opener)[1:]:
            argument = call.split(")")[0].split(",")[0].strip()
            assert not argument.startswith(('"/', "'/", "`/", '"http', "'http")), f"{opener}{argument}"
    assert 'Accept: "text/event-stream"' in page


def test_serve_in_a_hub_terminal_prints_the_proxied_address() -> None:
    """``sse-lesson serve`` in a JupyterHub terminal: the instructor's browser needs the proxy path."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES}
    env["JUPYTERHUB_SERVICE_PREFIX"] = "/user/teacher/"
    command = [sys.executable, "-m", "lesson_app.cli", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
    finally:
        process.terminate()
        process.wait(15)
    assert lines[0].startswith(f"Streaming lesson app: open http://127.0.0.1:{port}/ in a browser")
    assert lines[1] == f"From a browser on another machine (jupyterhub): /user/teacher/proxy/{port}/\n"


# --- live_view, the notebook helper -----------------------------------------------------


def test_live_view_is_the_live_page_at_the_browser_address(shared_server: BackgroundServer) -> None:
    frame = live_view(shared_server, "/tasks/monitor?ids=1,2")
    assert isinstance(frame, IFrame)
    assert frame.src == f"{shared_server.browser_url}live?path=%2Ftasks%2Fmonitor%3Fids%3D1%2C2"
    assert httpx.get(f"{shared_server.url}/{frame.src.split('/', 3)[3]}", timeout=REQUEST_TIMEOUT).status_code == 200


def test_live_view_under_a_hub_prefix(shared_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/student/")
    frame = live_view(shared_server, "/tasks/stream", events=["task_update", "complete"])
    assert frame.src == f"/user/student/proxy/{shared_server.port}/live?path=%2Ftasks%2Fstream&events=task_update%2Ccomplete"


def test_live_view_refuses_a_path_the_app_does_not_serve(shared_server: BackgroundServer) -> None:
    with pytest.raises(ValueError, match=r"no live view for this stream \(404\): this app has no GET route at /nowhere"):
        live_view(shared_server, "/nowhere")


def test_live_view_on_colab_adds_the_kernel_view(
    shared_server: BackgroundServer, colab: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Colab: the page through Colab's proxy, a note, and the stream read by the kernel, redrawn per event."""
    frames: list[tuple[int, str, str]] = []
    output = sys.modules["google.colab.output"]
    output.serve_kernel_port_as_iframe = lambda port, path, height: frames.append((port, path, height))  # type: ignore[attr-defined]

    async def in_a_kernel() -> list[str]:
        assert live_view(shared_server, "/tasks/stream") is None
        following = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        assert len(following) == 1
        return await asyncio.wait_for(following[0], 10)

    shown = asyncio.run(in_a_kernel())
    assert frames == [(shared_server.port, "/live?path=%2Ftasks%2Fstream", "260")]
    assert [line.split()[0] for line in shown] == ["task_update"] * 5 + ["complete"]
    assert shown[-1] == 'complete     {"message": "All tasks processed"}'
    printed = capsys.readouterr().out  # outside a kernel, display() prints each object's repr
    assert printed.count("Markdown object") == 1  # the note about Colab's proxy
    assert printed.count("HTML object") == 1 + 6  # "waiting...", then one redraw per event


def test_a_unix_socket_server_has_no_browser_address(tmp_path: Path) -> None:
    with BackgroundServer(uds=str(tmp_path / "app.sock")) as server:
        with pytest.raises(RuntimeError, match="a server on a Unix socket has no browser address"):
            server.browser_url
