"""The course notebooks: each runs top to bottom in a fresh kernel, is committed clean, and explains itself.

Every notebook in ``notebooks/`` is executed with nbclient in a real ``python3`` kernel at
``LESSON_TIME_SCALE=0``; a notebook added to the folder is picked up automatically.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
EXERCISE_DIR = REPO / "exercises"
COMMITTED_DIRS = ("notebooks", "exercises", "solutions")

KERNEL = "python3"
CELL_TIMEOUT = 60
SERIES_BUDGET = 120.0  # seconds for the whole series at time scale 0 (wide margin)
MAX_CODE_RUN = 2
EXERCISE_POINTER = re.compile(r"exercises/(ex\d\d_\w+\.ipynb)")


def series() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def committed_notebooks() -> list[Path]:
    return sorted(path for folder in COMMITTED_DIRS for path in (REPO / folder).glob("*.ipynb"))


def as_params(paths: list[Path]) -> list:
    return [pytest.param(path, id=str(path.relative_to(REPO))) for path in paths]


def read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def run_notebook(path: Path) -> float:
    """Execute ``path`` in a fresh kernel at time scale 0, from the notebooks folder; return its wall time."""
    notebook = read(path)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.perf_counter()
    client.execute(env={**os.environ, "LESSON_TIME_SCALE": "0"})
    return time.perf_counter() - started


# Wall time per notebook, filled by test_notebook_runs and checked against the series budget.
WALL_TIMES: dict[str, float] = {}


@pytest.mark.parametrize("path", as_params(series()))
def test_notebook_runs(path: Path) -> None:
    WALL_TIMES[path.name] = run_notebook(path)


def test_series_runs_within_budget() -> None:
    """The whole series at scale 0 fits the budget; notebooks not timed above are run here."""
    paths = series()
    assert paths, "notebooks/ holds no notebook"
    for path in paths:
        if path.name not in WALL_TIMES:
            WALL_TIMES[path.name] = run_notebook(path)
    total = sum(WALL_TIMES[path.name] for path in paths)
    report = ", ".join(f"{path.name} {WALL_TIMES[path.name]:.1f}s" for path in paths)
    print(f"\nnotebook wall times: {report}; total {total:.1f}s")
    assert total < SERIES_BUDGET, f"the series took {total:.1f}s at scale 0 (budget {SERIES_BUDGET:.0f}s): {report}"


@pytest.mark.parametrize("path", as_params(committed_notebooks()))
def test_committed_clean(path: Path) -> None:
    notebook = read(path)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"code cells {dirty} have outputs or execution counts: clear them before committing"
    assert "widgets" not in notebook.metadata, "widget state is committed"
    assert notebook.metadata.get("kernelspec", {}).get("name") == KERNEL


def code_runs(cells: list[NotebookNode]) -> list[int]:
    """Lengths of every run of consecutive code cells."""
    runs, current = [], 0
    for cell in cells:
        if cell.cell_type == "code":
            current += 1
        else:
            if current:
                runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


@pytest.mark.parametrize("path", as_params(series()))
def test_notebook_structure(path: Path) -> None:
    """Opens with what it teaches, alternates prose and code, ends with a summary and its exercise."""
    cells = read(path).cells
    markdown = [cell for cell in cells if cell.cell_type == "markdown"]
    code = [cell for cell in cells if cell.cell_type == "code"]

    assert cells and cells[0].cell_type == "markdown", "the first cell must be markdown"
    assert cells[0].source.startswith("# "), "the first cell must open with the notebook's title"
    assert cells[-1].cell_type == "markdown", "the last cell must be markdown"
    assert "summary" in cells[-1].source.lower(), "the last cell must be the summary"
    assert code, "a notebook without code teaches nothing here"
    assert 2 * len(markdown) >= len(code), f"{len(markdown)} markdown cells for {len(code)} code cells"
    assert max(code_runs(cells)) <= MAX_CODE_RUN, f"more than {MAX_CODE_RUN} code cells in a row"

    pointers = EXERCISE_POINTER.findall(cells[-1].source)
    assert pointers, "the summary must point to its exercise (exercises/exNN_....ipynb)"
    missing = [name for name in pointers if not (EXERCISE_DIR / name).exists()]
    assert not missing, f"the summary points to exercises that do not exist: {missing}"

    if any("BackgroundServer(" in cell.source for cell in code):
        assert ".stop()" in code[-1].source, "a notebook that starts servers stops them in its last code cell"
