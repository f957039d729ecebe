"""Wrong answers: small patches to the solution notebooks, each of which the checks must catch.

Each ``*.json`` names the exercise, why the answer is wrong, the ``[old, new]``
source replacements, and ``loses``: text from the names of the checks it must fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Mutant:
    name: str
    exercise: str
    why: str
    replace: list[tuple[str, str]]
    loses: list[str]


def load_mutants() -> list[Mutant]:
    mutants = []
    for path in sorted(HERE.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        mutants.append(Mutant(path.stem, spec["exercise"], spec["why"], [tuple(pair) for pair in spec["replace"]], spec["loses"]))
    return mutants


def mutate(solution: Path, mutant: Mutant, target: Path) -> Path:
    """Write ``solution`` with the mutant's replacements applied to ``target``; every ``old`` must occur."""
    notebook = nbformat.read(solution, as_version=4)
    for old, new in mutant.replace:
        hits = 0
        for cell in notebook.cells:
            if cell.cell_type == "code" and old in cell.source:
                hits += cell.source.count(old)
                cell.source = cell.source.replace(old, new)
        if hits == 0:
            raise ValueError(f"mutant {mutant.name}: {old!r} is not in {solution.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target
