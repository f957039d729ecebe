"""Make the exercise notebooks from the solution notebooks.

A solution cell marks the student's part::

    def format_sse(...):
        # BEGIN SOLUTION: build the lines, then join them
        ...
        # END SOLUTION

The exercise keeps everything else and replaces each marked region with
``raise NotImplementedError("build the lines, then join them")`` at the
same indentation, so a starter never carries part of an answer. JavaScript
held in a Python string marks its part with ``// BEGIN SOLUTION: hint`` and
``// END SOLUTION``, and gets ``throw new Error("not implemented: hint");``.

``python -m lesson_app.grading.regenerate [SOLUTIONS_DIR] [EXERCISES_DIR]``
rewrites the exercises; the test suite checks they are in step.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)(?P<comment>#|//) BEGIN SOLUTION(?::\s*(?P<hint>.*))?$")
END = re.compile(r"^[ \t]*(#|//) END SOLUTION\s*$")


class MarkerError(ValueError):
    """A solution cell's BEGIN/END markers do not pair up."""


def strip_solution(source: str) -> str:
    """The starter version of one cell's source."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, 1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise MarkerError(f"line {number}: BEGIN SOLUTION inside another solution region")
            inside = True
            hint = (begin.group("hint") or "your code here").strip()
            if begin.group("comment") == "//":  # JavaScript inside a Python string
                out.append(f"{begin.group('indent')}throw new Error({json.dumps('not implemented: ' + hint)});")
            else:
                out.append(f"{begin.group('indent')}raise NotImplementedError({hint!r})")
        elif END.match(line):
            if not inside:
                raise MarkerError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """No outputs, no execution counts: how notebooks are committed."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return notebook


def exercise_from_solution(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    exercise = nbformat.from_dict(solution)
    for cell in exercise.cells:
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source)
    return clean(exercise)


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def expected_exercises(solutions_dir: Path) -> dict[str, str]:
    """File name -> the text each exercise notebook should have."""
    return {
        path.name: render(exercise_from_solution(nbformat.read(path, as_version=4)))
        for path in sorted(solutions_dir.glob("ex*.ipynb"))
    }


def regenerate(solutions_dir: Path, exercises_dir: Path) -> list[Path]:
    written = []
    for name, text in expected_exercises(solutions_dir).items():
        target = exercises_dir / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[2]
    solutions = Path(args[0]) if args else root / "solutions"
    exercises = Path(args[1]) if len(args) > 1 else root / "exercises"
    for path in regenerate(solutions, exercises):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
