"""``sse-lesson grade``, ``release`` and ``autograder``: the instructor's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CLASS_OUTPUT = Path("grading-output")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "grade",
        help="grade exercise notebooks: one folder like exercises/, or a class folder of them",
        description=(
            "Run each notebook in a sandboxed process at time scale 0, then run every check (hidden ones too) "
            "in this process, against what the notebook's code returns and serves. PATH is one student's folder "
            "(it holds exNN_*.ipynb) or a class folder with one such folder per student."
        ),
    )
    parser.add_argument("path", type=Path, help="a submission folder, or a folder of submission folders")
    parser.add_argument(
        "--json", type=Path, default=None,
        help="one submission: write Gradescope results.json here; a class: the output folder "
        f"for one <student>.json each and summary.csv (default {DEFAULT_CLASS_OUTPUT}/)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: 4 per core)")
    parser.add_argument("--cell-timeout", type=float, default=None, help="seconds a notebook cell may run (default 15)")
    parser.add_argument("--only", default=None, help="comma-separated exercise ids, e.g. ex01,ex03 (default: all)")
    parser.set_defaults(handler=grade)

    release = commands.add_parser(
        "release", help="write the student distribution: notebooks, exercises, the app with visible checks only"
    )
    release.add_argument("out", type=Path, help="an empty or new folder")
    release.set_defaults(handler=release_command)

    autograder = commands.add_parser("autograder", help="build a Gradescope autograder zip")
    autograder.add_argument("out", type=Path, help="the zip to write, e.g. autograder.zip")
    autograder.set_defaults(handler=autograder_command)


def grade(args: argparse.Namespace) -> int:
    from grader.batch import grade_submissions, is_submission, student_folders
    from grader.checks import EXERCISES
    from grader.engine import DEFAULT_CELL_TIMEOUT
    from grader.report import class_table, exercise_table, write_csv, write_json

    cell_timeout = args.cell_timeout if args.cell_timeout is not None else DEFAULT_CELL_TIMEOUT
    path: Path = args.path
    if not path.is_dir():
        print(f"sse-lesson grade: {path} is not a folder", file=sys.stderr)
        return 2
    ids = [part.strip() for part in args.only.split(",")] if args.only else list(EXERCISES)
    unknown = [exercise_id for exercise_id in ids if exercise_id not in EXERCISES]
    if unknown:
        print(f"sse-lesson grade: unknown exercise ids {unknown}; known: {', '.join(EXERCISES)}", file=sys.stderr)
        return 2
    options = {"exercise_ids": ids, "workers": args.jobs, "cell_timeout": cell_timeout, "progress": True}

    if is_submission(path):
        hide = [args.json] if args.json is not None else []
        [result] = grade_submissions([path], hide=hide, **options)
        print(exercise_table(result))
        if args.json is not None:
            write_json(result, args.json)
            print(f"wrote {args.json}")
        return 0

    students = student_folders(path)
    if not students:
        print(f"sse-lesson grade: {path} holds no exercise notebooks and no student folders with them", file=sys.stderr)
        return 2
    output = args.json if args.json is not None else DEFAULT_CLASS_OUTPUT
    results = grade_submissions(students, hide=[output], **options)
    for result in results:
        write_json(result, output / f"{result.student}.json")
    write_csv(results, output / "summary.csv")
    print(class_table(results))
    print(f"wrote {len(results)} results files and summary.csv to {output}/")
    return 0


def release_command(args: argparse.Namespace) -> int:
    from grader.release import ReleaseError, write_release

    try:
        write_release(args.out)
    except ReleaseError as exc:
        print(f"sse-lesson release: {exc}", file=sys.stderr)
        return 2
    print(f"wrote the student distribution to {args.out}/")
    return 0


def autograder_command(args: argparse.Namespace) -> int:
    from grader.gradescope import build_autograder

    build_autograder(args.out)
    print(f"wrote {args.out}: upload it as the assignment's autograder on Gradescope")
    return 0
