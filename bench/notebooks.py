"""The notebook series at time scale 0, each executed in a real kernel with nbclient."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 120


def run_notebook(path: Path) -> dict[str, Any]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # a failing notebook is reported, not fatal to the run
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    return {"seconds": time.perf_counter() - started, "cells": len(notebook.cells), "error": error}


def run_series(limit: int | None = None) -> dict[str, Any]:
    """Execute ``notebooks/*.ipynb`` in order (the first ``limit`` only, if given)."""
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    chosen = paths if limit is None else paths[:limit]
    previous = os.environ.get("LESSON_TIME_SCALE")
    os.environ["LESSON_TIME_SCALE"] = "0"  # the kernels inherit it
    try:
        results = {path.name: run_notebook(path) for path in chosen}
    finally:
        if previous is None:
            os.environ.pop("LESSON_TIME_SCALE", None)
        else:
            os.environ["LESSON_TIME_SCALE"] = previous
    return {
        "found": len(paths),
        "count": len(results),
        "failed": sum(1 for result in results.values() if result["error"]),
        "total_s": sum(result["seconds"] for result in results.values()),
        "per_notebook": results,
    }
