"""A grader that is killed mid-run leaves no student code running behind it."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.test_grading import SOLUTIONS, UNKILLABLE, edit, insert_cell

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(sys.platform != "linux", reason="the fork engine's cleanup is Linux's")]


def descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_killing_the_grader_kills_every_child(tmp_path: Path) -> None:
    folder = tmp_path / "student"
    shutil.copytree(SOLUTIONS, folder)
    edit(folder, "ex01", insert_cell(UNKILLABLE))
    grader = subprocess.Popen(
        [sys.executable, "-m", "lesson_app.cli", "grade", str(folder), "--only", "ex01", "--cell-timeout", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = psutil.Process(grader.pid)
    deadline = time.monotonic() + 60
    spinning: list[psutil.Process] = []
    while time.monotonic() < deadline and not spinning:
        # the fork server, then its child running the endless cell
        spinning = [p for p in descendants(process) if p.ppid() != grader.pid]
        time.sleep(0.2)
    assert spinning, "the grader never forked a child for the notebook"
    left = descendants(process)

    grader.send_signal(signal.SIGKILL)
    grader.wait(10)
    gone, alive = psutil.wait_procs(left, timeout=10)
    for straggler in alive:
        straggler.kill()
    assert alive == [], f"still running after the grader was killed: {[p.pid for p in alive]}"
