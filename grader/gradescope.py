"""A Gradescope autograder: ``sse-lesson autograder OUT.zip`` builds it; ``run_autograder`` runs this module.

Gradescope unzips the autograder into ``/autograder/source``, runs ``setup.sh``
once when it builds the image (Ubuntu 22.04, whose Python 3.10 is too old: the
script installs uv and a Python it supports), then, per submission, runs
``run_autograder``, which grades ``/autograder/submission`` and writes
``/autograder/results/results.json``. ``LESSON_AUTOGRADER_ROOT`` replaces
``/autograder`` (to run the same thing on any machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from grader.sandbox.launcher import ROOT

ROOT_ENV = "LESSON_AUTOGRADER_ROOT"
PYTHON_VERSION = "3.12"
INCLUDED = ("lesson_app", "grader", "pyproject.toml", "uv.lock", "README.md")

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-pip curl ca-certificates >/dev/null
python3 -m pip install --quiet uv
uv python install {PYTHON_VERSION}
uv sync --locked --no-dev --python {PYTHON_VERSION}
uv run --no-sync playwright install --with-deps chromium
# The browser checks read LESSON_CHROMIUM; playwright keeps its Chromium under ~/.cache/ms-playwright.
find /root/.cache/ms-playwright -type f -name chrome -path '*chrome-linux*' | head -n 1 > .chromium-path
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -euo pipefail
root="${LESSON_AUTOGRADER_ROOT:-/autograder}"
source_dir="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${LESSON_CHROMIUM:-}" ] && [ -s "$source_dir/.chromium-path" ]; then
  export LESSON_CHROMIUM="$(cat "$source_dir/.chromium-path")"
fi
python="${LESSON_AUTOGRADER_PYTHON:-$source_dir/.venv/bin/python}"
cd "$source_dir"
exec "$python" -m grader.gradescope "$root"
"""


def build_autograder(out: Path, source: Path = ROOT) -> Path:
    """Write the autograder zip: ``setup.sh`` and ``run_autograder`` at its root, executable, and the grader."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    executable = (stat.S_IFREG | 0o755) << 16
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = executable
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        for name in INCLUDED:
            path = source / name
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                if "__pycache__" in file.parts or file.suffix == ".pyc":
                    continue
                archive.write(file, file.relative_to(source).as_posix())
    return out


def submitted_folder(submission: Path, work: Path) -> Path:
    """The student's notebooks, gathered into one folder (Gradescope keeps whatever folders they uploaded)."""
    folder = work / "student"
    folder.mkdir(parents=True)
    for notebook in sorted(submission.rglob("ex[0-9][0-9]_*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts or (folder / notebook.name).exists():
            continue
        shutil.copy2(notebook, folder / notebook.name)
    return folder


def run(root: Path) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``."""
    import tempfile

    from grader.batch import grade_submissions
    from grader.report import write_json

    results = root / "results" / "results.json"
    with tempfile.TemporaryDirectory(prefix="submission-") as work:
        folder = submitted_folder(root / "submission", Path(work))
        [grade] = grade_submissions([folder], hide=[root / "results", root / "submission"])
    write_json(grade, results)
    print(f"score {grade.score:g}/{grade.max_score:g}; wrote {results}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope", description=__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path(os.environ.get(ROOT_ENV, "/autograder")))
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
