"""Grade a submission folder, or a class of them, with one kernel per notebook on every core."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from lesson_app.grading.checks import EXERCISES
from lesson_app.grading.notebook import DEFAULT_CELL_TIMEOUT, NotebookGrade, failed_everywhere, grade_notebook
from lesson_app.grading.report import SubmissionGrade

Job = tuple[str, str]  # (notebook path, exercise id)


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
) -> list[NotebookGrade]:
    """Grade every ``(notebook, exercise)`` job, ``workers`` at a time (default: every core); results in job order."""
    workers = max(1, workers or os.cpu_count() or 1)
    grades: list[NotebookGrade | None] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, max(1, len(jobs))), mp_context=context) as pool:
        futures = {pool.submit(_grade_job, job, cell_timeout): index for index, job in enumerate(jobs)}
        bar = tqdm(total=len(jobs), desc=description, unit="notebook", disable=not progress)
        for future in as_completed(futures):
            index = futures[future]
            path, exercise_id = jobs[index]
            try:
                grades[index] = NotebookGrade.from_dict(future.result())
            except Exception as exc:  # a worker that crashed outright
                grades[index] = failed_everywhere(exercise_id, Path(path).name, f"the grader crashed on it: {exc!r}")
            bar.update(1)
        bar.close()
    return [grade for grade in grades if grade is not None]


def submission_jobs(folder: Path, exercise_ids: Iterable[str]) -> list[Job]:
    return [(str(notebook_path(folder, exercise_id)), exercise_id) for exercise_id in exercise_ids]


def grade_submissions(
    folders: Sequence[Path],
    *,
    exercise_ids: Sequence[str] | None = None,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
) -> list[SubmissionGrade]:
    """Grade each folder's notebooks; all notebooks of all folders share one pool of workers."""
    ids = list(exercise_ids or EXERCISES)
    jobs = [job for folder in folders for job in submission_jobs(folder, ids)]
    grades = grade_many(jobs, workers=workers, cell_timeout=cell_timeout, progress=progress)
    return [
        SubmissionGrade(folder.name, grades[position * len(ids) : (position + 1) * len(ids)])
        for position, folder in enumerate(folders)
    ]
