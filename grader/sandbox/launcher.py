"""The grader's handle on the sandbox: start the zygote, spawn a notebook's process, kill it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.channel import Channel, ChannelClosed
from grader.sandbox.isolation import SANDBOX_UID_BASE

ROOT = Path(__file__).resolve().parents[2]
ZYGOTE_START_TIMEOUT = 60.0
SPAWN_TIMEOUT = 15.0


class SandboxError(RuntimeError):
    """The sandbox could not be started."""


@dataclass
class SandboxProcess:
    """One notebook's isolated process: ``agent_pid`` runs the notebook, ``first_pid`` is its parent."""

    first_pid: int
    agent_pid: int
    channel: Channel
    level: str

    def kill(self) -> None:
        """Kill the notebook's process and, with it, everything it started (its pid namespace, or its session)."""
        self.channel.close()
        targets = [lambda: os.kill(self.agent_pid, signal.SIGKILL), lambda: os.kill(self.first_pid, signal.SIGKILL)]
        if self.level == "process":
            targets.insert(0, lambda: os.killpg(self.agent_pid, signal.SIGKILL))
        for kill in targets:
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass


class Zygote:
    """``python -m grader.sandbox.zygote``, started once per grading run from the grader's main thread."""

    def __init__(self, level: str, hide: list[Path], expose: list[Path]) -> None:
        self.level = level
        self.hide = hide
        self.expose = expose
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._replies: Channel | None = None

    def start(self) -> "Zygote":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        config = {
            "control_fd": theirs.fileno(),
            "level": self.level,
            "hide": [str(path) for path in self.hide],
            "expose": [str(path) for path in self.expose],
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", json.dumps(config)],
            pass_fds=[theirs.fileno()],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        theirs.close()
        self._control = ours
        self._replies = Channel(ours)
        try:
            self._replies.receive(ZYGOTE_START_TIMEOUT)
        except ChannelClosed as exc:
            error = self._stderr_tail()
            self.close()
            raise SandboxError(f"the sandbox did not start ({exc}): {error}") from None
        assert self._process.stderr is not None
        self._process.stderr.close()
        return self

    def _stderr_tail(self) -> str:
        if self._process is None or self._process.stderr is None:
            return ""
        try:
            self._process.kill()
            return self._process.stderr.read().decode(errors="replace")[-2000:]
        except (OSError, ValueError):
            return ""

    def spawn(self, job_dir: Path, uid: int | None) -> SandboxProcess:
        """A fresh notebook process, working in ``job_dir``, running as ``uid`` (``full`` level)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = json.dumps({"op": "spawn", "dir": str(job_dir), "uid": uid}).encode()
        with self._lock:
            if self._control is None or self._replies is None:
                raise SandboxError("the sandbox is not running")
            try:
                socket.send_fds(self._control, [request], [theirs.fileno()])
                reply = self._replies.receive(SPAWN_TIMEOUT)
            except (OSError, ChannelClosed) as exc:
                raise SandboxError(f"the sandbox stopped answering: {exc}") from None
            finally:
                theirs.close()
        if "error" in reply or not isinstance(reply.get("pid"), int):
            ours.close()
            raise SandboxError(f"could not start a notebook process: {reply.get('error')}")
        channel = Channel(ours)
        try:
            hello = channel.receive(SPAWN_TIMEOUT)
        except ChannelClosed as exc:
            channel.close()
            raise SandboxError(f"the notebook process did not start: {exc}") from None
        agent_pid = hello.get("pid")
        if not isinstance(agent_pid, int) or agent_pid <= 1:
            channel.close()
            raise SandboxError("the notebook process did not say who it is")
        return SandboxProcess(reply["pid"], agent_pid, channel, self.level)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


class UidPool:
    """One unprivileged uid per notebook running at once (``full`` level), so no two can touch each other."""

    def __init__(self, size: int) -> None:
        self._free = [SANDBOX_UID_BASE + slot for slot in range(size)]
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            return self._free.pop(0)

    def give_back(self, uid: int) -> None:
        with self._lock:
            self._free.append(uid)
