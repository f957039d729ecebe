"""The course notebooks: each runs top to bottom in a fresh kernel, is committed clean, and explains itself.

Every notebook in ``notebooks/`` is executed with nbclient in a real ``python3`` kernel at
``LESSON_TIME_SCALE=0``; a notebook added to the folder is picked up automatically. Every notebook and
section says whether it is on the *core* path or an *extension*, and no notebook points to an exercise
whose concept a later notebook teaches.
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
EXERCISE_MENTION = re.compile(r"\bex(\d\d)\b")
LABEL = re.compile(r"\b(core|extension)\b", re.IGNORECASE)
TAUGHT_IN_LINE = re.compile(r"Taught in notebooks?\s+(\d\d)")
MAX_CORE_CELL_LINES = 25
STARTED_SERVER = re.compile(r"(\w+) = (?:await )?(?:BackgroundServer|HeadlessChromium)\(.*\)\.start\(\)")

# The notebook that teaches each exercise's concept. A notebook may point to an exercise taught in it or
# before it, never to one whose concept comes later; a new exercise must be added here.
TAUGHT_IN = {
    "ex00": "00",
    "ex01": "02",
    "ex02": "02",
    "ex03": "03",
    "ex04": "04",
    "ex05": "08",
    "ex06": "08",
    "ex07": "08",
    "ex08": "09",
    "ex09": "07",
}


def series() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def committed_notebooks() -> list[Path]:
    return sorted(path for folder in COMMITTED_DIRS for path in (REPO / folder).glob("*.ipynb"))


def as_params(paths: list[Path]) -> list:
    return [pytest.param(path, id=str(path.relative_to(REPO))) for path in paths]


def read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def run_notebook(path: Path) -> float:
    """Execute ``path`` in a fresh kernel at time scale 0, from the notebooks folder; return its wall time.

    The executed notebook is kept in ``EXECUTED`` for the tests that read its outputs.
    """
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
    EXECUTED[path.name] = notebook
    return time.perf_counter() - started


# Wall time per notebook, filled by test_notebook_runs and checked against the series budget.
WALL_TIMES: dict[str, float] = {}
EXECUTED: dict[str, NotebookNode] = {}


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

    for index, cell in enumerate(code):
        for name in STARTED_SERVER.findall(cell.source):
            later = "\n".join(other.source for other in code[index:])
            assert f"{name}.stop()" in later, f"the server {name} is started but never stopped"


def number(path: Path) -> str:
    return path.name[:2]


def headings(cells: list[NotebookNode]) -> list[str]:
    """Every title (``#``) and section (``##``) heading line of the markdown cells, outside code blocks."""
    found = []
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        in_code = False
        for line in cell.source.splitlines():
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and re.match(r"#{1,2} ", line):
                found.append(line)
    return found


@pytest.mark.parametrize("path", as_params(series()))
def test_core_and_extension_labels(path: Path) -> None:
    """The title and every section (except the summary) say *core* or *extension*."""
    lines = headings(read(path).cells)
    assert lines and LABEL.search(lines[0]), f"the title must say core or extension: {lines[:1]}"
    unlabelled = [line for line in lines[1:] if not line.startswith("## Summary") and not LABEL.search(line)]
    assert not unlabelled, f"sections without a core/extension label: {unlabelled}"


@pytest.mark.parametrize("path", as_params(series()))
def test_core_cells_are_short(path: Path) -> None:
    """On the core path a code cell teaches one thing: no cell longer than about twenty lines."""
    title = headings(read(path).cells)[0]
    if "core" not in title.lower():
        pytest.skip("an extension notebook")
    long = {
        index: len(cell.source.splitlines())
        for index, cell in enumerate(read(path).cells)
        if cell.cell_type == "code" and len(cell.source.splitlines()) > MAX_CORE_CELL_LINES
    }
    assert not long, f"code cells over {MAX_CORE_CELL_LINES} lines (cell: lines): {long}"


def test_every_exercise_has_a_teaching_notebook() -> None:
    exercises = sorted(path.name[:4] for path in EXERCISE_DIR.glob("ex*.ipynb"))
    assert exercises, "exercises/ holds no exercise"
    assert sorted(TAUGHT_IN) == exercises, "TAUGHT_IN must name the notebook that teaches every exercise"
    notebooks = {number(path) for path in series()}
    assert set(TAUGHT_IN.values()) <= notebooks, "TAUGHT_IN names a notebook that does not exist"


@pytest.mark.parametrize("path", as_params(series()))
def test_no_pointer_to_a_later_concept(path: Path) -> None:
    """A notebook mentions only exercises whose concept it, or an earlier notebook, teaches."""
    text = "\n".join(cell.source for cell in read(path).cells)
    later = sorted(
        {f"ex{n}" for n in EXERCISE_MENTION.findall(text) if TAUGHT_IN.get(f"ex{n}", "99") > number(path)}
    )
    assert not later, f"notebook {number(path)} points to {later}, taught later in {[TAUGHT_IN.get(e) for e in later]}"


@pytest.mark.parametrize("path", as_params(sorted(EXERCISE_DIR.glob("ex*.ipynb"))))
def test_exercise_names_the_notebook_that_taught_it(path: Path) -> None:
    """An exercise's statement says where it was taught ("Taught in notebook NN, section ..."), and that is
    the notebook ``TAUGHT_IN`` gives, so a stuck student knows where to look."""
    statement = read(path).cells[0].source
    named = TAUGHT_IN_LINE.findall(statement)
    assert named, "the exercise's first cell must say 'Taught in notebook NN, section ...'"
    assert named[0] == TAUGHT_IN[path.name[:4]], f"names notebook {named[0]}, TAUGHT_IN says {TAUGHT_IN[path.name[:4]]}"
    assert LABEL.search(statement.splitlines()[0]), "the exercise's title must say core or extension"


# What real browsers showed, in the outputs of the notebooks that drive headless Chromium.
BROWSER_OUTPUTS = {
    "00_one_event.ipynb": ["the browser's onmessage received: ['good morning']"],
    "07_in_the_browser.ipynb": [
        "Step 3 in Chromium: {'onmessage': 0, 'named_events': 5, 'onerror': 1}",
        'listener  MessageEvent  data={"error": "Something went wrong!"}',
        'onerror   MessageEvent  data={"error": "Something went wrong!"}',
        "listener  Event         data=undefined",
        '"threw SyntaxError"',
        "never closed      : streams opened in 1 s: ",
        "closed on complete: streams opened in 1 s: 1, 'complete' events: 1",
    ],
}


def printed(notebook: NotebookNode) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


@pytest.mark.parametrize("name", sorted(BROWSER_OUTPUTS))
def test_browser_cells_show_what_chromium_did(name: str) -> None:
    """The error clash, Step 3's silent onmessage and Mistake 2, as a real Chromium reported them."""
    from lesson_app.notebook_tools import chromium_available

    if not chromium_available():
        pytest.skip("Chromium or playwright is not installed")
    if name not in EXECUTED:
        run_notebook(NOTEBOOK_DIR / name)
    text = printed(EXECUTED[name])
    missing = [expected for expected in BROWSER_OUTPUTS[name] if expected not in text]
    assert not missing, f"{name} did not print {missing}; it printed:\n{text}"
    if name == "07_in_the_browser.ipynb":
        reopened = int(re.search(r"never closed      : streams opened in 1 s: (\d+)", text).group(1))
        assert reopened >= 3, f"a never-closed EventSource with retry 200 ms reconnected only {reopened - 1} times in 1 s"
