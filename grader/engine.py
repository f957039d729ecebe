"""Grade notebooks: each runs in the sandbox, every check runs here, in the grader's own process.

One sandbox zygote serves a whole grading run; notebooks are graded
``workers`` at a time, each in a process of its own (see ``grader.remote``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpcore  # noqa: F401 - httpx imports it on first use: import it now, not in several check threads at once
import nbformat

from lesson_app.grading.core import run_check
from lesson_app.grading.harness import local_tls

from grader.checks import exercise
from grader.grades import NotebookGrade, failed_everywhere
from grader.remote import GaveUp, NotebookRun
from grader.sandbox.isolation import LEVELS, detect_level
from grader.sandbox.launcher import ROOT, UidPool, Zygote

DEFAULT_CELL_TIMEOUT = 15.0
BROWSER_EXERCISE = "ex09"
LEVEL_ENV = "LESSON_SANDBOX_LEVEL"  # force a weaker level (tests of each level, or a machine that needs it)
CHECKS_PER_CORE = 8  # notebooks graded at once per core: each mostly waits on its servers and streams
INSTRUCTOR_ONLY = ("grader", "solutions", "tests", ".git", "bench", "autograder", ".venv-lowest")

Job = tuple[str, str]  # (notebook path, exercise id)


def default_workers() -> int:
    return CHECKS_PER_CORE * (os.cpu_count() or 1)


def sandbox_level() -> str:
    """The strongest isolation available here, or the weaker one ``LESSON_SANDBOX_LEVEL`` asks for."""
    detected = detect_level()
    forced = os.environ.get(LEVEL_ENV)
    if not forced:
        return detected
    if forced not in LEVELS:
        raise ValueError(f"{LEVEL_ENV} must be one of {', '.join(LEVELS)}, got {forced!r}")
    if LEVELS.index(forced) < LEVELS.index(detected):
        raise ValueError(f"{forced!r} isolation is not available here; the strongest is {detected!r}")
    return forced


def hidden_paths(jobs: Sequence[Job], extra: Sequence[Path]) -> list[Path]:
    """What the sandbox must not see: the instructor's part of the project, the submissions, the output."""
    paths = [ROOT / name for name in INSTRUCTOR_ONLY]
    paths += {Path(path).resolve().parent for path, _ in jobs}
    paths += [Path(path).resolve() for path in extra]
    return [path for path in paths if path.exists() and path != Path("/")]


def exposed_paths(jobs_root: Path) -> list[Path]:
    """What the sandbox's user must reach: the Python it runs, the installed packages, the lesson app."""
    import lesson_app

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(lesson_app.__file__).parent, jobs_root}
    paths |= {Path(entry) for entry in sys.path if entry and Path(entry).is_dir() and Path(entry) != ROOT}
    return sorted({path.resolve() for path in paths})


def warm_browser() -> None:
    """Start the grader's Chromium before the browser checks need it; without one, those checks say why."""
    from lesson_app.grading.browser import warm_up

    try:
        warm_up()
    except Exception:  # noqa: BLE001 - the checks report a missing or broken browser themselves
        pass


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook, without nbformat's schema validation (it costs more CPU than running most notebooks)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("nbformat") != 4:
        return nbformat.read(path, as_version=4)
    notebook = nbformat.from_dict(data)
    for cell in notebook.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
    return notebook


def grade_one(zygote: Zygote, uids: UidPool | None, job_dir: Path, job: Job, cell_timeout: float) -> NotebookGrade:
    started = time.monotonic()
    path, exercise_id = Path(job[0]), job[1]
    seconds = lambda: round(time.monotonic() - started, 2)  # noqa: E731
    if not path.exists():
        return failed_everywhere(exercise_id, path.name, f"{path.name} is missing from the submission")
    try:
        notebook = read_notebook(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable notebook
        return failed_everywhere(exercise_id, path.name, f"could not run {path.name}: {type(exc).__name__}: {exc}")
    cells = [(index, cell.source) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    run = NotebookRun(zygote, job_dir, cells, cell_timeout, uids)
    try:
        try:
            run.start()
        except GaveUp as exc:
            grade = failed_everywhere(exercise_id, path.name, str(exc), seconds())
            grade.notes = [*run.restarts, *grade.notes]
            return grade
        results = []
        for check in exercise(exercise_id).checks:
            run.begin_check()
            results.append(run_check(check, run, on_abandon=run.abandon))
    finally:
        run.close()
    return NotebookGrade(exercise_id, path.name, results, [*run.restarts, *run.notes], seconds())


def grade_notebooks(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    done: Callable[[int, NotebookGrade], None],
    hide: Sequence[Path] = (),
) -> str:
    """Grade every job, ``workers`` at a time, calling ``done(index, grade)`` as each finishes; return the
    sandbox level used. Every process a notebook started is gone before its ``done`` is called."""
    workers = max(1, min(workers or default_workers(), max(1, len(jobs))))
    local_tls()
    level = sandbox_level()
    jobs_root = Path(tempfile.mkdtemp(prefix="lesson-grading-"))
    os.chmod(jobs_root, 0o711)
    zygote = Zygote(level, hidden_paths(jobs, hide), exposed_paths(jobs_root)).start()
    if any(exercise_id == BROWSER_EXERCISE and Path(path).exists() for path, exercise_id in jobs):
        warm_browser()
    uids = UidPool(workers) if level == "full" else None
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool:
            futures = {
                pool.submit(grade_one, zygote, uids, jobs_root / f"job{index}", job, cell_timeout): index
                for index, job in enumerate(jobs)
            }
            for future, index in futures.items():
                path, exercise_id = jobs[index]
                try:
                    grade = future.result()
                except Exception as exc:  # noqa: BLE001 - a grader bug must not cost the class its report
                    grade = failed_everywhere(exercise_id, Path(path).name, f"the grader failed on it: {exc!r}")
                done(index, grade)
    finally:
        zygote.close()
        shutil.rmtree(jobs_root, ignore_errors=True)
    return level
