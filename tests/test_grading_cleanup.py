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

from tests.test_grading import SOLUTIONS, UNKILLABLE, edit, insert_cell, sandbox_processes

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's")]


def descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_killing_the_grader_kills_the_sandbox_and_every_notebook_process(tmp_path: Path) -> None:
    folder = tmp_path / "student"
    shutil.copytree(SOLUTIONS, folder)
    edit(folder, "ex01", insert_cell(UNKILLABLE))
    grader = subprocess.Popen(
        [sys.executable, "-m", "lesson_app.cli", "grade", str(folder), "--only", "ex01", "--cell-timeout", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = psutil.Process(grader.pid)
    try:
        deadline = time.monotonic() + 90
        spinning: list[psutil.Process] = []
        while time.monotonic() < deadline and not spinning:
            ours = {p.pid for p in descendants(process)}
            spinning = [p for p in sandbox_processes() if p.pid in ours and p.status() == psutil.STATUS_RUNNING]
            time.sleep(0.2)
        assert spinning, "the notebook's endless cell never started running in the sandbox"
        left = descendants(process)
        assert len(left) >= 3  # the zygote, the notebook's first child, the notebook's process
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait(10)
    gone, alive = psutil.wait_procs(left, timeout=10)
    for straggler in alive:
        straggler.kill()
    assert alive == [], f"still running after the grader was killed: {[p.pid for p in alive]}"
    assert not [p for p in sandbox_processes() if p.pid in {q.pid for q in left}]
