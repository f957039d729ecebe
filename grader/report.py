"""Grades for people: a table, a Gradescope ``results.json``, a class CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.checks import EXERCISES
from grader.grades import NotebookGrade

# The part of Gradescope's results.json format the grader writes.
GRADESCOPE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "number": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
                },
                "additionalProperties": False,
            },
        },
    },
}


@dataclass
class SubmissionGrade:
    """All exercises of one student's folder."""

    student: str
    notebooks: list[NotebookGrade] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(result.score for grade in self.notebooks for result in grade.results)

    @property
    def max_score(self) -> float:
        return sum(result.max_score for grade in self.notebooks for result in grade.results)

    def exercise_score(self, exercise_id: str) -> float:
        return sum(result.score for grade in self.notebooks if grade.exercise == exercise_id for result in grade.results)


def gradescope_results(grade: SubmissionGrade) -> dict[str, Any]:
    tests = []
    for notebook in grade.notebooks:
        for number, result in enumerate(notebook.results, 1):
            tests.append(
                {
                    "name": f"{result.exercise}: {result.name}",
                    "number": f"{result.exercise[2:].lstrip('0')}.{number}",
                    "score": result.score,
                    "max_score": result.max_score,
                    "status": "passed" if result.passed else "failed",
                    "output": result.message if not result.passed else "",
                    "visibility": "after_published" if result.hidden else "visible",
                }
            )
    return {
        "score": grade.score,
        "execution_time": round(sum(notebook.seconds for notebook in grade.notebooks), 2),
        "output": summary_markdown(grade),
        "output_format": "md",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def summary_markdown(grade: SubmissionGrade) -> str:
    """A per-exercise summary for the student, then how each notebook ran."""
    lines = ["| exercise | score |", "|---|---:|"]
    for notebook in grade.notebooks:
        got = sum(result.score for result in notebook.results)
        total = sum(result.max_score for result in notebook.results)
        lines.append(f"| {notebook.exercise}: {EXERCISES[notebook.exercise].title} | {got:g} / {total:g} |")
    notes = [f"- `{notebook.notebook}`: {note}" for notebook in grade.notebooks for note in notebook.notes]
    lines += ["", *notes] if notes else ["", "Every notebook ran without errors."]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path``, then rename it over ``path``: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(grade: SubmissionGrade, path: Path) -> None:
    write_atomically(path, json.dumps(gradescope_results(grade), indent=2) + "\n")


def exercise_table(grade: SubmissionGrade) -> str:
    lines = []
    for notebook in grade.notebooks:
        got = sum(result.score for result in notebook.results)
        total = sum(result.max_score for result in notebook.results)
        title = EXERCISES[notebook.exercise].title
        lines.append(f"{notebook.exercise}  {title:<45} {got:g}/{total:g}   ({notebook.seconds:.1f} s)")
        for note in notebook.notes:
            lines.append(f"      note: {note}")
        for result in notebook.results:
            mark = "PASS" if result.passed else "FAIL"
            hidden = " (hidden)" if result.hidden else ""
            lines.append(f"      {mark}  {result.name}{hidden}")
            if not result.passed:
                lines.append(f"            {result.message}")
    lines.append(f"Total: {grade.score:g}/{grade.max_score:g}")
    return "\n".join(lines)


def graded_ids(grades: list[SubmissionGrade]) -> list[str]:
    """The exercises that were graded, in course order."""
    seen = {notebook.exercise for grade in grades for notebook in grade.notebooks}
    return [exercise_id for exercise_id in EXERCISES if exercise_id in seen]


def class_table(grades: list[SubmissionGrade]) -> str:
    ids = graded_ids(grades)
    header = f"{'student':<20}" + "".join(f"{exercise_id:>7}" for exercise_id in ids) + f"{'total':>9}"
    rows = [header]
    for grade in grades:
        cells = "".join(f"{grade.exercise_score(exercise_id):>7g}" for exercise_id in ids)
        rows.append(f"{grade.student:<20}{cells}{grade.score:>6g}/{grade.max_score:g}")
    return "\n".join(rows)


def write_csv(grades: list[SubmissionGrade], path: Path) -> None:
    ids = graded_ids(grades)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", *ids, "total", "max_score"])
    for grade in grades:
        writer.writerow([grade.student, *(f"{grade.exercise_score(i):g}" for i in ids), f"{grade.score:g}", f"{grade.max_score:g}"])
    write_atomically(path, buffer.getvalue())
