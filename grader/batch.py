"""Grade submission folders (shaped like ``exercises/``), many notebooks at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from grader.checks import EXERCISES
from grader.engine import DEFAULT_CELL_TIMEOUT, Job, grade_notebooks
from grader.grades import NotebookGrade
from grader.report import SubmissionGrade


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


def submission_jobs(folder: Path, exercise_ids: Iterable[str]) -> list[Job]:
    return [(str(notebook_path(folder, exercise_id)), exercise_id) for exercise_id in exercise_ids]


def grade_many(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
    description: str = "grading",
    hide: Sequence[Path] = (),
) -> list[NotebookGrade]:
    """Grade every ``(notebook, exercise)`` job; results in job order."""
    grades: list[NotebookGrade | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=description, unit="notebook", disable=not progress)

    def done(index: int, grade: NotebookGrade) -> None:
        grades[index] = grade
        bar.update(1)

    try:
        grade_notebooks(jobs, workers=workers, cell_timeout=cell_timeout, done=done, hide=hide)
    finally:
        bar.close()
    return [grade for grade in grades if grade is not None]


def grade_submissions(
    folders: Sequence[Path],
    *,
    exercise_ids: Sequence[str] | None = None,
    workers: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
    hide: Sequence[Path] = (),
) -> list[SubmissionGrade]:
    """Grade each folder's notebooks; all notebooks of all folders share one sandbox and one pool."""
    ids = list(exercise_ids or EXERCISES)
    jobs = [job for folder in folders for job in submission_jobs(folder, ids)]
    grades = grade_many(jobs, workers=workers, cell_timeout=cell_timeout, progress=progress, hide=hide)
    return [
        SubmissionGrade(folder.name, grades[position * len(ids) : (position + 1) * len(ids)])
        for position, folder in enumerate(folders)
    ]
