"""``sse-lesson grade``: one submission folder, or a class folder of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CLASS_OUTPUT = Path("grading-output")
CHILDREN_PER_CORE = 4  # lesson_app.grading.forked.CHILDREN_PER_CORE, without importing the grader


def add_grade_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "grade",
        help="grade exercise notebooks: one folder like exercises/, or a class folder of them",
        description=(
            "Run each notebook in a fresh process at time scale 0, then every check (hidden ones too). "
            "PATH is one student's folder (it holds exNN_*.ipynb) or a class folder with one such folder per student. "
            "Engines: 'fork' (default) runs each notebook in a fresh IPython shell forked from one warm grader "
            "process, cell by cell, with every cell's time limited; 'kernel' runs each notebook in a fresh Jupyter "
            "kernel (slower; for checking that both agree)."
        ),
    )
    parser.add_argument("path", type=Path, help="a submission folder, or a folder of submission folders")
    parser.add_argument(
        "--json", type=Path, default=None,
        help="one submission: write Gradescope results.json here; a class: the output folder "
        f"for one <student>.json each and summary.csv (default {DEFAULT_CLASS_OUTPUT}/)",
    )
    parser.add_argument(
        "--engine", choices=("fork", "kernel"), default=None,
        help="how each notebook runs: fork (default where os.fork exists) or kernel (a Jupyter kernel per notebook)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None,
        help=f"notebooks graded at once (default: {CHILDREN_PER_CORE} per core with fork, one per core with kernel)",
    )
    parser.add_argument("--cell-timeout", type=float, default=None, help="seconds a notebook cell may run (default 15)")
    parser.add_argument("--only", default=None, help="comma-separated exercise ids, e.g. ex01,ex03 (default: all)")
    parser.set_defaults(handler=grade)


def grade(args: argparse.Namespace) -> int:
    # Imported here: kernels and notebooks are heavy, and `sse-lesson serve` needs none of them.
    from lesson_app.grading.batch import grade_submissions, is_submission, student_folders
    from lesson_app.grading.checks import EXERCISES
    from lesson_app.grading.notebook import DEFAULT_CELL_TIMEOUT
    from lesson_app.grading.report import class_table, exercise_table, write_csv, write_json

    if args.cell_timeout is None:
        args.cell_timeout = DEFAULT_CELL_TIMEOUT
    path: Path = args.path
    if not path.is_dir():
        print(f"sse-lesson grade: {path} is not a folder", file=sys.stderr)
        return 2
    ids = [part.strip() for part in args.only.split(",")] if args.only else list(EXERCISES)
    unknown = [exercise_id for exercise_id in ids if exercise_id not in EXERCISES]
    if unknown:
        print(f"sse-lesson grade: unknown exercise ids {unknown}; known: {', '.join(EXERCISES)}", file=sys.stderr)
        return 2

    if is_submission(path):
        [grade] = grade_submissions([path], exercise_ids=ids, workers=args.jobs, cell_timeout=args.cell_timeout, progress=True, engine=args.engine)
        print(exercise_table(grade))
        if args.json is not None:
            write_json(grade, args.json)
            print(f"wrote {args.json}")
        return 0

    students = student_folders(path)
    if not students:
        print(f"sse-lesson grade: {path} holds no exercise notebooks and no student folders with them", file=sys.stderr)
        return 2
    output = args.json if args.json is not None else DEFAULT_CLASS_OUTPUT
    grades = grade_submissions(students, exercise_ids=ids, workers=args.jobs, cell_timeout=args.cell_timeout, progress=True, engine=args.engine)
    for grade in grades:
        write_json(grade, output / f"{grade.student}.json")
    write_csv(grades, output / "summary.csv")
    print(class_table(grades))
    print(f"wrote {len(grades)} results files and summary.csv to {output}/")
    return 0
