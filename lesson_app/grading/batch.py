"""Grade a submission folder, or a class of them, many notebooks at once.

Two engines run a notebook: ``fork`` (default where ``os.fork`` exists; see
``lesson_app.grading.forked``) and ``kernel`` (a fresh Jupyter kernel per
notebook, see ``lesson_app.grading.notebook``).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from lesson_app.grading.checks import EXERCISES
from lesson_app.grading.notebook import DEFAULT_CELL_TIMEOUT, NotebookGrade, failed_everywhere, grade_notebook
from lesson_app.grading.report import SubmissionGrade

Job = tuple[str, str]  # (notebook path, exercise id)
ENGINES = ("fork", "kernel")


def default_engine() -> str:
    from lesson_app.grading.forked import AVAILABLE

    return "fork" if AVAILABLE else "kernel"


def default_workers(engine: str) -> int:
    """Notebooks graded at once: a kernel per core, or several forked children per core (they mostly wait)."""
    if engine == "fork":
        from lesson_app.grading.forked import default_children

        return default_children()
    return os.cpu_count() or 1


def notebook_path(folder: Path, exercise_id: str) -> Path:
    """The exercise's notebook in ``folder``: its fixed name, or any ``exNN_*.ipynb``."""
    fixed = folder / EXERCISES[exercise_id].notebook
    if fixed.exists():
        return fixed
    matches = sorted(folder.glob(f"{exercise_id}_*.ipynb"))
    return matches[0] if matches else fixed


def is_submission(folder: Path) -> bool:
    """A folder shaped like ``exercises/``: it holds exercise notebooks."""
    return folder.is_dir() and any(folder.glob("ex[0-9][0-9]_*.ipynb"))


def student_folders(class_dir: Path) -> list[Path]:
    return sorted(child for child in class_dir.iterdir() if is_submission(child))


def _grade_job(job: Job, cell_timeout: float) -> dict:
    path, exercise_id = job
    return grade_notebook(path, exercise_id, cell_timeout).to_dict()


def grade_many(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
    description: str = "grading",
    engine: str | None = None,
) -> list[NotebookGrade]:
    """Grade every ``(notebook, exercise)`` job, ``workers`` at a time (default: see ``default_workers``); results in job order."""
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if engine == "fork":
        from lesson_app.grading.forked import AVAILABLE

        engine = "fork" if AVAILABLE else "kernel"
    workers = max(1, workers or default_workers(engine))
    grades: list[NotebookGrade | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=description, unit="notebook", disable=not progress)

    def done(index: int, grade: NotebookGrade) -> None:
        grades[index] = grade
        bar.update(1)

    if engine == "fork":
        from lesson_app.grading.forked import grade_forked

        grade_forked(jobs, children=workers, cell_timeout=cell_timeout, done=done)
    else:
        _grade_in_kernels(jobs, workers, cell_timeout, done)
    bar.close()
    return [grade for grade in grades if grade is not None]


def _grade_in_kernels(
    jobs: Sequence[Job], workers: int, cell_timeout: float, done: Callable[[int, NotebookGrade], None]
) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, max(1, len(jobs))), mp_context=context) as pool:
        futures = {pool.submit(_grade_job, job, cell_timeout): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            path, exercise_id = jobs[index]
            try:
                grade = NotebookGrade.from_dict(future.result())
            except Exception as exc:  # a worker that crashed outright
                grade = failed_everywhere(exercise_id, Path(path).name, f"the grader crashed on it: {exc!r}")
            done(index, grade)


def submission_jobs(folder: Path, exercise_ids: Iterable[str]) -> list[Job]:
    return [(str(notebook_path(folder, exercise_id)), exercise_id) for exercise_id in exercise_ids]


def grade_submissions(
    folders: Sequence[Path],
    *,
    exercise_ids: Sequence[str] | None = None,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
    engine: str | None = None,
) -> list[SubmissionGrade]:
    """Grade each folder's notebooks; all notebooks of all folders share one pool of workers."""
    ids = list(exercise_ids or EXERCISES)
    jobs = [job for folder in folders for job in submission_jobs(folder, ids)]
    grades = grade_many(jobs, workers=workers, cell_timeout=cell_timeout, progress=progress, engine=engine)
    return [
        SubmissionGrade(folder.name, grades[position * len(ids) : (position + 1) * len(ids)])
        for position, folder in enumerate(folders)
    ]
