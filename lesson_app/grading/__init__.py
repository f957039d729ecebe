"""Exercise checks and the autograder.

In a notebook::

    from lesson_app.grading import check
    check("ex03")

From a shell: ``sse-lesson grade PATH`` (see ``lesson_app.grading.batch``).
"""

from lesson_app.grading.runner import check, run_checks

__all__ = ["check", "run_checks"]
