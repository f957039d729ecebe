"""The sandbox's side: run a notebook's cells, then answer the grader's requests about its names.

It runs inside the isolated process, as the student's code does, and is just as
untrusted: what it sends back are claims the grader checks, never verdicts.
Requests and replies (one JSON object per line, each reply carrying its
request's ``id``):

- ``{"op": "cell", "source", "timeout"}`` -> ``{"error": name or null, "timed_out": bool}``
- ``{"op": "call", "name", "args", "kwargs", "timeout"}`` -> ``{"result"}`` (``lesson_app.grading.values``)
- ``{"op": "kind", "name"}`` -> ``{"result": one of KINDS}``
- ``{"op": "value", "name"}`` -> ``{"result"}``
- ``{"op": "serve", "fixture", "params", "uds"}`` -> ``{}`` once the app listens on the Unix socket ``uds``
- ``{"op": "stop", "uds"}`` -> ``{"errors": [what the app raised]}``

A failure is ``{"failed": message}`` (the student's names are wrong) or
``{"raised": "Type: message"}`` (the student's code raised).
"""

from __future__ import annotations

import signal
from typing import Any

from lesson_app.grading.core import CheckFailed
from lesson_app.grading.fixtures import build
from lesson_app.grading.harness import start_student_server, stop_student_server
from lesson_app.grading.local import Names, kind_of
from lesson_app.grading.values import decode, encode
from lesson_app.server import BackgroundServer

from grader.sandbox.channel import Channel, ChannelClosed


class Timeout:
    """Arms ``SIGALRM`` around a cell or a call; the alarm raises ``KeyboardInterrupt`` like a kernel interrupt."""

    def __init__(self) -> None:
        self.armed = False
        self.fired = False
        signal.signal(signal.SIGALRM, self._alarm)

    def _alarm(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.fired = True
            raise KeyboardInterrupt

    def arm(self, seconds: float) -> None:
        self.fired = False
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, max(0.001, seconds))

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


class Agent:
    def __init__(self, shell: Any, channel: Channel) -> None:
        self.shell = shell
        self.channel = channel
        self.names = Names(shell.user_ns)
        self.timeout = Timeout()
        self.servers: dict[str, BackgroundServer] = {}

    def run(self) -> None:
        while True:
            try:
                request = self.channel.receive()
            except ChannelClosed:
                return
            reply = self.handle(request)
            reply["id"] = request.get("id")
            self.channel.send(reply)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        try:
            if op == "cell":
                return self.cell(str(request["source"]), float(request["timeout"]))
            if op == "call":
                return self.call(request)
            if op == "kind":
                return {"result": kind_of(self.names.get(str(request["name"])))}
            if op == "value":
                return {"result": encode(self.names.get(str(request["name"])))}
            if op == "serve":
                return self.serve(str(request["fixture"]), dict(request.get("params") or {}), str(request["uds"]))
            if op == "stop":
                return self.stop(str(request["uds"]))
            return {"failed": f"unknown request {op!r}"}
        except CheckFailed as failed:
            return {"failed": str(failed)}
        except KeyboardInterrupt:
            return {"raised": "the call did not finish in time and was interrupted", "timed_out": True}
        except Exception as exc:  # noqa: BLE001 - whatever the student's code raised
            return {"raised": f"{type(exc).__name__}: {exc}"[:2000]}

    def cell(self, source: str, timeout: float) -> dict[str, Any]:
        try:
            self.timeout.arm(timeout)
            try:
                result = self.shell.run_cell(source, store_history=False)
            finally:
                self.timeout.disarm()
        except KeyboardInterrupt:  # the alarm rang between the cell's end and the disarm
            return {"error": None, "timed_out": self.timeout.fired}
        error = result.error_before_exec or result.error_in_exec
        return {"error": type(error).__name__ if error is not None else None, "timed_out": self.timeout.fired}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        function = self.names.function(str(request["name"]))
        args = decode(request.get("args") or [])
        kwargs = decode(request.get("kwargs") or {})
        self.timeout.arm(float(request.get("timeout", 5.0)))
        try:
            result = function(*args, **kwargs)
        finally:
            self.timeout.disarm()
        return {"result": encode(result)}

    def serve(self, fixture: str, params: dict[str, Any], uds: str) -> dict[str, Any]:
        self.servers[uds] = start_student_server(build(fixture, self.names, params), uds)
        return {}

    def stop(self, uds: str) -> dict[str, Any]:
        server = self.servers.pop(uds, None)
        errors = stop_student_server(server) if server is not None else []
        return {"errors": [str(error)[:500] for error in errors[:20]]}
