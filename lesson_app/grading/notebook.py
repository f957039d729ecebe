"""Grade one exercise notebook: run it in a fresh kernel, then run every check in that kernel.

The notebook runs cell by cell (its own ``check()`` cells only print that
grading takes over) with a time limit per cell; a cell that errors
costs only what depends on it. A cell that outlives its limit is interrupted;
if the kernel stays deaf to the interrupt (or dies), it is replaced and the
notebook runs again without that cell. Then a last cell, added by the grader,
calls the checks on the kernel's own namespace and prints the results as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from lesson_app.grading.core import CheckResult
from lesson_app.grading.runner import BATCH_ENV, RESULTS_MARKER, exercise

DEFAULT_CELL_TIMEOUT = 15.0
PROBE_TIMEOUT = 5.0
KERNEL_START_TIMEOUT = 60.0
MAX_PASSES = 4
TIMED_OUT = "CellTimeoutError"


@dataclass
class NotebookGrade:
    exercise: str
    notebook: str
    results: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "notebook": self.notebook,
            "results": [result.to_dict() for result in self.results],
            "notes": self.notes,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookGrade":
        return cls(
            data["exercise"], data["notebook"], [CheckResult.from_dict(r) for r in data["results"]], data["notes"], data["seconds"]
        )


def failed_everywhere(exercise_id: str, notebook: str, reason: str, seconds: float = 0.0) -> NotebookGrade:
    """Every check of the exercise failed for one reason (no notebook, a kernel that never answered)."""
    results = [
        CheckResult(exercise_id, check.name, False, 0.0, check.points, check.hidden, reason)
        for check in exercise(exercise_id).checks
    ]
    return NotebookGrade(exercise_id, notebook, results, [reason], seconds)


def grader_cell_timeout(exercise_id: str) -> float:
    return sum(check.time_limit for check in exercise(exercise_id).checks) + 15.0


class _Pass:
    """One run of the notebook in one kernel."""

    def __init__(self, notebook: nbformat.NotebookNode, folder: Path, cell_timeout: float) -> None:
        self.notebook = notebook
        self.folder = folder
        self.cell_timeout = cell_timeout
        self.client = NotebookClient(
            notebook,
            timeout=int(max(1, round(cell_timeout))),
            startup_timeout=int(KERNEL_START_TIMEOUT),
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMED_OUT, "evalue": f"cell did not finish within {cell_timeout:g} s", "traceback": []},
            shutdown_kernel="immediate",
            record_timing=False,
            iopub_timeout=2,
            resources={"metadata": {"path": str(folder)}},
        )

    async def run_cell(self, index: int, timeout: float) -> str | None:
        """Run one cell; the error name it ended with, if any ('DeadKernel' if the kernel died)."""
        cell = self.notebook.cells[index]
        self.client.timeout = int(max(1, round(timeout)))
        started = time.monotonic()
        try:
            await self.client.async_execute_cell(cell, index)
        except DeadKernelError:
            return "DeadKernel"
        except CellTimeoutError:
            return TIMED_OUT
        if time.monotonic() - started >= self.client.timeout:
            return TIMED_OUT  # interrupted: whatever it printed, the cell ran out of time
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return output.get("ename", "Error")
        return None

    async def responsive(self) -> bool:
        probe = nbformat.v4.new_code_cell("pass")
        self.notebook.cells.append(probe)
        try:
            return await self.run_cell(len(self.notebook.cells) - 1, PROBE_TIMEOUT) is None
        finally:
            self.notebook.cells.pop()


async def _grade_async(path: Path, exercise_id: str, cell_timeout: float) -> NotebookGrade:
    started = time.monotonic()
    original = nbformat.read(path, as_version=4)
    skip: set[int] = set()
    restarts: list[str] = []
    env = {**os.environ, "LESSON_TIME_SCALE": "0", BATCH_ENV: "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    for _ in range(MAX_PASSES):
        notebook = nbformat.from_dict(original)
        nonce = secrets.token_hex(8)
        notebook.cells.append(
            nbformat.v4.new_code_cell(
                f"from lesson_app.grading.runner import report_for_grader as __lesson_grade\n"
                f"__lesson_grade({exercise_id!r}, {nonce!r})"
            )
        )
        grader_index = len(notebook.cells) - 1
        run = _Pass(notebook, path.parent, cell_timeout)
        hung: int | None = None
        why = ""
        notes = list(restarts)
        async with run.client.async_setup_kernel(env=env, stderr=subprocess.DEVNULL):
            for index, cell in enumerate(notebook.cells[:grader_index]):
                if cell.cell_type != "code" or index in skip:
                    continue
                error = await run.run_cell(index, cell_timeout)
                if error == "DeadKernel":
                    hung, why = index, "stopped the kernel"
                    break
                if error == TIMED_OUT and not await run.responsive():
                    hung, why = index, f"hung past {cell_timeout:g} s and ignored the interrupt"
                    break
                if error is not None:
                    what = f"did not finish within {cell_timeout:g} s and was interrupted" if error == TIMED_OUT else f"raised {error}"
                    notes.append(f"cell {index + 1} {what}")
            if hung is None:
                error = await run.run_cell(grader_index, grader_cell_timeout(exercise_id))
                results = _parse_results(notebook.cells[grader_index], nonce)
                if results is not None:
                    return NotebookGrade(exercise_id, path.name, results, notes, round(time.monotonic() - started, 2))
                return failed_everywhere(
                    exercise_id, path.name,
                    f"the checks could not run in this notebook's kernel ({error or 'no results'}); "
                    "does the notebook replace lesson_app or block the kernel?",
                    round(time.monotonic() - started, 2),
                )
        skip.add(hung)
        restarts.append(f"cell {hung + 1} {why}: the notebook was run again, from a fresh start, without it")
    return failed_everywhere(exercise_id, path.name, "the notebook kept hanging its kernel", round(time.monotonic() - started, 2))


def _parse_results(cell: nbformat.NotebookNode, nonce: str) -> list[CheckResult] | None:
    prefix = f"{RESULTS_MARKER} {nonce} "
    for output in cell.get("outputs", []):
        if output.get("output_type") != "stream":
            continue
        for line in output.get("text", "").splitlines():
            if line.startswith(prefix):
                return [CheckResult.from_dict(item) for item in json.loads(line[len(prefix):])]
    return None


def grade_notebook(path: str | Path, exercise_id: str, cell_timeout: float = DEFAULT_CELL_TIMEOUT) -> NotebookGrade:
    """Run ``path`` in a fresh kernel at time scale 0 and run all of ``exercise_id``'s checks there."""
    path = Path(path)
    if not path.exists():
        return failed_everywhere(exercise_id, path.name, f"{path.name} is missing from the submission")
    try:
        return asyncio.run(_grade_async(path.resolve(), exercise_id, cell_timeout))
    except Exception as exc:  # an unreadable notebook, a kernel that never started
        return failed_everywhere(exercise_id, path.name, f"could not run {path.name}: {type(exc).__name__}: {exc}")
