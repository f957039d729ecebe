"""Every exercise with all its checks: the visible ones from ``lesson_app``, then the hidden ones from here."""

from __future__ import annotations

from grader.checks import (
    ex00_one_event,
    ex01_format,
    ex02_parser,
    ex03_countdown,
    ex04_process,
    ex05_errors,
    ex06_disconnect,
    ex07_resume,
    ex08_monitor,
    ex09_browser,
)
from lesson_app.grading.checks import EXERCISES as VISIBLE
from lesson_app.grading.core import Exercise

HIDDEN_MODULES = (
    ex00_one_event,
    ex01_format,
    ex02_parser,
    ex03_countdown,
    ex04_process,
    ex05_errors,
    ex06_disconnect,
    ex07_resume,
    ex08_monitor,
    ex09_browser,
)
_hidden = {module.hidden.id: module.hidden for module in HIDDEN_MODULES}
EXERCISES: dict[str, Exercise] = {
    exercise_id: exercise.with_hidden(_hidden[exercise_id]) for exercise_id, exercise in VISIBLE.items()
}


def exercise(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        known = ", ".join(sorted(EXERCISES))
        raise ValueError(f"unknown exercise {exercise_id!r}; known: {', '.join(known.split(', '))}") from None
