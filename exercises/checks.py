"""``from exercises.checks import check``: the same ``check`` as ``lesson_app.grading.check``.

The notebooks import it from ``lesson_app.grading``, which works wherever the
exercise folder is copied; this module keeps the short name working too.
"""

from lesson_app.grading import check

__all__ = ["check"]
