"""The Gradescope autograder, run as Gradescope runs it, in an emulated ``/autograder`` tree.

``sse-lesson autograder`` builds the zip; each test unzips it into ``ROOT/source``,
puts a submission in ``ROOT/submission`` and runs ``source/run_autograder`` with
``LESSON_AUTOGRADER_ROOT=ROOT``, then reads ``ROOT/results/results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from grader.checks import EXERCISES
from grader.report import GRADESCOPE_SCHEMA
from tests.mutants import Mutant, load_mutants, mutate

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[1]
FULL_MARKS = sum(exercise.max_score for exercise in EXERCISES.values())
AT_ONCE = 3


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "lesson_app.cli", "autograder", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return out


def gradescope_tree(base: Path, autograder_zip: Path, notebooks: list[Path]) -> Path:
    root = base / "autograder"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile drops the mode bits; Gradescope's unzip keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    (root / "submission" / "my-work").mkdir(parents=True)
    for notebook in notebooks:
        shutil.copy2(notebook, root / "submission" / "my-work" / notebook.name)
    (root / "results").mkdir()
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "LESSON_AUTOGRADER_ROOT": str(root), "LESSON_AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    return results


def test_the_zip_follows_the_autograder_specification(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for name in ("setup.sh", "run_autograder"):
            assert name in infos, f"{name} must be at the zip's root"
            assert (infos[name].external_attr >> 16) & stat.S_IXUSR, f"{name} must be executable"
        setup = archive.read("setup.sh").decode()
        names = set(infos)
    assert "uv python install 3.12" in setup and "uv sync --locked" in setup  # Ubuntu 22.04's Python 3.10 is too old
    assert "grader/checks/__init__.py" in names and "lesson_app/grading/core.py" in names
    assert "uv.lock" in names and "pyproject.toml" in names
    assert not any(name.startswith(("solutions/", "tests/", "exercises/")) for name in names)


@pytest.mark.parametrize("folder, expected", [("solutions", FULL_MARKS), ("exercises", 0.0)])
def test_solutions_get_full_marks_and_starters_zero(folder: str, expected: float, autograder_zip: Path, tmp_path: Path) -> None:
    root = gradescope_tree(tmp_path, autograder_zip, sorted((REPO / folder).glob("ex*.ipynb")))
    results = run_autograder(root)
    failed = [f"{t['name']}: {t['output']}" for t in results["tests"] if t["status"] == "failed"]
    assert results["score"] == expected, failed
    assert len(results["tests"]) == sum(len(exercise.checks) for exercise in EXERCISES.values())
    assert {test["visibility"] for test in results["tests"]} == {"visible", "after_published"}
    assert results["output_format"] == "md" and results["stdout_visibility"] == "hidden"
    assert "| exercise | score |" in results["output"]


def test_every_mutant_is_caught(autograder_zip: Path, tmp_path: Path) -> None:
    def grade(mutant: Mutant) -> tuple[Mutant, dict]:
        base = tmp_path / mutant.name
        solution = REPO / "solutions" / EXERCISES[mutant.exercise].notebook
        notebook = mutate(solution, mutant, base / "in" / solution.name)
        return mutant, run_autograder(gradescope_tree(base, autograder_zip, [notebook]))

    missed = []
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for mutant, results in pool.map(grade, load_mutants()):
            checks = [t for t in results["tests"] if t["name"].startswith(f"{mutant.exercise}: ")]
            failed = {t["name"] for t in checks if t["status"] == "failed"}
            expected = {t["name"] for t in checks if any(part in t["name"] for part in mutant.loses)}
            if not failed or not expected <= failed:
                missed.append(f"{mutant.name}: fails {sorted(failed)}")
    assert missed == []
