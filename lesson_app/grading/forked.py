"""Grade notebooks in forked children of one warm process: the ``fork`` engine.

A fork server, started once per grading run, imports IPython, the lesson app
and every check. Each notebook then runs in a child it ``fork()``s: a process
with no student state but nothing left to import. The child runs the code cells
in a fresh IPython ``InteractiveShell`` (top-level ``await``, ``display`` and
magics behave as in Jupyter) with every cell limited in time: past the limit a
``SIGALRM`` interrupts it as a kernel interrupt would. A child that ignores the
interrupt, or dies, is killed and the notebook runs again in a new child without
that cell, as the ``kernel`` engine replaces its kernel. Then the child runs the
checks on the shell's namespace and sends the results back through a pipe
(never through the output student code writes to), tagged with a nonce.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import secrets
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nbformat

from lesson_app.grading.notebook import (
    MAX_PASSES,
    PROBE_TIMEOUT,
    NotebookGrade,
    failed_everywhere,
    grader_cell_timeout,
)
from lesson_app.grading.runner import BATCH_ENV

AVAILABLE = hasattr(os, "fork")
CHILDREN_PER_CORE = 4  # a child mostly waits on its servers and streams
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
GRADING_ENV = {"LESSON_TIME_SCALE": "0", BATCH_ENV: "1"}

Job = tuple[str, str]  # (notebook path, exercise id)


def default_children() -> int:
    return CHILDREN_PER_CORE * (os.cpu_count() or 1)


# --- the child: one notebook, one fresh shell ---------------------------------------------------


class _CellTimeout:
    """Arms ``SIGALRM`` around one cell; the alarm raises ``KeyboardInterrupt`` like a kernel interrupt."""

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
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


def _new_shell() -> Any:
    """The process's IPython shell: created by the fork server, inherited by every child."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history thread, no sqlite file
    config.InteractiveShell.colors = "NoColor"
    return InteractiveShell.instance(config=config)


def _run_cell(shell: Any, source: str, alarm: _CellTimeout, timeout: float) -> tuple[str | None, bool]:
    """Run one cell; the error name it ended with (if any) and whether its time ran out."""
    try:
        alarm.arm(timeout)
        try:
            result = shell.run_cell(source, store_history=False)
        finally:
            alarm.disarm()
    except KeyboardInterrupt:  # the alarm rang between the cell's end and the disarm
        return None, alarm.fired
    error = result.error_before_exec or result.error_in_exec
    return (type(error).__name__ if error is not None else None), alarm.fired


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a killed grader leaves nothing running."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent still kills overdue children itself


def _child(cells: list[tuple[int, str]], folder: str, exercise_id: str, cell_timeout: float, out: int, nonce: str) -> None:
    """Runs in the forked child; never returns."""
    from lesson_app.grading.runner import run_checks

    def send(message: dict) -> None:
        data = f"{nonce} {json.dumps(message)}\n".encode()
        while data:
            data = data[os.write(out, data):]

    try:
        _die_with_parent()
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(folder)
        sys.path.insert(0, folder)  # as a kernel started in the notebook's folder
        shell = _new_shell()
        alarm = _CellTimeout()
        notes: list[str] = []
        for index, source in cells:
            send({"cell": index})
            error, timed_out = _run_cell(shell, source, alarm, cell_timeout)
            if timed_out:
                notes.append(f"cell {index + 1} did not finish within {cell_timeout:g} s and was interrupted")
            elif error is not None:
                notes.append(f"cell {index + 1} raised {error}")
        send({"checks": True})
        results = [result.to_dict() for result in run_checks(exercise_id, shell.user_ns, hidden=True)]
        send({"notes": notes, "results": results})
        os._exit(0)
    except BaseException:  # noqa: BLE001 - whatever happened, the parent sees the pipe close
        os._exit(1)


# --- the fork server: schedules children, enforces hard deadlines ------------------------------


@dataclass
class _Notebook:
    """One job across its passes (a pass = one child)."""

    index: int
    path: Path
    exercise_id: str
    notebook: nbformat.NotebookNode
    started: float = field(default_factory=time.monotonic)
    skip: set[int] = field(default_factory=set)
    restarts: list[str] = field(default_factory=list)
    passes: int = 0
    # the current child
    pid: int = 0
    fd: int = -1
    nonce: str = ""
    buffer: bytes = b""
    cell: int | None = None  # the cell it runs now; None while it starts or runs the checks
    deadline: float = 0.0
    final: dict | None = None

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 2)


class _Scheduler:
    def __init__(self, jobs: Sequence[Job], children: int, cell_timeout: float, done: Callable[[int, NotebookGrade], None]) -> None:
        self.jobs = jobs
        self.children = max(1, children)
        self.cell_timeout = cell_timeout
        self.done = done
        self.running: dict[int, _Notebook] = {}  # read fd -> notebook
        self.keep_open: set[int] = set()  # fds children must not inherit

    def run(self) -> None:
        waiting = deque(range(len(self.jobs)))
        while waiting or self.running:
            while waiting and len(self.running) < self.children:
                self._start(waiting.popleft())
            if not self.running:
                continue
            now = time.monotonic()
            wait = max(0.0, min(job.deadline for job in self.running.values()) - now)
            ready, _, _ = select.select(list(self.running), [], [], wait)
            for job, passes in [(self.running[fd], self.running[fd].passes) for fd in ready]:
                if job.passes == passes and self.running.get(job.fd) is job:  # not re-forked meanwhile
                    self._read(job)
            now = time.monotonic()
            for job in [job for job in self.running.values() if job.deadline <= now]:
                self._overdue(job)

    def _start(self, index: int) -> None:
        path, exercise_id = Path(self.jobs[index][0]), self.jobs[index][1]
        if not path.exists():
            self.done(index, failed_everywhere(exercise_id, path.name, f"{path.name} is missing from the submission"))
            return
        try:
            notebook = _read(path)
        except Exception as exc:  # an unreadable notebook
            self.done(index, failed_everywhere(exercise_id, path.name, f"could not run {path.name}: {type(exc).__name__}: {exc}"))
            return
        self._fork(_Notebook(index, path.resolve(), exercise_id, notebook))

    def _fork(self, job: _Notebook) -> None:
        job.passes += 1
        job.nonce = secrets.token_hex(8)
        job.buffer, job.cell, job.final = b"", None, None
        job.deadline = time.monotonic() + self.cell_timeout + PROBE_TIMEOUT  # start-up
        cells = [
            (index, cell.source)
            for index, cell in enumerate(job.notebook.cells)
            if cell.cell_type == "code" and index not in job.skip
        ]
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            for fd in self.keep_open:
                try:
                    os.close(fd)
                except OSError:
                    pass
            _child(cells, str(job.path.parent), job.exercise_id, self.cell_timeout, write_end, job.nonce)
        os.close(write_end)
        os.set_blocking(read_end, False)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or is gone already
        job.pid, job.fd = pid, read_end
        self.running[read_end] = job
        self.keep_open.add(read_end)

    def _read(self, job: _Notebook) -> None:
        try:
            data = os.read(job.fd, 65536)
        except BlockingIOError:
            return
        if not data:
            self._ended(job)
            return
        job.buffer += data
        *lines, job.buffer = job.buffer.split(b"\n")
        prefix = f"{job.nonce} ".encode()
        for line in lines:
            if not line.startswith(prefix):
                continue
            try:
                message = json.loads(line[len(prefix):])
            except ValueError:
                continue
            now = time.monotonic()
            if "cell" in message:
                job.cell = int(message["cell"])
                job.deadline = now + self.cell_timeout + PROBE_TIMEOUT
            elif "checks" in message:
                job.cell = None
                job.deadline = now + grader_cell_timeout(job.exercise_id)
            elif "results" in message:
                job.final = message
        if job.final is not None:  # done, even if something the notebook started still holds the pipe open
            self._ended(job)

    def _reap(self, job: _Notebook) -> None:
        del self.running[job.fd]
        self.keep_open.discard(job.fd)
        os.close(job.fd)
        for kill in (lambda: os.killpg(job.pid, signal.SIGKILL), lambda: os.kill(job.pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
        try:
            os.waitpid(job.pid, 0)
        except ChildProcessError:
            pass

    def _ended(self, job: _Notebook) -> None:
        self._reap(job)
        if job.final is not None:
            notes = list(job.restarts) + list(job.final["notes"])
            grade = NotebookGrade.from_dict(
                {"exercise": job.exercise_id, "notebook": job.path.name, "results": job.final["results"],
                 "notes": notes, "seconds": job.seconds()}
            )
            self.done(job.index, grade)
        elif job.cell is not None:
            self._again_without(job, job.cell, "stopped the kernel")
        else:
            self.done(job.index, self._checks_failed(job, "the process running it died"))

    def _overdue(self, job: _Notebook) -> None:
        self._reap(job)
        if job.cell is not None:
            self._again_without(job, job.cell, f"hung past {self.cell_timeout:g} s and ignored the interrupt")
        else:
            self.done(job.index, self._checks_failed(job, "no results in time"))

    def _checks_failed(self, job: _Notebook, why: str) -> NotebookGrade:
        return failed_everywhere(
            job.exercise_id, job.path.name,
            f"the checks could not run in this notebook's kernel ({why}); "
            "does the notebook replace lesson_app or block the kernel?",
            job.seconds(),
        )

    def _again_without(self, job: _Notebook, cell: int, why: str) -> None:
        job.skip.add(cell)
        job.restarts.append(f"cell {cell + 1} {why}: the notebook was run again, from a fresh start, without it")
        if job.passes >= MAX_PASSES:
            self.done(job.index, failed_everywhere(job.exercise_id, job.path.name, "the notebook kept hanging its kernel", job.seconds()))
            return
        self._fork(job)


def _read(path: Path) -> nbformat.NotebookNode:
    """The notebook, without nbformat's schema validation (it costs more CPU than running most notebooks)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("nbformat") != 4:
        return nbformat.read(path, as_version=4)
    notebook = nbformat.from_dict(data)
    for cell in notebook.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
    return notebook


def _preload() -> None:
    """Import, once, everything a child would otherwise import per notebook."""
    os.environ.update(GRADING_ENV)
    import fastapi  # noqa: F401
    import httpx  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import sse_starlette  # noqa: F401
    import uvicorn

    import lesson_app.grading.checks  # noqa: F401
    import lesson_app.main
    from lesson_app.grading.harness import local_tls

    local_tls()
    _new_shell()  # not run yet: every child starts from this pristine shell instead of building its own
    uvicorn.Config(lesson_app.main.app, log_config=None).load()  # imports uvicorn's protocol modules


def _serve(jobs: Sequence[Job], children: int, cell_timeout: float, connection: Connection) -> None:
    """The fork server's main: grade every job, sending ``(index, grade dict)`` as each finishes."""
    _die_with_parent()
    _preload()
    gc.freeze()  # children's garbage collections then leave the shared (copy-on-write) memory untouched
    scheduler = _Scheduler(jobs, children, cell_timeout, lambda index, grade: connection.send((index, grade.to_dict())))
    scheduler.keep_open.add(connection.fileno())
    scheduler.run()
    connection.send(None)
    connection.close()


def grade_forked(
    jobs: Sequence[Job], *, children: int, cell_timeout: float, done: Callable[[int, NotebookGrade], None]
) -> None:
    """Grade every job in a fork server, ``children`` notebooks at a time; ``done(index, grade)`` as each finishes."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    server = context.Process(target=_serve, args=(list(jobs), children, cell_timeout, sender), daemon=True)
    server.start()
    sender.close()
    finished: set[int] = set()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                break
            if message is None:
                break
            index, grade = message
            finished.add(index)
            done(index, NotebookGrade.from_dict(grade))
    finally:
        receiver.close()
        server.join(5)
        if server.is_alive():
            server.kill()
            server.join()
    for index, (path, exercise_id) in enumerate(jobs):
        if index not in finished:
            done(index, failed_everywhere(exercise_id, Path(path).name, f"the grader crashed on it (exit code {server.exitcode})"))
