"""Grading throughput: ``sse-lesson grade`` on a folder of copies of ``solutions/``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
GRADE_TIMEOUT = 1800


def grade_command() -> list[str]:
    script = Path(sys.executable).with_name("sse-lesson")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lesson_app.cli"]


def availability() -> str | None:
    """Why grading cannot be measured yet, or ``None`` when it can."""
    if not any(SOLUTIONS.glob("ex[0-9][0-9]_*.ipynb")):
        return "solutions/ has no exercise notebooks yet"
    probe = subprocess.run([*grade_command(), "grade", "--help"], capture_output=True, text=True, cwd=ROOT)
    if probe.returncode != 0:
        return "`sse-lesson grade` is not available yet"
    return None


def make_submissions(folder: Path, copies: int) -> list[Path]:
    submissions = []
    for number in range(1, copies + 1):
        target = folder / f"student-{number:03d}"
        shutil.copytree(SOLUTIONS, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        submissions.append(target)
    return submissions


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=GRADE_TIMEOUT)


def measure(copies: int, only: str | None = None) -> dict[str, Any]:
    """Grade ``copies`` submissions: the whole folder in one command if the CLI takes
    a folder, otherwise one command per submission. Submissions per minute."""
    extra = ["--only", only] if only else []
    reason = availability()
    if reason is not None:
        return {"available": False, "reason": reason, "submissions": copies}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        folder = Path(tmp) / "submissions"
        submissions = make_submissions(folder, copies)
        output_dir = Path(tmp) / "grades"
        started = time.perf_counter()
        result = _run([*grade_command(), "grade", str(folder), "--json", str(output_dir), *extra])
        mode = "one command for the folder"
        if result.returncode == 2 and "usage" in result.stderr.lower():
            mode = "one command per submission"
            started = time.perf_counter()
            results = [
                _run([*grade_command(), "grade", str(path), "--json", str(output_dir / f"{path.name}.json"), *extra])
                for path in submissions
            ]
            result = next((r for r in results if r.returncode != 0), results[-1])
        elapsed = time.perf_counter() - started
        graded = len(list(output_dir.glob("*.json"))) if output_dir.is_dir() else 0
        summary = (output_dir / "summary.csv").read_text() if (output_dir / "summary.csv").exists() else ""
    output = (result.stdout + result.stderr).strip().splitlines()
    return {
        "available": True,
        "submissions": copies,
        "exercises": only or "all",
        "mode": mode,
        "seconds": elapsed,
        "per_minute": copies / elapsed * 60,
        "exit_code": result.returncode,
        "results_written": graded,
        "summary_csv_head": summary.splitlines()[:3],
        "output_tail": output[-5:],
    }
