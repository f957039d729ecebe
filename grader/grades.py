"""What grading a notebook produced: every check's result, and notes on how the notebook ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lesson_app.grading.core import CheckResult

from grader.checks import exercise


@dataclass
class NotebookGrade:
    exercise: str
    notebook: str
    results: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "notebook": self.notebook,
            "results": [result.to_dict() for result in self.results],
            "notes": self.notes,
            "seconds": self.seconds,
        }


def failed_everywhere(exercise_id: str, notebook: str, reason: str, seconds: float = 0.0) -> NotebookGrade:
    """Every check of the exercise failed for one reason (no notebook, a notebook that never ran)."""
    results = [
        CheckResult(exercise_id, check.name, False, 0.0, check.points, check.hidden, reason)
        for check in exercise(exercise_id).checks
    ]
    return NotebookGrade(exercise_id, notebook, results, [reason], seconds)
