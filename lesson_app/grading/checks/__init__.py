"""Every exercise and its visible checks, registered in ``EXERCISES`` (id -> ``Exercise``).

These are what ``check("exNN")`` runs in a student's notebook. Grading adds
hidden checks of the same skills, which are not part of this package.
"""

from __future__ import annotations

from importlib import import_module

from lesson_app.grading.core import Exercise

# One module per exercise, in course order; the grader's hidden checks use the same module names.
NAMES = (
    "ex00_one_event",
    "ex01_format",
    "ex02_parser",
    "ex03_countdown",
    "ex04_process",
    "ex05_errors",
    "ex06_disconnect",
    "ex07_resume",
    "ex08_monitor",
    "ex09_browser",
)
MODULES = tuple(import_module(f"{__name__}.{name}") for name in NAMES)
EXERCISES: dict[str, Exercise] = {module.exercise.id: module.exercise for module in MODULES}
