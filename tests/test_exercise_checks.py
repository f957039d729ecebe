"""The checks themselves: expected values, time limits, messages, and the exercise/solution pairing."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.checks import EXERCISES
from grader.checks.ex02_parser import CASES as HIDDEN_CASES
from lesson_app.grading.checks import EXERCISES as VISIBLE
from lesson_app.grading.checks.ex02_parser import CASES as VISIBLE_CASES
from lesson_app.grading.core import Check, run_check
from lesson_app.grading.local import LocalSubmission
from lesson_app.grading.regenerate import MarkerError, expected_exercises, strip_solution
from lesson_app.grading.runner import check, run_checks
from lesson_app.wire import parse_events
from tests.mutants import load_mutants, mutate

ROOT = Path(__file__).resolve().parents[1]
CASES = {**VISIBLE_CASES, **HIDDEN_CASES}
NOTEBOOK_NAMES = [
    "ex00_one_event.ipynb",
    "ex01_format_sse.ipynb",
    "ex02_parser.ipynb",
    "ex03_countdown_generator.ipynb",
    "ex04_process_endpoint.ipynb",
    "ex05_error_events.ipynb",
    "ex06_disconnect_heartbeat.ipynb",
    "ex07_resumable_stream.ipynb",
    "ex08_monitor.ipynb",
    "ex09_browser_client.ipynb",
]


@pytest.mark.parametrize("name", sorted(CASES))
def test_parser_expectations_agree_with_the_reference_parser(name: str) -> None:
    raw, expected = CASES[name]
    assert [(e.event, e.data, e.id, e.retry) for e in parse_events(raw)] == expected


def test_every_exercise_has_its_fixed_notebook_and_visible_checks() -> None:
    assert [exercise.notebook for exercise in EXERCISES.values()] == NOTEBOOK_NAMES
    for exercise in EXERCISES.values():
        assert any(not c.hidden for c in exercise.checks) and any(c.hidden for c in exercise.checks)
        assert [c for c in exercise.checks if not c.hidden] == VISIBLE[exercise.id].checks
        for folder in ("exercises", "solutions"):
            assert (ROOT / folder / exercise.notebook).exists()


def test_exercises_are_the_solutions_stripped() -> None:
    expected = expected_exercises(ROOT / "solutions")
    assert sorted(expected) == NOTEBOOK_NAMES
    for name, text in expected.items():
        assert (ROOT / "exercises" / name).read_text(encoding="utf-8") == text, (
            f"exercises/{name} is out of step: run python -m lesson_app.grading.regenerate"
        )


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_notebooks_are_committed_clean(folder: str) -> None:
    for name in NOTEBOOK_NAMES:
        notebook = nbformat.read(ROOT / folder / name, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code), name
        assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# Exercise")
        assert notebook.cells[-1].source.startswith("## Summary")
        exercise_id = name[:4]
        assert any(f'check("{exercise_id}")' in cell.source for cell in code)


def test_starters_carry_no_part_of_an_answer() -> None:
    for name in NOTEBOOK_NAMES:
        text = (ROOT / "exercises" / name).read_text(encoding="utf-8")
        assert "SOLUTION" not in text and ("NotImplementedError" in text or "not implemented: " in text)


def test_javascript_regions_become_a_throw() -> None:
    source = 'JS = """\nfunction f() {\n  // BEGIN SOLUTION: return two\n  return 2;\n  // END SOLUTION\n}\n"""'
    assert strip_solution(source) == 'JS = """\nfunction f() {\n  throw new Error("not implemented: return two");\n}\n"""'


def test_strip_solution_keeps_indentation_and_hint() -> None:
    source = "def f():\n    \"\"\"Doc.\"\"\"\n    # BEGIN SOLUTION: add them up\n    return 1 + 1\n    # END SOLUTION\n\nx = 1"
    assert strip_solution(source) == "def f():\n    \"\"\"Doc.\"\"\"\n    raise NotImplementedError('add them up')\n\nx = 1"
    with pytest.raises(MarkerError):
        strip_solution("# BEGIN SOLUTION\nx = 1")
    with pytest.raises(MarkerError):
        strip_solution("x = 1\n# END SOLUTION")


def test_a_check_that_never_returns_is_abandoned_at_its_time_limit() -> None:
    def spin(_: Submission) -> None:
        while True:
            pass

    started = time.monotonic()
    result = run_check(Check("ex01", "spins", spin, time_limit=0.5), LocalSubmission({}))
    assert time.monotonic() - started < 2.0
    assert not result.passed and "0.5 s time limit" in result.message


def test_a_sync_student_function_that_loops_forever_is_stopped() -> None:
    def format_sse(data, event=None, id=None, retry=None):  # noqa: ANN001, ANN202, A002
        while True:
            pass

    first = replace(EXERCISES["ex01"].checks[0], time_limit=0.5)
    started = time.monotonic()
    result = run_check(first, LocalSubmission({"format_sse": format_sse}))
    assert not result.passed and "time limit" in result.message
    assert time.monotonic() - started < 2.0
    # the abandoned thread was told to stop, so it does not keep spinning
    time.sleep(0.5)
    assert not [t for t in threading.enumerate() if t.name.startswith("check:ex01:")]


def test_failures_say_what_was_expected_and_what_arrived() -> None:
    results = run_checks("ex01", {"format_sse": lambda data, **kwargs: f"data: {data}\n"})
    first = results[0]
    assert not first.passed
    assert first.message == "format_sse('hello'): expected 'data: hello\\n\\n', got 'data: hello\\n'"


def test_missing_names_are_reported_as_such() -> None:
    [result, *_] = run_checks("ex04", {})
    assert result.message.startswith("`router` is not defined")


def test_check_prints_a_verdict_per_visible_check(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict = {}
    for cell in nbformat.read(ROOT / "solutions" / "ex07_resumable_stream.ipynb", as_version=4).cells:
        if cell.cell_type == "code" and ("def " in cell.source or cell.source.startswith(("import", "from"))) and "check(" not in cell.source:
            exec(cell.source, namespace)
    exec("from lesson_app.grading import check\ncheck('ex07')", namespace)
    lines = capsys.readouterr().out.splitlines()
    visible = VISIBLE["ex07"].checks
    assert lines[0] == "ex07: a resumable stream"
    assert [line.strip() for line in lines[1:-1]] == [f"PASS  {c.name}" for c in visible]
    assert lines[-1].startswith(f"{len(visible)}/{len(visible)} checks passed")
    assert check.__module__ == "lesson_app.grading.runner"


def test_exercises_package_reexports_check() -> None:
    from exercises.checks import check as short_check

    assert short_check is check


def test_every_mutant_applies_to_its_solution(tmp_path: Path) -> None:
    mutants = load_mutants()
    assert len(mutants) >= 20
    for mutant in mutants:
        solution = ROOT / "solutions" / EXERCISES[mutant.exercise].notebook
        target = mutate(solution, mutant, tmp_path / mutant.name / solution.name)
        assert target.read_text() != solution.read_text()
        spec = json.loads((ROOT / "tests" / "mutants" / f"{mutant.name}.json").read_text())
        assert spec["why"] and spec["loses"]
