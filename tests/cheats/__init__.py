"""Submissions that attack the grader: each is one cell added to an unsolved exercise notebook.

Every ``*.py`` here starts with ``# exercise: exNN`` and ``# why: ...``; the rest
is the cell. ``{RESULTS}`` in a cell becomes the path the grader writes that
student's results to, and ``{HIDDEN_CHECKS}`` the folder of the hidden checks,
so each attack aims at the real target. Every one must score exactly 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
HEADER = re.compile(r"^# exercise: (?P<exercise>ex\d\d)\n# why: (?P<why>.+)\n")


@dataclass(frozen=True)
class Cheat:
    name: str
    exercise: str
    why: str
    source: str


def load_cheats() -> list[Cheat]:
    cheats = []
    for path in sorted(HERE.glob("*.py")):
        if path.name == "__init__.py":
            continue
        text = path.read_text(encoding="utf-8")
        header = HEADER.match(text)
        if header is None:
            raise ValueError(f"{path.name} must start with '# exercise: exNN' and '# why: ...'")
        cheats.append(Cheat(path.stem, header["exercise"], header["why"], text[header.end():]))
    return cheats


def plant(cheat: Cheat, notebook_path: Path, **targets: str) -> None:
    """Append the cheat's cell to the notebook at ``notebook_path``, with ``{RESULTS}``-style targets filled in."""
    source = cheat.source
    for key, value in targets.items():
        source = source.replace("{" + key + "}", value)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(notebook, notebook_path)
