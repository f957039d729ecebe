"""Validation happens before a stream starts: a bad request gets a plain HTTP error, never a stream."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lesson_app.server import BackgroundServer
from tests.conftest import REQUEST_TIMEOUT, ServerFactory, get_stats


pytestmark = pytest.mark.timeout(60)


def request(server: BackgroundServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", timeout=REQUEST_TIMEOUT, **kwargs)


def assert_not_a_stream(response: httpx.Response) -> None:
    assert not response.headers.get("content-type", "").startswith("text/event-stream")


@pytest.fixture
def server(shared_server: BackgroundServer) -> Iterator[BackgroundServer]:
    """The module's server; every test here must leave ``streams_opened`` as it found it."""
    before = get_stats(shared_server)["streams_opened"]
    yield shared_server
    assert get_stats(shared_server)["streams_opened"] == before, "a rejected request opened a stream"


@pytest.fixture
def fresh_server(make_server: ServerFactory) -> BackgroundServer:
    return make_server(time_scale=0)


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("GET", "/tasks/99/progress", "Task with id 99 not found"),
        ("POST", "/tasks/99/execute", "Task 99 not found"),
        ("GET", "/tasks/99", "Task with id 99 not found"),
        ("GET", "/tasks/monitor?ids=1,99", "Task 99 not found"),
        ("PATCH", "/tasks/99", "Task with id 99 not found"),
    ],
)
def test_unknown_task_is_404_before_any_stream(server: BackgroundServer, method: str, path: str, detail: str) -> None:
    before = get_stats(server)["streams_opened"]
    kwargs = {"json": {"status": "completed"}} if method == "PATCH" else {}
    response = request(server, method, path, **kwargs)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": detail}
    stats = get_stats(server)
    assert stats["streams_opened"] == before
    assert stats["hub_subscribers"] == 0


@pytest.mark.parametrize("seconds", ["0", "61", "-1", "1000"])
def test_countdown_out_of_range_is_400(server: BackgroundServer, seconds: str) -> None:
    response = request(server, "GET", f"/stream/countdown/{seconds}")
    assert response.status_code == 400
    assert response.json() == {"detail": "Seconds must be between 1 and 60"}
    assert_not_a_stream(response)


@pytest.mark.parametrize("seconds", ["abc", "1.5", "1e3", "%20"])
def test_countdown_not_an_integer_is_422(server: BackgroundServer, seconds: str) -> None:
    response = request(server, "GET", f"/stream/countdown/{seconds}")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["path", "seconds"]
    assert detail[0]["type"] == "int_parsing"


@pytest.mark.parametrize("path", ["/tasks/abc/progress", "/tasks/1.5", "/tasks/abc/execute"])
def test_task_id_not_an_integer_is_422(server: BackgroundServer, path: str) -> None:
    method = "POST" if path.endswith("execute") else "GET"
    response = request(server, method, path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "task_id"]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("", None),
        ("?ids=", "ids must name at least one task"),
        ("?ids=,,", "ids must name at least one task"),
        ("?ids=1,x", "ids must be integers, got 'x'"),
        ("?ids=-1", "ids must be integers, got '-1'"),
        ("?ids=" + ",".join(str(i) for i in range(1, 52)), "at most 50 tasks at once"),
    ],
)
def test_monitor_rejects_bad_ids(server: BackgroundServer, query: str, detail: str | None) -> None:
    response = request(server, "GET", f"/tasks/monitor{query}")
    assert response.status_code == 422
    if detail is not None:
        assert response.json() == {"detail": detail}


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 2001])
def test_agent_rejects_a_bad_prompt(server: BackgroundServer, prompt: str) -> None:
    response = request(server, "GET", "/agent/stream", params={"prompt": prompt})
    assert response.status_code == 422


def test_agent_requires_a_prompt(server: BackgroundServer) -> None:
    assert request(server, "GET", "/agent/stream").status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": 5},
        {"title": None},
        {"title": "ok", "status": "done"},
        {"title": "ok", "id": 7},
        {"title": ["a"]},
        [],
        "title",
        None,
        12,
    ],
)
def test_create_task_rejects_bad_bodies(server: BackgroundServer, body: object) -> None:
    response = request(server, "POST", "/tasks", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()
    assert len(request(server, "GET", "/tasks").json()) == 3


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{", "application/json"),
        (b"not json", "application/json"),
        (b'{"title": "a"', "application/json"),
        (b"title=a", "application/x-www-form-urlencoded"),
        (b'{"title": "a"}', "text/plain"),
        (b"", "application/json"),
    ],
)
def test_create_task_rejects_unreadable_bodies(server: BackgroundServer, content: bytes, content_type: str) -> None:
    response = request(server, "POST", "/tasks", content=content, headers={"content-type": content_type})
    assert response.status_code == 422


def test_create_task_body_that_is_not_utf8_is_400(server: BackgroundServer) -> None:
    """FastAPI's own answer when the bytes cannot even be decoded: a client error, not a crash."""
    response = request(server, "POST", "/tasks", content=b"\xff\xfe\x00", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


@pytest.mark.parametrize("body", [{}, {"status": "done"}, {"title": ""}, {"id": 9}, {"title": None, "status": None}])
def test_patch_rejects_bad_bodies(server: BackgroundServer, body: dict[str, object]) -> None:
    response = request(server, "PATCH", "/tasks/1", json=body)
    assert response.status_code == 422
    assert request(server, "GET", "/tasks/1").json() == {"id": 1, "title": "Write the lesson outline", "status": "pending"}


def test_task_crud_round_trip(fresh_server: BackgroundServer) -> None:
    server = fresh_server
    created = request(server, "POST", "/tasks", json={"title": "Write quiz", "status": "in_progress"})
    assert created.status_code == 201
    assert created.json() == {"id": 4, "title": "Write quiz", "status": "in_progress"}
    patched = request(server, "PATCH", "/tasks/4", json={"status": "completed"})
    assert patched.json() == {"id": 4, "title": "Write quiz", "status": "completed"}
    assert request(server, "GET", "/tasks/4").json() == patched.json()
    assert [task["id"] for task in request(server, "GET", "/tasks").json()] == [1, 2, 3, 4]
