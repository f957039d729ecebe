"""``binder/``: what repo2docker (Binder) installs is exactly what ``uv.lock`` pins.

repo2docker does not read uv: it reads ``binder/runtime.txt`` and ``binder/requirements.txt``,
which is exported from the lock (``uv export --frozen --no-dev --no-hashes -o binder/requirements.txt``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
EXPORT = ["export", "--frozen", "--no-dev", "--no-hashes"]


def requirement_lines(text: str) -> set[tuple[str, str, str]]:
    """(name, pin, marker) of each requirement; comments and layout are ignored."""
    found = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-e "):
            found.add(("-e", line.removeprefix("-e ").strip(), ""))
            continue
        requirement = Requirement(line)
        found.add((requirement.name.lower(), str(requirement.specifier), str(requirement.marker or "")))
    return found


def test_requirements_match_the_lock() -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is needed to compare binder/requirements.txt with uv.lock"
    exported = subprocess.run([uv, *EXPORT], cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout
    committed = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    assert requirement_lines(committed) == requirement_lines(exported), (
        "binder/requirements.txt is out of date: run  uv export --frozen --no-dev --no-hashes -o binder/requirements.txt"
    )


def test_requirements_install_the_course_and_the_proxy() -> None:
    pins = {name: pin for name, pin, _ in requirement_lines((BINDER / "requirements.txt").read_text(encoding="utf-8"))}
    assert pins["-e"] == "."  # the course itself, lesson_app included
    for name in ("jupyter-server-proxy", "jupyterlab", "uvicorn", "sse-starlette", "fastapi"):
        assert re.fullmatch(r"==[\w.]+", pins[name]), (name, pins.get(name))


def test_runtime_is_a_python_the_project_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, f"repo2docker expects e.g. python-3.11, got {runtime!r}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert match.group(1) + ".0" in SpecifierSet(project["requires-python"])
