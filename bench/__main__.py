"""``python -m bench``: the lesson app against its peers, in one run.

Options: ``--quick`` (tiny sizes), ``--only FIGURE``, ``--rounds N``, ``--out DIR``.
``--only hub`` (figure 8, several workers on Redis) runs only when named: it needs ``redis-server``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import figures, grading, hub, notebooks, report
from bench.servers import ROOT, raise_open_file_limit

FIGURES = ["throughput", "first-event", "connections", "lifecycle", "notebooks", "grading"]
ON_REQUEST = ["hub"]  # not in the default run: named with --only
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("uvicorn", "sse-starlette", "fastapi", "starlette", "httpx")},
        },
    }


def lifecycle(sizes: figures.Sizes) -> dict[str, Any]:
    """Figure 5 in a fresh interpreter, so the first start is really cold."""
    command = [sys.executable, "-m", "bench.lifecycle", "--repeats", str(sizes.lifecycle_repeats)]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(selected: list[str], sizes: figures.Sizes, log_dir: str, quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"seconds_per_figure": {}}
    for name in selected:
        print(f"... {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        if name == "throughput":
            measured = figures.throughput(sizes, log_dir)
            results["short_streams"] = measured["short_streams"]
            results["events"] = measured["events"]
            results["short_streams"]["server_errors_logged"] = measured["server_errors_logged"]
        elif name == "first-event":
            results["first_event"] = figures.first_event(sizes, log_dir)
        elif name == "connections":
            results["connections"] = figures.connections(sizes, log_dir)
        elif name == "lifecycle":
            results["lifecycle"] = lifecycle(sizes)
        elif name == "notebooks":
            results["notebooks"] = notebooks.run_series(sizes.notebook_limit)
        elif name == "grading":
            results["grading"] = grading.measure(sizes.grading_copies, sizes.grading_only)
        elif name == "hub":
            results["hub"] = hub.measure(hub.QUICK_HUB if quick else hub.FULL_HUB)
        results["seconds_per_figure"][name] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of every figure")
    parser.add_argument(
        "--only", choices=FIGURES + ON_REQUEST, action="append", help="run this figure only (repeatable)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per peer for the throughput figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for latest.json and connections.png")
    args = parser.parse_args(argv)

    sizes = figures.QUICK if args.quick else figures.FULL
    if args.rounds is not None:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    raise_open_file_limit()
    args.out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as log_dir:
        measured = run(args.only or FIGURES, sizes, log_dir, quick=args.quick)
    seconds_per_figure = measured.pop("seconds_per_figure")
    results = {
        **environment(),
        "quick": args.quick,
        "sizes": dataclasses.asdict(sizes),
        "seconds": (datetime.now(timezone.utc) - started).total_seconds(),
        "seconds_per_figure": seconds_per_figure,
        "figures": measured,
    }
    results["targets"] = report.targets(measured, quick=args.quick)

    name = "latest.json" if args.only is None else "only-" + "-".join(args.only) + ".json"
    (args.out / name).write_text(json.dumps(results, indent=2) + "\n")
    if "connections" in measured:
        report.plot_connections(measured["connections"], args.out / "connections.png")
    print(f"Benchmarks, {results['date']} ({results['cores']} cores, Python {results['versions']['python']})\n")
    print(report.table(results))
    print(f"\nwritten: {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
