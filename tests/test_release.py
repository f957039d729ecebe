"""``sse-lesson release``: what students get has no solutions and no hidden checks, and works."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.checks import EXERCISES, HIDDEN_MODULES
from grader.release import ReleaseError, write_release
from lesson_app.grading.regenerate import BEGIN, END

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
MIN_REGION = 40  # characters of a solution region, whitespace squeezed


def solution_regions() -> list[str]:
    """The code between every BEGIN/END SOLUTION pair of the solution notebooks."""
    regions = []
    for path in sorted((ROOT / "solutions").glob("ex*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            inside: list[str] | None = None
            for line in cell.source.split("\n"):
                if BEGIN.match(line):
                    inside = []
                elif END.match(line) and inside is not None:
                    regions.append("\n".join(inside))
                    inside = None
                elif inside is not None:
                    inside.append(line)
    return regions


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def released_texts(folder: Path) -> dict[str, str]:
    """Every text file of the release, notebooks as their JSON-decoded cell sources."""
    texts = {}
    for path in folder.rglob("*"):
        if not path.is_file() or ".venv" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        texts[str(path.relative_to(folder))] = text
    return texts


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "course"
    done = subprocess.run([sys.executable, "-m", "lesson_app.cli", "release", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out


def test_the_release_has_the_course_and_nothing_of_the_instructors(release: Path) -> None:
    top = sorted(path.name for path in release.iterdir())
    for needed in ("notebooks", "exercises", "lesson_app", "pyproject.toml", "uv.lock", "README.md"):
        assert needed in top
    for absent in ("solutions", "grader", "tests", "bench", ".ci", ".git"):
        assert absent not in top
    assert sorted(p.name for p in (release / "exercises").glob("ex*.ipynb")) == sorted(e.notebook for e in EXERCISES.values())
    assert (release / "uv.lock").read_bytes() == (ROOT / "uv.lock").read_bytes()


def test_no_hidden_check_and_no_solution_is_in_the_release(release: Path) -> None:
    texts = released_texts(release)
    everything = squeeze("\n".join(texts.values()))
    hidden = [check for exercise in EXERCISES.values() for check in exercise.checks if check.hidden]
    assert hidden, "no hidden checks to look for"
    for check in hidden:
        assert check.name not in everything, f"the hidden check {check.name!r} is named in the release"
        body = squeeze(inspect.getsource(check.run).split(":\n", 1)[1])
        assert body not in everything, f"the code of the hidden check {check.name!r} is in the release"
    for module in HIDDEN_MODULES:
        assert module.__name__ not in everything
    regions = solution_regions()
    assert len(regions) >= len(EXERCISES)
    # one-liners the notebooks also teach (the seed's own `yield {"data": "hello"}`) prove nothing either way
    for region in [region for region in regions if len(squeeze(region)) >= MIN_REGION]:
        assert squeeze(region) not in everything, f"a solution is in the release: {region[:80]!r}"


def test_release_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    with pytest.raises(ReleaseError):
        write_release(tmp_path)


def test_the_release_installs_and_checks_work_in_it(release: Path) -> None:
    """`uv sync` from the release's own lock, then a student's check() and jupyter lab, from inside it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    sync = subprocess.run(["uv", "sync", "--locked", "--offline", "--no-dev"], cwd=release, capture_output=True, text=True, env=env, timeout=300)
    assert sync.returncode == 0, sync.stderr[-2000:]
    python = release / ".venv" / "bin" / "python"
    notebook = nbformat.read(ROOT / "solutions" / "ex01_format_sse.ipynb", as_version=4)
    answer = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code" and "check(" not in cell.source)
    script = (
        answer
        + "\nimport lesson_app.grading, os\n"
        + "assert lesson_app.grading.__file__.startswith(os.getcwd()), lesson_app.grading.__file__\n"
        + "from lesson_app.grading import check\ncheck('ex01')\n"
        + "try:\n    import grader\nexcept ModuleNotFoundError:\n    print('no grader')\n"
    )
    done = subprocess.run([str(python), "-c", script], cwd=release, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "4/4 checks passed (all passed)" in done.stdout, done.stdout
    assert "no grader" in done.stdout
    lab = subprocess.run([str(python), "-m", "jupyterlab", "--version"], cwd=release, capture_output=True, text=True, env=env, timeout=120)
    assert lab.returncode == 0 and lab.stdout.strip()[0].isdigit(), lab.stderr
    commands = subprocess.run([str(python), "-m", "lesson_app.cli", "--help"], cwd=release, capture_output=True, text=True, env=env)
    assert "serve" in commands.stdout and "grade" not in commands.stdout
    assert json.loads((release / "exercises" / "ex01_format_sse.ipynb").read_text())["nbformat"] == 4
