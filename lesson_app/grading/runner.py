"""``check("exNN")``: the visible checks of an exercise, run on the notebook's own code, for feedback."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from lesson_app.grading.checks import EXERCISES
from lesson_app.grading.core import BATCH_ENV, CheckResult, Exercise, find_exercise, run_check
from lesson_app.grading.local import LocalSubmission

__all__ = ["BATCH_ENV", "check", "exercise", "run_checks"]


def exercise(exercise_id: str) -> Exercise:
    return find_exercise(EXERCISES, exercise_id)


def run_checks(exercise_id: str, namespace: Mapping[str, Any]) -> list[CheckResult]:
    """Every visible check of the exercise on ``namespace``, one after another."""
    submission = LocalSubmission(namespace)
    return [run_check(check, submission) for check in exercise(exercise_id).checks]


def check(exercise_id: str) -> None:
    """In a notebook: run this exercise's visible checks on the notebook's own code and print the verdicts.

    This is feedback, not a grade: it runs in your own kernel. The grader runs
    your notebook in a separate process and adds hidden checks of the same skills.
    """
    namespace = sys._getframe(1).f_globals
    found = exercise(exercise_id)
    if os.environ.get(BATCH_ENV) == "1":
        print(f"{found.id}: checks run after the notebook, by the grader")
        return
    results = run_checks(exercise_id, namespace)
    passed = sum(result.passed for result in results)
    print(f"{found.id}: {found.title}")
    for result in results:
        print(f"  {'PASS' if result.passed else 'FAIL'}  {result.name}")
        if not result.passed:
            print(f"        {result.message}")
    verdict = "all passed" if passed == len(results) else "keep going"
    print(f"{passed}/{len(results)} checks passed ({verdict}); grading adds hidden checks of the same skills.")
