"""Newline-delimited JSON over a Unix socket: the only thing that crosses between grader and sandbox.

The grader's side never trusts what arrives: a line that is too long, not JSON, or
late is a broken sandbox, never an exception it did not expect.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

MAX_LINE = 4 << 20


class ChannelClosed(ConnectionError):
    """The other side is gone, too slow, or sent something that is not a message."""


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode()
        try:
            self.sock.settimeout(None)
            self.sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(f"could not send: {exc}") from None

    def receive(self, timeout: float | None = None) -> dict[str, Any]:
        """The next message; ``ChannelClosed`` on EOF, after ``timeout`` seconds, or on garbage."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE:
                raise ChannelClosed("a message longer than the limit")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise ChannelClosed("timed out")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                raise ChannelClosed("timed out") from None
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise ChannelClosed("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise ChannelClosed("a message that is not a JSON object")
        return message

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
