"""Exercise checks, for feedback in the student's own notebook::

    from lesson_app.grading import check
    check("ex03")

Grading (hidden checks, a sandbox for student code, reports) is the
instructor's ``grader`` package, which is not part of what students get.
"""

from lesson_app.grading.runner import check, run_checks

__all__ = ["check", "run_checks"]
