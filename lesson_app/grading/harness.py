"""What checks use to run a student's code for real: a served app, a timed stream reader.

A ``Site`` is where an app the student's code built is served: a URL on
127.0.0.1 in the student's kernel, or a Unix socket the grader's sandbox
listens on. Checks reach it only through HTTP, and read every byte themselves.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from lesson_app.server import BackgroundServer
from lesson_app.wire import Event, EventParser

from lesson_app.grading.core import CheckFailed

STOP_WAIT = 1.0
READ_TIMEOUT = 6.0  # seconds a check waits for a stream that should take milliseconds: room for a busy machine
MAX_BODY = 1 << 20  # a stream longer than this is cut off: no check needs more


@functools.cache
def local_tls() -> ssl.SSLContext:
    """One TLS context for every client a check opens (pass as ``verify=``).

    Checks speak plain HTTP to 127.0.0.1, but each httpx client would otherwise
    load the certificate store again, which costs more CPU than the request itself.
    """
    return httpx.create_ssl_context()

# uvicorn thread name -> the errors its app raised, kept for the check's verdict instead of printed
_server_errors: dict[str, list[str]] = {}
_errors_lock = threading.Lock()


class _CaptureStudentErrors(logging.Filter):
    """Keep the tracebacks of the grader's own servers out of the notebook; remember their last line."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _errors_lock:
            errors = _server_errors.get(record.threadName or "")
        if errors is None:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        errors.append(f"{type(exc).__name__}: {exc}" if exc is not None else record.getMessage())
        return False


_capture = _CaptureStudentErrors()


def server_errors() -> list[str]:
    """What the servers started by the current check raised (see ``served``)."""
    with _errors_lock:
        running = [error for name, errors in _server_errors.items() if name in _my_servers() for error in errors]
    return [*_my_errors(), *running]


_local = threading.local()


def _my_servers() -> set[str]:
    if not hasattr(_local, "servers"):
        _local.servers = set()
    return _local.servers


def _my_errors() -> list[str]:
    """What the current check's servers raised before they stopped."""
    if not hasattr(_local, "errors"):
        _local.errors = []
    return _local.errors


@dataclass(frozen=True)
class Site:
    """Where a served app answers: ``url`` is its base URL; ``uds`` the Unix socket behind it, if any."""

    url: str
    uds: str | None = None

    def client(self, timeout: float | httpx.Timeout = READ_TIMEOUT) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=self.uds, verify=local_tls()) if self.uds else None
        return httpx.Client(base_url=self.url, timeout=timeout, verify=local_tls(), transport=transport)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One whole request; ``CheckFailed`` if the app does not answer in time."""
        timeout = kwargs.pop("timeout", READ_TIMEOUT)
        with self.client(timeout) as client:
            try:
                return client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise CheckFailed(f"{method} {path}: no answer within {timeout:g} s") from None
            except httpx.TransportError as exc:
                raise CheckFailed(f"{method} {path} failed: {type(exc).__name__}: {exc}") from None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)


def fastest_answer(site: Site, path: str, requests: int = 3, timeout: float = 3.0) -> float:
    """Send ``requests`` GETs to ``path`` at once; the seconds the fastest took to answer.

    A server whose event loop is blocked answers none of them until it unblocks;
    one that is merely slow (a busy machine) answers at least one of them soon.
    """
    latencies: list[float] = []

    def one() -> None:
        started = time.monotonic()
        try:
            site.get(path, timeout=timeout)
        except CheckFailed:
            return
        latencies.append(time.monotonic() - started)

    threads = [threading.Thread(target=one, name="fastest-answer", daemon=True) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 1.0)
    if not latencies:
        raise CheckFailed(f"GET {path} got no answer within {timeout:g} s: the event loop is blocked")
    return min(latencies)


def start_student_server(app: Any, uds: str | None = None) -> BackgroundServer:
    """Serve ``app`` (on a free port, or on the Unix socket ``uds``); what it raises is kept, not printed."""
    logger = logging.getLogger("uvicorn.error")
    if _capture not in logger.filters:
        logger.addFilter(_capture)
    server = BackgroundServer(app, uds=uds).start()
    with _errors_lock:
        _server_errors[server.thread_name] = []
    return server


def stop_student_server(server: BackgroundServer) -> list[str]:
    """Stop ``server`` without waiting on blocked student code; return what its app raised."""
    stopper = threading.Thread(target=server.stop, name="stop-student-server", daemon=True)
    stopper.start()
    stopper.join(STOP_WAIT)
    with _errors_lock:
        return _server_errors.pop(server.thread_name, [])


@contextmanager
def served(app: Any, uds: str | None = None) -> Iterator[str]:
    """Serve ``app`` for the current check; yield its URL. ``server_errors()`` reports what it raised."""
    server = start_student_server(app, uds)
    _my_servers().add(server.thread_name)
    try:
        yield server.url
    finally:
        _my_errors().extend(stop_student_server(server))


@dataclass
class StreamRead:
    """What a client saw of one response: status, events, comments, and how it ended."""

    status: int
    headers: httpx.Headers
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    body: bytes = b""
    ended: bool = False
    problem: str = ""
    seconds: float = 0.0
    last_event_id: str = ""

    def describe_end(self) -> str:
        if self.ended:
            return "the stream ended"
        return self.problem or "the stream was still open"


def read_stream(
    site: Site,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    max_events: int = 200,
    until: Callable[[StreamRead], bool] | None = None,
    timeout: float = READ_TIMEOUT,
) -> StreamRead:
    """GET ``path`` of ``site`` and parse the event stream until it ends, ``until`` says stop,
    ``max_events`` arrive or ``timeout`` seconds pass. Stopping early closes the
    connection, as a browser tab that goes away would."""
    started = time.monotonic()
    deadline = started + timeout
    parser = EventParser()
    limits = httpx.Timeout(connect=2.0, read=timeout, write=2.0, pool=2.0)
    with site.client(limits) as client:
        try:
            with client.stream("GET", path, headers=headers) as response:
                read = StreamRead(status=response.status_code, headers=response.headers)
                try:
                    for chunk in response.iter_raw():
                        read.body += chunk
                        if len(read.body) > MAX_BODY:
                            read.problem = f"the stream sent more than {MAX_BODY} bytes"
                            break
                        for event in parser.feed(chunk):
                            read.events.append(event)
                            read.arrivals.append(time.monotonic() - started)
                        read.comments = list(parser.comments)
                        read.last_event_id = parser.last_event_id
                        if until is not None and until(read):
                            break
                        if len(read.events) >= max_events:
                            read.problem = f"the stream was still going after {max_events} events"
                            break
                        if time.monotonic() > deadline:
                            read.problem = f"the stream was still open after {timeout:g} s"
                            break
                    else:
                        read.ended = True
                except httpx.ReadTimeout:
                    read.problem = f"nothing arrived for {timeout:g} s and the stream did not end"
                except httpx.RemoteProtocolError as exc:
                    read.problem = f"the stream broke off instead of ending cleanly ({exc})"
        except httpx.ReadTimeout:
            raise CheckFailed(f"no response headers within {timeout:g} s: the endpoint hangs") from None
        except httpx.TransportError as exc:
            raise CheckFailed(f"the request failed: {type(exc).__name__}: {exc}") from None
    read.seconds = time.monotonic() - started
    return read


def short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect_equal(what: str, expected: Any, got: Any) -> None:
    if expected != got:
        raise CheckFailed(f"{what}: expected {short(expected)}, got {short(got)}")


def event_tuples(events: list[Event], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(event, name) for name in fields) for event in events]


def expect_events(read: StreamRead, expected: list[tuple[str, str]], *, must_end: bool = True) -> None:
    """The stream's ``(event, data)`` pairs, exactly, and (by default) a clean end."""
    expect_equal("status", 200, read.status)
    got = event_tuples(read.events, "event", "data")
    if got != expected:
        end = "" if read.ended else f" ({read.describe_end()})"
        raise CheckFailed(f"events: expected {short(expected)}, got {short(got)}{end}")
    if must_end and not read.ended:
        raise CheckFailed(f"all events arrived, but then {read.describe_end()}")
