"""A sweep of junk requests: every one gets a client error or a finished answer, never a 5xx or a hang."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from lesson_app.server import BackgroundServer
from tests.conftest import get_stats

pytestmark = pytest.mark.timeout(60)

TIMEOUT = httpx.Timeout(5.0)

JUNK_IDS = [
    "-1",
    "0",
    "99999999999999999999",
    "%00",
    "abc",
    "%20",
    "%EF%BC%91",  # a full-width digit one
    "%F0%9F%98%80",
    "1%0A2",
    "9" * 4000,
]

TASK_PATHS = ["/tasks/{}", "/tasks/{}/progress", "/tasks/{}/execute", "/stream/countdown/{}"]


@pytest.fixture(scope="module")
def client(shared_server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_server.url, timeout=TIMEOUT) as client:
        yield client


def send(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    """Send one request and read the whole answer (a stream must end on its own)."""
    with client.stream(method, path, **kwargs) as response:
        response.read()
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
    return response


@pytest.mark.parametrize("junk", JUNK_IDS)
@pytest.mark.parametrize("template", TASK_PATHS)
def test_junk_ids_are_client_errors(client: httpx.Client, template: str, junk: str) -> None:
    method = "POST" if template.endswith("execute") else "GET"
    response = send(client, method, template.format(junk))
    assert response.status_code in {400, 404, 422}, response.status_code
    assert not response.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("junk", JUNK_IDS)
def test_junk_monitor_ids_are_client_errors(client: httpx.Client, junk: str) -> None:
    response = send(client, "GET", f"/tasks/monitor?ids={junk}")
    assert response.status_code in {404, 422}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks/1/execute"),
        ("PUT", "/tasks/1/execute"),
        ("POST", "/tasks/stream"),
        ("POST", "/tasks/1/progress"),
        ("DELETE", "/tasks/1"),
        ("PUT", "/tasks/1"),
        ("POST", "/stream/countdown/3"),
        ("POST", "/stream/system"),
        ("PATCH", "/stream/risky"),
        ("POST", "/stats"),
        ("DELETE", "/tasks"),
        ("POST", "/agent/stream?prompt=hi"),
    ],
)
def test_wrong_method_is_405(client: httpx.Client, method: str, path: str) -> None:
    response = send(client, method, path)
    assert response.status_code == 405
    assert "allow" in response.headers


@pytest.mark.parametrize("path", ["/nope", "/tasks/1/nope", "/stream", "/stream/countdown", "/static/index.html"])
def test_unknown_path_is_404(client: httpx.Client, path: str) -> None:
    assert send(client, "GET", path).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "application/json"},
        {"Accept": "*/*;q=junk"},
        {"Cache-Control": "no-cache", "Pragma": "no-cache"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Last-Event-ID": "7 junk"},
        {"Connection": "close"},
        {"Content-Type": "application/json"},
        {"X-Junk": "x" * 6000},
        {"Range": "bytes=0-10"},
        {"Accept-Encoding": "gzip, br"},
    ],
)
def test_odd_headers_still_stream(client: httpx.Client, headers: dict[str, str]) -> None:
    response = send(client, "GET", "/stream/countdown/2", headers=headers)
    assert response.status_code == 200
    assert response.text.endswith('event: complete\r\ndata: {"message": "Countdown finished!"}\r\n\r\n')


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\x00" * 100, "application/json"),
        (b"[" * 10000, "application/json"),
        (b'{"title": "' + b"a" * 2_000_000 + b'"}', "application/json"),
        (b"<xml/>", "application/xml"),
        (b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b"),
        (b'{"title": Infinity, "status": -Infinity}', "application/json"),
        (b'{"title": "ok", "status": NaN}', "application/json"),
        (b'{"title": NaN}', "application/json"),
        (b'{"title": "a", "title": ""}', "application/json"),
    ],
)
def test_junk_bodies_are_client_errors(client: httpx.Client, content: bytes, content_type: str) -> None:
    for method, path in [("POST", "/tasks"), ("PATCH", "/tasks/1")]:
        response = send(client, method, path, content=content, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500, (method, content[:40], response.status_code)


@pytest.mark.parametrize("body", [b'{"title": NaN}', b'{"title": "ok", "status": Infinity}'])
def test_non_finite_numbers_get_a_json_422(client: httpx.Client, body: bytes) -> None:
    response = send(client, "POST", "/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["input"] in {"nan", "inf"}


def test_a_body_on_a_stream_is_ignored(client: httpx.Client) -> None:
    response = send(client, "POST", "/tasks/2/execute", content=b"\xff" * 100_000, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert response.text.endswith('data: {"task_id": 2, "message": "Task completed successfully"}\r\n\r\n')


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /tasks/stream HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET /tasks/stream HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello on plain HTTP
    ],
)
def test_malformed_http_gets_a_400_or_a_closed_socket(shared_server: BackgroundServer, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
    assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 505")), answer[:100]


def test_the_server_is_healthy_after_the_sweep(shared_server: BackgroundServer, client: httpx.Client) -> None:
    response = send(client, "GET", "/stream/countdown/1")
    assert response.status_code == 200
    stats = get_stats(shared_server)
    assert stats["active_streams"] == 0
    assert stats["streams_failed"] == 0
