"""Every exercise's checks, registered in ``EXERCISES`` (id -> ``Exercise``)."""

from __future__ import annotations

from lesson_app.grading.core import Exercise
from lesson_app.grading.checks import (
    ex01_format,
    ex02_parser,
    ex03_countdown,
    ex04_process,
    ex05_errors,
    ex06_disconnect,
    ex07_resume,
    ex08_monitor,
)

EXERCISES: dict[str, Exercise] = {
    module.exercise.id: module.exercise
    for module in (
        ex01_format,
        ex02_parser,
        ex03_countdown,
        ex04_process,
        ex05_errors,
        ex06_disconnect,
        ex07_resume,
        ex08_monitor,
    )
}
