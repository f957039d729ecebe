"""A notebook run in the sandbox, seen from the grader: a ``Submission`` whose every answer is a claim.

``NotebookRun`` sends the notebook's code cells to a fresh sandboxed process one
by one, each with a time limit. A cell that ignores its interrupt, or kills its
process, costs that cell: the notebook runs again from a fresh process without
it. Checks then ask the process to call functions, describe names or serve the
apps its code built; the grader reads those apps over HTTP itself. If the process
stops answering during the checks, it is killed, and the next check starts a
fresh one that runs the cells again.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lesson_app.grading.core import KINDS, CheckFailed, StudentRaised, Submission
from lesson_app.grading.harness import Site
from lesson_app.grading.values import decode, encode

from grader.sandbox.channel import ChannelClosed
from grader.sandbox.launcher import SandboxError, SandboxProcess, UidPool, Zygote

MAX_PASSES = 4  # fresh processes per notebook, restarts included
PROBE_TIMEOUT = 5.0  # beyond a cell's own limit: the time its interrupt gets to work
CALL_TIMEOUT = 4.0
REPLY_GRACE = 2.0
SERVE_TIMEOUT = 10.0


class GaveUp(RuntimeError):
    """The notebook kept hanging or killing its process."""


class NotebookRun(Submission):
    def __init__(
        self,
        zygote: Zygote,
        job_dir: Path,
        cells: list[tuple[int, str]],
        cell_timeout: float,
        uids: UidPool | None = None,
    ) -> None:
        self.zygote = zygote
        self.job_dir = job_dir
        self.cells = cells
        self.cell_timeout = cell_timeout
        self.uids = uids
        self.notes: list[str] = []
        self.restarts: list[str] = []
        self.skip: set[int] = set()
        self.passes = 0
        self.gave_up = ""
        self._cells_done = False
        self._process: SandboxProcess | None = None
        self._uid: int | None = None
        self._lock = threading.RLock()
        self._sockets = itertools.count(1)
        self._errors: list[str] = []

    # --- the notebook's process ------------------------------------------------------------

    def start(self) -> None:
        """Run the cells in a fresh process, restarting without any cell that hangs or kills it."""
        with self._lock:
            while self._process is None:
                if self.passes >= MAX_PASSES:
                    self.gave_up = self.gave_up or (
                        "the process running the notebook kept dying during the checks"
                        if self._cells_done
                        else "the notebook kept hanging its kernel"
                    )
                    raise GaveUp(self.gave_up)
                self.passes += 1
                notes: list[str] = []
                process = self._spawn()
                broken = self._run_cells(process, notes)
                if broken is None:
                    self._process = process
                    if not self._cells_done:
                        self.notes, self._cells_done = notes, True
                    return
                index, why = broken
                process.kill()
                self.skip.add(index)
                self.restarts.append(f"cell {index + 1} {why}: the notebook was run again, from a fresh start, without it")

    def _spawn(self) -> SandboxProcess:
        if self.uids is not None and self._uid is None:
            self._uid = self.uids.take()
        self.job_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._uid is not None:
            os.chown(self.job_dir, self._uid, self._uid)
        try:
            return self.zygote.spawn(self.job_dir, self._uid)
        except SandboxError as exc:
            self.gave_up = f"the sandbox could not run the notebook: {exc}"
            raise GaveUp(self.gave_up) from None

    def _run_cells(self, process: SandboxProcess, notes: list[str]) -> tuple[int, str] | None:
        """The cell that broke the process, and how; ``None`` if every cell ran."""
        for index, source in self.cells:
            if index in self.skip:
                continue
            try:
                reply = self._exchange(
                    process, {"op": "cell", "source": source, "timeout": self.cell_timeout}, self.cell_timeout + PROBE_TIMEOUT
                )
            except ChannelClosed as exc:
                if "timed out" in str(exc):
                    return index, f"hung past {self.cell_timeout:g} s and ignored the interrupt"
                return index, "stopped the kernel"
            if reply.get("timed_out") is True:
                notes.append(f"cell {index + 1} did not finish within {self.cell_timeout:g} s and was interrupted")
            elif isinstance(reply.get("error"), str):
                notes.append(f"cell {index + 1} raised {reply['error'][:100]}")
        return None

    def _exchange(self, process: SandboxProcess, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        request_id = secrets.token_hex(8)  # unguessable: a forged reply cannot answer a request it has not seen
        process.channel.send({**request, "id": request_id})
        while True:
            reply = process.channel.receive(timeout)
            if reply.get("id") == request_id:
                return reply

    def abandon(self) -> None:
        """A check ran out of time: the process may be stuck in student code; kill it (a later check starts anew)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()

    def close(self) -> None:
        """Kill the process (and all it started), then remove its working folder."""
        self.abandon()
        shutil.rmtree(self.job_dir, ignore_errors=True)
        if self._uid is not None and self.uids is not None:
            self.uids.give_back(self._uid)
            self._uid = None

    # --- requests -------------------------------------------------------------------------------

    def request(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``request`` to the notebook's process; its reply, or ``CheckFailed`` saying what went wrong."""
        with self._lock:
            try:
                self.start()
            except GaveUp as exc:
                raise CheckFailed(f"the checks could not run: {exc}") from None
            process = self._process
            assert process is not None
            try:
                reply = self._exchange(process, request, timeout)
            except ChannelClosed as exc:
                self.abandon()
                what = "stopped answering" if "timed out" in str(exc) else "died"
                raise CheckFailed(f"the process running your notebook {what} during this check") from None
        if "failed" in reply:
            raise CheckFailed(str(reply["failed"])[:2000])
        if "raised" in reply:
            raise StudentRaised(str(reply["raised"])[:2000])
        return reply

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        reply = self.request(
            {"op": "call", "name": name, "args": encode(list(args)), "kwargs": encode(kwargs), "timeout": CALL_TIMEOUT},
            CALL_TIMEOUT + REPLY_GRACE,
        )
        return decode(reply.get("result"))

    def kind(self, name: str) -> str:
        kind = self.request({"op": "kind", "name": name}, REPLY_GRACE).get("result")
        if kind not in KINDS:
            raise CheckFailed(f"`{name}`: the notebook's process described it as {str(kind)[:50]!r}")
        return kind

    def value(self, name: str) -> Any:
        return decode(self.request({"op": "value", "name": name}, REPLY_GRACE).get("result"))

    @contextmanager
    def serve(self, fixture: str, **params: Any) -> Iterator[Site]:
        uds = str(self.job_dir / f"app{next(self._sockets)}.sock")
        self.request({"op": "serve", "fixture": fixture, "params": encode(params), "uds": uds}, SERVE_TIMEOUT)
        try:
            yield Site("http://localhost", uds)
        finally:
            try:
                reply = self.request({"op": "stop", "uds": uds}, REPLY_GRACE + 1.0)
                errors = reply.get("errors")
                if isinstance(errors, list):
                    self._errors.extend(str(error)[:500] for error in errors[:20])
            except (CheckFailed, StudentRaised):
                pass

    def begin_check(self) -> None:
        self._errors = []

    def server_errors(self) -> list[str]:
        return list(self._errors)
