"""A monitor stream read in a background thread, so a test can hold several open at once."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from lesson_app.wire import Event, EventParser

REQUEST_TIMEOUT = 10.0


class MonitorReader:
    """``GET`` a stream and collect its events until ``close()``, or until the server ends it."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.events: list[Event] = []
        self.status: int | None = None
        self.response_headers: httpx.Headers | None = None
        self.ended = False  # the server closed the stream
        self.error: BaseException | None = None
        self._socket: socket.socket | None = None
        self._opened = threading.Event()
        self._closing = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def open(self, timeout: float = REQUEST_TIMEOUT) -> MonitorReader:
        self._thread.start()
        assert self._opened.wait(timeout), f"no response from {self.url}"
        if self.error is not None:
            raise self.error
        return self

    def _read(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(REQUEST_TIMEOUT, read=None)) as client:
                with client.stream("GET", self.url, headers=self.headers) as response:
                    self.status = response.status_code
                    self.response_headers = response.headers
                    self._socket = response.extensions["network_stream"].get_extra_info("socket")
                    self._opened.set()
                    parser = EventParser()
                    for chunk in response.iter_raw():
                        if self._closing.is_set():
                            return
                        with self._changed:
                            self.events.extend(parser.feed(chunk))
                            self._changed.notify_all()
            self.ended = True
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            if not self._closing.is_set():
                self.error = error
        finally:
            self._opened.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = REQUEST_TIMEOUT) -> list[Event]:
        """The first ``count`` events; fails if they do not all arrive within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.events) < count and not self.ended and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            assert len(self.events) >= count, f"{len(self.events)} of {count} events: {self.events}"
            return list(self.events[:count])

    def close(self) -> None:
        """Leave now: the connection is shut, as a closed browser tab would."""
        self._closing.set()
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self) -> MonitorReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
