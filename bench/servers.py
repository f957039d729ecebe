"""Each peer in its own ``python -m uvicorn module:app`` process, on a free loopback port."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

PEER_MODULES = {
    "ours": "lesson_app.main:app",
    "bare": "bench.peers.bare:app",
    "native": "bench.peers.native:app",
    "raw": "bench.peers.raw:app",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT = 30.0


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PeerServer:
    """One peer app served by uvicorn in a child process."""

    peer: str
    time_scale: float = 0
    heartbeat: float | None = None
    log_dir: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: str | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def launch(self) -> "PeerServer":
        env = {**os.environ, "LESSON_TIME_SCALE": str(self.time_scale), "PYTHONPATH": ROOT}
        env.pop("LESSON_HEARTBEAT", None)
        if self.heartbeat is not None:
            env["LESSON_HEARTBEAT"] = str(self.heartbeat)
        command = [
            sys.executable, "-m", "uvicorn", PEER_MODULES[self.peer],
            "--host", self.host, "--port", str(self.port), "--log-level", "warning",
        ]
        output = None
        if self.log_dir is not None:
            self.log_path = os.path.join(self.log_dir, f"{self.peer}-{self.port}.log")
            output = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, preexec_fn=raise_open_file_limit, stdout=output, stderr=output
        )
        if output is not None:
            output.close()
        return self

    def logged_errors(self) -> int:
        """Tracebacks the server wrote to its log (e.g. a framework error on a client disconnect)."""
        if self.log_path is None or not os.path.exists(self.log_path):
            return 0
        with open(self.log_path, "rb") as log:
            return log.read().count(b"Traceback")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> "PeerServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.peer} server exited with {self.process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.peer} server did not start within {timeout:.0f} s")

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_all(
    peers: list[str], time_scale: float = 0, heartbeat: float | None = None, log_dir: str | None = None
) -> dict[str, PeerServer]:
    """Launch every peer at once, then wait for all of them."""
    servers = {peer: PeerServer(peer, time_scale, heartbeat, log_dir).launch() for peer in peers}
    try:
        for server in servers.values():
            server.wait_ready()
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: dict[str, PeerServer]) -> None:
    for server in servers.values():
        server.stop()
