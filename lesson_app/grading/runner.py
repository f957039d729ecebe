"""Run an exercise's checks against the names a notebook defined."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from lesson_app.grading.checks import EXERCISES
from lesson_app.grading.core import CheckResult, Exercise, Submission, run_check

RESULTS_MARKER = "LESSON-GRADING-RESULTS"
BATCH_ENV = "LESSON_GRADING_BATCH"  # set in the grader's kernels: the notebook's own check() cells stand aside


def exercise(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        known = ", ".join(sorted(EXERCISES))
        raise ValueError(f"unknown exercise {exercise_id!r}; known: {known}") from None


def run_checks(exercise_id: str, namespace: Mapping[str, Any], *, hidden: bool = True) -> list[CheckResult]:
    """Every check of the exercise (visible ones only unless ``hidden``), one after another."""
    submission = Submission(namespace)
    return [run_check(check, submission) for check in exercise(exercise_id).checks if hidden or not check.hidden]


def check(exercise_id: str) -> None:
    """In a notebook: run this exercise's visible checks on the notebook's own code and print the verdicts."""
    namespace = sys._getframe(1).f_globals
    found = exercise(exercise_id)
    if os.environ.get(BATCH_ENV) == "1":
        print(f"{found.id}: checks run after the notebook, by the grader")
        return
    results = run_checks(exercise_id, namespace, hidden=False)
    passed = sum(result.passed for result in results)
    print(f"{found.id}: {found.title}")
    for result in results:
        print(f"  {'PASS' if result.passed else 'FAIL'}  {result.name}")
        if not result.passed:
            print(f"        {result.message}")
    hidden = sum(check.hidden for check in found.checks)
    verdict = "all passed" if passed == len(results) else "keep going"
    print(f"{passed}/{len(results)} checks passed ({verdict}); grading adds {hidden} more checks of the same skills.")


def report_for_grader(exercise_id: str, nonce: str) -> None:
    """The grader's last cell: every check, hidden ones included, printed as one JSON line."""
    namespace = sys._getframe(1).f_globals
    results = [result.to_dict() for result in run_checks(exercise_id, namespace, hidden=True)]
    sys.stdout.write(f"{RESULTS_MARKER} {nonce} {json.dumps(results)}\n")
    sys.stdout.flush()
