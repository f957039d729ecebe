"""``sse-lesson serve`` in a child process: a real worker, the way a load balancer sees one.

Where :class:`lesson_app.server.BackgroundServer` shares the kernel's memory,
each ``ProcessServer`` has its own, as two workers or two machines do::

    with ProcessServer(hub="redis://127.0.0.1:6379/0") as worker:
        worker.url   # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO

import httpx

from lesson_app.redis_server import free_port

START_TIMEOUT = 90.0  # wide: a busy 2-core machine takes seconds to import a worker
STOP_TIMEOUT = 10.0


class ProcessServer:
    """The lesson app on its own port in a child process (``workers`` > 1: several behind that port)."""

    def __init__(
        self,
        *,
        hub: str | None = None,
        workers: int = 1,
        time_scale: float | None = None,
        port: int | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.hub = hub
        self.workers = workers
        self.time_scale = time_scale
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> ProcessServer:
        """Start the process without waiting for it: start several, then ``wait_ready`` on each."""
        command = self.command or [sys.executable, "-m", "lesson_app.cli", "serve", "--port", str(self.port)]
        if self.command is None:
            command += ["--workers", str(self.workers), "--log-level", "warning"]
            if self.hub is not None:
                command += ["--hub", self.hub]
            if self.time_scale is not None:
                command += ["--time-scale", str(self.time_scale)]
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty server never blocks on it
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> ProcessServer:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                httpx.get(f"{self.url}/tasks", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"the server on port {self.port} did not answer within {timeout} s")

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self) -> ProcessServer:
        return self.launch().wait_ready()

    def stop(self) -> None:
        """SIGTERM (uvicorn ends its streams and workers), then SIGKILL to the whole group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ProcessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
