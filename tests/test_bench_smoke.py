"""The benchmark at its tiny size (``python -m bench --quick``): every figure measured, sane numbers.

Not a speed check (speed is only compared within one run, in ``bench/``): this keeps the
benchmark from rotting.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PEERS = {"ours", "bare", "native", "raw"}
FIGURES = {"short_streams", "events", "first_event", "connections", "lifecycle", "notebooks", "grading"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    out = tmp_path_factory.mktemp("bench")
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), finished.stdout, out


def positive(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_records_the_machine_and_versions(quick_run: tuple[dict, str, Path]) -> None:
    results, _, _ = quick_run
    assert results["quick"] is True
    assert results["cores"] >= 1
    assert set(results["versions"]) >= {"python", "uvicorn", "sse-starlette", "fastapi"}
    assert results["date"].startswith("20")
    assert set(results["figures"]) == FIGURES


def test_throughput_figures_have_every_peer(quick_run: tuple[dict, str, Path]) -> None:
    figures = quick_run[0]["figures"]
    assert figures["short_streams"]["events_per_stream"] == 6
    assert figures["events"]["events_per_stream"] > 400
    for name in ("short_streams", "events"):
        assert set(figures[name]["peers"]) == PEERS
        for peer in PEERS:
            assert positive(figures[name]["peers"][peer]["median"]), (name, peer)
    first = figures["first_event"]["peers"]
    assert set(first) == PEERS
    for peer in PEERS:
        assert 0 < first[peer]["median"] <= first[peer]["p90"] < 1000, peer


def test_every_held_stream_gets_heartbeats(quick_run: tuple[dict, str, Path]) -> None:
    connections = quick_run[0]["figures"]["connections"]
    assert set(connections["peers"]) == {"ours", "bare", "raw"}
    for peer in ("ours", "bare", "raw"):
        levels = connections["peers"][peer]
        assert [level["connections"] for level in levels] == connections["levels"]
        for level in levels:
            assert level["opened"] == level["served"] == level["connections"], (peer, level)
            assert level["min_heartbeats"] >= 1
            assert level["rss_held_mb"] > level["rss_idle_mb"] > 10
            assert positive(level["latency_ms_median"])


def test_background_server_stops_fast_and_ends_every_stream(quick_run: tuple[dict, str, Path]) -> None:
    lifecycle = quick_run[0]["figures"]["lifecycle"]
    assert positive(lifecycle["cold_start_s"]) and lifecycle["cold_start_s"] < 10
    assert set(lifecycle["stop_s"]) == {"0", "20", "200"}
    assert lifecycle["stop_max_s"]["200"] < 3
    assert lifecycle["clients_ended"]["200"] == "200/200"


def test_notebooks_and_grading_are_reported(quick_run: tuple[dict, str, Path]) -> None:
    figures = quick_run[0]["figures"]
    notebooks = figures["notebooks"]
    assert notebooks["count"] == min(1, notebooks["found"])
    assert notebooks["failed"] == 0, notebooks["per_notebook"]
    grading = figures["grading"]
    if grading["available"]:
        assert grading["exit_code"] == 0, grading["output_tail"]
        assert grading["results_written"] >= grading["submissions"]
        assert positive(grading["per_minute"])
    else:
        assert grading["reason"]


def test_table_targets_and_plot(quick_run: tuple[dict, str, Path]) -> None:
    results, stdout, out = quick_run
    assert "| figure | ours | bare | native | raw | ours/bare | ours/raw |" in stdout
    levels = results["figures"]["connections"]["levels"]
    # throughput 2, first event 2, memory one per level, held latency and served, stop, notebooks, grading
    assert len(results["targets"]) == 9 + len(levels)
    assert {row["met"] for row in results["targets"]} <= {True, False, None}
    assert (out / "connections.png").read_bytes().startswith(b"\x89PNG")
