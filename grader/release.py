"""``sse-lesson release OUT``: the student distribution, with no solutions and no hidden checks.

It holds the notebooks, the exercises, the lesson app (whose checks are the
visible ones only), the project files that ``uv`` needs, and a README for
students. Nothing of ``grader/``, ``solutions/``, ``tests/`` or ``bench/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.sandbox.launcher import ROOT

COPIED = ("notebooks", "exercises", "lesson_app", "binder", "pyproject.toml", "uv.lock", ".python-version")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.sock")

STUDENT_README = """\
# Streaming with Server-Sent Events in FastAPI

An interactive course: Jupyter notebooks that drive a real FastAPI app, and exercises you can check yourself.

```bash
uv run jupyter lab   # opens the course: start with notebooks/README.md
```

`uv` installs everything on first use (https://docs.astral.sh/uv/). The notebooks are in `notebooks/`,
in order; `notebooks/README.md` gives the core path and the extensions.

## Exercises

Each notebook in `exercises/` asks you to write one piece of a streaming app. Fill in the parts that
say `NotImplementedError` (or, in JavaScript, `throw new Error`), then run the last code cell:

```python
from lesson_app.grading import check
check("ex03")
```

It runs the exercise's visible checks on your own code, in your own kernel, and prints PASS or FAIL
for each, with what was expected and what arrived. This is feedback, not your grade: your
instructor's grader runs your notebook on its own, in a separate process, and adds hidden checks
of the same skills. Exercise 9 runs your JavaScript in Chromium, if it is installed.

## The app

`uv run sse-lesson serve` starts the lesson's app on http://127.0.0.1:8000/ with a demo page.
`LESSON_TIME_SCALE=0` makes every simulated delay instant; `1` is the real pace.
"""


class ReleaseError(ValueError):
    """The release folder cannot be written."""


def write_release(out: Path, source: Path = ROOT) -> list[Path]:
    """Write the student distribution into ``out`` (new or empty); return the top-level paths written."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty")
    if out.resolve().is_relative_to(source.resolve()):
        raise ReleaseError(f"{out} is inside the project; write the release somewhere else")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in COPIED:
        path = source / name
        if not path.exists():
            continue
        target = out / name
        if path.is_dir():
            shutil.copytree(path, target, ignore=IGNORED)
        else:
            shutil.copy2(path, target)
        written.append(target)
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\n", encoding="utf-8")
    written += [out / "README.md", out / ".gitignore"]
    return written
