"""``nest_asyncio.apply()`` then ``BackgroundServer``: start, stream, stop on every supported Python.

Each interpreter runs ``kernel_fixtures/nest_asyncio_check.py`` in a throwaway environment made by
``uv run --no-project --with ...``, with this checkout on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("kernel_fixtures") / "nest_asyncio_check.py"
VERSIONS = ["3.11", "3.12", "3.13"]
PACKAGES = ["fastapi", "uvicorn", "sse-starlette", "httpx", "nest-asyncio"]


def interpreter(version: str) -> str:
    """A pyenv-installed interpreter for ``version`` if there is one, else let uv find (or fetch) it."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return version


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Start every version's check at once; each test waits for its own."""
    if shutil.which("uv") is None:
        pytest.fail("uv is required to run the multi-version check")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VIRTUAL_ENV", None)
    processes = {}
    for version in VERSIONS:
        command = ["uv", "run", "--no-project", "--python", interpreter(version)]
        for package in PACKAGES:
            command += ["--with", package]
        command += ["python", str(SCRIPT)]
        processes[version] = subprocess.Popen(
            command, cwd=SCRIPT.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    yield processes
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("version", VERSIONS)
def test_background_server_under_nest_asyncio(runs: dict[str, subprocess.Popen[str]], version: str) -> None:
    stdout, stderr = runs[version].communicate(timeout=200)
    assert runs[version].returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])

    assert report["python"] == version
    assert report["start_seconds"] < 5
    assert report["sync_events"] == [
        ["tick", '{"remaining": 3}', "3"],
        ["tick", '{"remaining": 2}', "2"],
        ["tick", '{"remaining": 1}', "1"],
        ["complete", '{"message": "Countdown finished!"}', "0"],
    ]
    # Inside a running loop: the re-run start replaced the first server, the stream was read with await,
    # and a nested run_until_complete still works.
    assert report["async_cell"] == ["task_update"] * 5 + ["complete", "nested ok", "False", "True"]
    # stop() with a stream open: quick, the stream ended early, its cleanup ran, no thread left behind.
    assert report["stop_seconds"] < 3
    assert report["events_before_stop"][0] == "tick"
    assert "complete" not in report["events_before_stop"]
    assert report["active_after_stop"] == 0
    assert report["threads_leaked"] == 0
