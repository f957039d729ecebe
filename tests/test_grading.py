"""The autograder end to end: real notebooks in the sandbox, real servers, checks in the grader's process.

One class folder is graded through the command line (a full-marks student, an
untouched starter, and a student whose every notebook misbehaves in its own
way); every wrong answer in ``tests/mutants`` is graded in one batch; and every
attack in ``tests/cheats`` must score exactly 0 with a valid report.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from grader.batch import grade_many
from grader.checks import EXERCISES
from grader.report import GRADESCOPE_SCHEMA
from grader.sandbox.isolation import SANDBOX_UID_BASE
from tests.cheats import load_cheats, plant
from tests.mutants import Mutant, load_mutants, mutate

pytestmark = pytest.mark.timeout(900)  # a class of notebooks on a shared machine

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES_DIR = ROOT / "exercises"
CELL_TIMEOUT = 6.0
WORKERS = 4
MAX_SCORE = {exercise_id: exercise.max_score for exercise_id, exercise in EXERCISES.items()}
FULL_MARKS = sum(MAX_SCORE.values())

UNKILLABLE = """while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass"""


def notebook_name(exercise_id: str) -> str:
    return EXERCISES[exercise_id].notebook


def edit(folder: Path, exercise_id: str, change) -> None:  # noqa: ANN001
    path = folder / notebook_name(exercise_id)
    notebook = nbformat.read(path, as_version=4)
    change(notebook)
    nbformat.write(notebook, path)


def replace_in_code(old: str, new: str):  # noqa: ANN201
    def change(notebook: nbformat.NotebookNode) -> None:
        cells = [cell for cell in notebook.cells if cell.cell_type == "code" and old in cell.source]
        assert cells, f"{old!r} not found"
        for cell in cells:
            cell.source = cell.source.replace(old, new)

    return change


def insert_cell(source: str, position: int = 1):  # noqa: ANN201
    return lambda notebook: notebook.cells.insert(position, nbformat.v4.new_code_cell(source))


def delete_cell_defining(name: str):  # noqa: ANN201
    def change(notebook: nbformat.NotebookNode) -> None:
        notebook.cells = [cell for cell in notebook.cells if f"def {name}(" not in cell.source]

    return change


def misbehaving_student(folder: Path) -> None:
    """A copy of the solutions where each notebook fails in a different way."""
    shutil.copytree(SOLUTIONS, folder)
    edit(folder, "ex01", insert_cell("while True:\n    pass"))  # interrupted; costs nothing
    edit(folder, "ex02", replace_in_code("    for line in lines:\n", "    for line in lines\n"))  # syntax error
    edit(folder, "ex03", replace_in_code("range(seconds, 0, -1)", "__import__('itertools').count(seconds, -1)"))  # never ends
    edit(folder, "ex04", insert_cell(UNKILLABLE))  # ignores the interrupt: a fresh process without it
    edit(folder, "ex05", replace_in_code("    try:\n        async for", "    raise RuntimeError('student bug')\n    try:\n        async for"))
    edit(folder, "ex06", replace_in_code("await asyncio.sleep(delay)", "__import__('time').sleep(delay)"))  # blocks the loop
    edit(folder, "ex07", delete_cell_defining("resume_after"))
    edit(folder, "ex08", insert_cell("import os\nos._exit(1)", position=2))  # kills its process


def grade_command(folder: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lesson_app.cli", "grade", str(folder), "--json", str(output),
            "--jobs", str(WORKERS), "--cell-timeout", str(CELL_TIMEOUT), *extra]


def sandbox_processes() -> list[psutil.Process]:
    """Processes running as one of the sandbox's users."""
    found = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info["uids"]
        if uids is not None and SANDBOX_UID_BASE <= uids.real < SANDBOX_UID_BASE + 1000:
            found.append(process)
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("class")
    class_dir, output = base / "class", base / "out"
    shutil.copytree(SOLUTIONS, class_dir / "alice")
    shutil.copytree(EXERCISES_DIR, class_dir / "bob")
    misbehaving_student(class_dir / "carol")
    (class_dir / "not-a-student").mkdir()
    started = time.monotonic()
    done = subprocess.run(grade_command(class_dir, output), capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results = {name: json.loads((output / f"{name}.json").read_text()) for name in ("alice", "bob", "carol")}
    return {"results": results, "output": output, "stdout": done.stdout, "seconds": time.monotonic() - started}


def checks_of(results: dict, exercise_id: str) -> list[dict]:
    return [test for test in results["tests"] if test["name"].startswith(f"{exercise_id}: ")]


def failed_names(results: dict, exercise_id: str) -> set[str]:
    return {test["name"].split(": ", 1)[1] for test in checks_of(results, exercise_id) if test["status"] == "failed"}


def test_solutions_get_full_marks(graded_class: dict) -> None:
    alice = graded_class["results"]["alice"]
    failures = [f"{test['name']}: {test['output']}" for test in alice["tests"] if test["status"] != "passed"]
    assert failures == []
    assert alice["score"] == FULL_MARKS
    assert alice["output"].endswith("Every notebook ran without errors.")  # the "try it" cells too


def test_starters_score_zero(graded_class: dict) -> None:
    bob = graded_class["results"]["bob"]
    passed = [test["name"] for test in bob["tests"] if test["status"] == "passed"]
    assert passed == []
    assert bob["score"] == 0
    assert len(bob["tests"]) == len(graded_class["results"]["alice"]["tests"])


def test_results_json_has_the_gradescope_shape(graded_class: dict) -> None:
    for results in graded_class["results"].values():
        jsonschema.validate(results, GRADESCOPE_SCHEMA)
        assert results["score"] == sum(test["score"] for test in results["tests"])
        assert {test["visibility"] for test in results["tests"]} == {"visible", "after_published"}
        assert results["output_format"] == "md" and results["stdout_visibility"] == "hidden"
        for exercise_id, exercise in EXERCISES.items():
            assert f"| {exercise_id}: {exercise.title} |" in results["output"]


def test_class_csv_and_table(graded_class: dict) -> None:
    with (graded_class["output"] / "summary.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["student"] for row in rows] == ["alice", "bob", "carol"]
    assert rows[0]["total"] == f"{FULL_MARKS:g}" and rows[1]["total"] == "0"
    assert all(rows[0][exercise_id] == f"{MAX_SCORE[exercise_id]:g}" for exercise_id in EXERCISES)
    assert "not-a-student" not in graded_class["stdout"]
    assert "alice" in graded_class["stdout"] and "wrote 3 results files" in graded_class["stdout"]


def test_misbehaving_notebooks_cost_only_what_they_touch(graded_class: dict) -> None:
    carol = graded_class["results"]["carol"]
    scores = {exercise_id: sum(test["score"] for test in checks_of(carol, exercise_id)) for exercise_id in EXERCISES}
    # A top-level `while True: pass` is interrupted; the rest of the notebook still counts.
    assert scores["ex01"] == MAX_SCORE["ex01"]
    assert "cell 2 did not finish within" in carol["output"]
    # A syntax error loses what depends on the broken cell, with an honest message.
    assert scores["ex02"] == 0
    assert all("`parse_sse` is not defined" in test["output"] for test in checks_of(carol, "ex02"))
    assert "raised SyntaxError" in carol["output"]
    # A generator that never ends loses the checks that wait for its end, not the others.
    assert failed_names(carol, "ex03") == {
        "countdown(3) streams tick 3, 2, 1, then complete, then ends",
        "countdown(1) sends one tick, countdown(0) only complete",
        "ticks are spaced by delay seconds",
    }
    # A cell that ignores the interrupt: the notebook runs again in a fresh process without it.
    assert scores["ex04"] == MAX_SCORE["ex04"]
    assert (
        "ex04_process_endpoint.ipynb`: cell 2 hung past 6 s and ignored the interrupt: "
        "the notebook was run again, from a fresh start, without it"
    ) in carol["output"]
    # An exception in the student's generator fails its checks and says why.
    assert scores["ex05"] == 0
    assert all("student bug" in test["output"] for test in checks_of(carol, "ex05"))
    # time.sleep in the generator: the ticks still arrive, but no heartbeat and no cancellation gets through.
    assert failed_names(carol, "ex06") == {
        "disconnecting runs the cleanup (and not before)",
        "heartbeat comments keep an idle stream alive",
        "cleanup runs exactly once, also while waiting for the next tick",
        "the heartbeat follows the interval asked for",
    }
    # A deleted cell: the names it defined are missing.
    assert scores["ex07"] == 0
    assert any("`router` is not defined" in test["output"] for test in checks_of(carol, "ex07"))
    # A cell that kills its process: a fresh process runs the notebook without it.
    assert scores["ex08"] == MAX_SCORE["ex08"]
    assert "ex08_monitor.ipynb`: cell 3 stopped the kernel" in carol["output"]


def test_grading_time_is_bounded_and_leaves_nothing_running(graded_class: dict) -> None:
    carol = graded_class["results"]["carol"]
    # every notebook's time is bounded by its cells' limits, the restart, and its checks' limits
    assert carol["execution_time"] < 7 * 60
    assert graded_class["seconds"] < 400
    assert sandbox_processes() == []


# The seed's own hands-on answer to ex04 waits with asyncio.sleep(1), not the app's Pace: it must pass too.
SEED_EX04 = Mutant("seed_hands_on_answer", "ex04", "the seed's verbatim answer", [("await pace.sleep(1)", "await asyncio.sleep(1)")], [])


@pytest.fixture(scope="module")
def graded_mutants(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Mutant, dict[str, dict]]]:
    base = tmp_path_factory.mktemp("mutants")
    mutants = [*load_mutants(), SEED_EX04]
    jobs = []
    for mutant in mutants:
        solution = SOLUTIONS / notebook_name(mutant.exercise)
        target = mutate(solution, mutant, base / mutant.name / solution.name)
        jobs.append((str(target), mutant.exercise))
    graded = grade_many(jobs, cell_timeout=CELL_TIMEOUT)
    return [(mutant, {result.name: result for result in grade.results}) for mutant, grade in zip(mutants, graded)]


def test_the_seeds_own_answer_gets_full_marks_on_ex04(graded_mutants: list) -> None:
    [results] = [results for mutant, results in graded_mutants if mutant is SEED_EX04]
    assert {name: result.message for name, result in results.items() if not result.passed} == {}


def test_every_wrong_answer_loses_the_marks_it_should(graded_mutants: list) -> None:
    caught, report = 0, []
    graded_mutants = [(mutant, results) for mutant, results in graded_mutants if mutant is not SEED_EX04]
    for mutant, results in graded_mutants:
        failed = {name for name, result in results.items() if not result.passed}
        expected = {name for name in results if any(part in name for part in mutant.loses)}
        assert len(expected) == len(mutant.loses), f"{mutant.name}: 'loses' names unknown checks"
        if failed and expected <= failed:
            caught += 1
        report.append(f"{mutant.name:<28} {'caught' if expected <= failed and failed else 'MISSED'}  fails: {sorted(failed)}")
    print(f"\nmutation score: {caught}/{len(graded_mutants)}\n" + "\n".join(report))
    assert caught == len(graded_mutants), "\n".join(report)


@pytest.fixture(scope="module")
def graded_cheats(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("cheats")
    class_dir, output = base / "class", base / "out"
    cheats = load_cheats()
    for cheat in cheats:
        folder = class_dir / cheat.name
        shutil.copytree(EXERCISES_DIR, folder)
        plant(
            cheat, folder / notebook_name(cheat.exercise),
            RESULTS=str(output / f"{cheat.name}.json"), HIDDEN_CHECKS=str(ROOT / "grader" / "checks"),
        )
    only = sorted({cheat.exercise for cheat in cheats})
    started = time.monotonic()
    done = subprocess.run(grade_command(class_dir, output, "--only", ",".join(only)), capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    seconds = time.monotonic() - started
    time.sleep(2.0)  # anything left behind would now overwrite the results
    return {"cheats": cheats, "output": output, "done": done, "seconds": seconds}


def test_every_cheat_scores_zero_with_a_valid_report(graded_cheats: dict) -> None:
    done = graded_cheats["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    scores = {}
    for cheat in graded_cheats["cheats"]:
        results = json.loads((graded_cheats["output"] / f"{cheat.name}.json").read_text())
        jsonschema.validate(results, GRADESCOPE_SCHEMA)
        assert results["tests"], cheat.name
        scores[cheat.name] = results["score"]
        assert results["score"] == sum(test["score"] for test in results["tests"])
    assert scores == {cheat.name: 0 for cheat in graded_cheats["cheats"]}
    with (graded_cheats["output"] / "summary.csv").open(newline="") as handle:
        assert {row["student"]: row["total"] for row in csv.DictReader(handle)} == {name: "0" for name in scores}


def test_cheats_learn_nothing_hidden_and_leave_nothing_behind(graded_cheats: dict) -> None:
    outputs = {}
    for cheat in graded_cheats["cheats"]:
        results = json.loads((graded_cheats["output"] / f"{cheat.name}.json").read_text())
        outputs[cheat.name] = " ".join(test["output"] for test in results["tests"])
        for secret in ("hidden checks", "@hidden.check", "hidden_part", "compare_hidden", "imported grader.checks"):
            assert secret not in outputs[cheat.name], f"{cheat.name} leaked {secret!r}"
    # what the hidden-check reader found, shown back through format_sse's return value: nothing
    assert "got 'LEAK:import failed: ModuleNotFoundError'" in outputs["read_hidden_checks"]
    assert sandbox_processes() == []


def test_cheats_cost_no_more_than_their_own_time_limits(graded_cheats: dict) -> None:
    assert graded_cheats["seconds"] < 300


@pytest.mark.parametrize("level", ["userns", "process"])
def test_weaker_isolation_levels_grade_the_same(level: str, tmp_path: Path) -> None:
    """Without root the grader isolates less (see grader.sandbox.isolation); the grades must not change."""
    output = tmp_path / "results.json"
    env = {**os.environ, "LESSON_SANDBOX_LEVEL": level}
    done = subprocess.run(grade_command(SOLUTIONS, output, "--only", "ex01,ex04"), capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert results["score"] == MAX_SCORE["ex01"] + MAX_SCORE["ex04"], [t["output"] for t in results["tests"]]
    assert sandbox_processes() == []


@pytest.mark.parametrize("exercise_id", ["ex03", "ex06"])
def test_check_in_a_student_kernel_answers_quickly(exercise_id: str, tmp_path: Path) -> None:
    """The slowest exercises' check cells, run as a student would in a real kernel."""
    notebook = nbformat.read(SOLUTIONS / notebook_name(exercise_id), as_version=4)
    client = NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel(env={**os.environ, "LESSON_TIME_SCALE": "0"}):
        timings = {}
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                started = time.monotonic()
                client.execute_cell(cell, index)
                timings[index] = time.monotonic() - started
    [check_index] = [i for i, cell in enumerate(notebook.cells) if "check(" in cell.source]
    output = "".join(out.get("text", "") for out in notebook.cells[check_index].outputs)
    assert "PASS" in output and "FAIL" not in output, output
    assert timings[check_index] < 5.0
