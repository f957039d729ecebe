"""Every exercise with all its checks: the visible ones from ``lesson_app``, then the hidden ones from here."""

from __future__ import annotations

from importlib import import_module

from lesson_app.grading.checks import EXERCISES as VISIBLE
from lesson_app.grading.checks import NAMES
from lesson_app.grading.core import Exercise, find_exercise

HIDDEN_MODULES = tuple(import_module(f"{__name__}.{name}") for name in NAMES)
_hidden = {module.hidden.id: module.hidden for module in HIDDEN_MODULES}
EXERCISES: dict[str, Exercise] = {
    exercise_id: exercise.with_hidden(_hidden[exercise_id]) for exercise_id, exercise in VISIBLE.items()
}


def exercise(exercise_id: str) -> Exercise:
    return find_exercise(EXERCISES, exercise_id)
