"""Figure 8 at its tiny size (``python -m bench --quick --only hub``): measured, nothing lost or duplicated.

Not a speed check: this keeps the figure from rotting, and its counts must be exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis_fixture import require_redis_server

ROOT = Path(__file__).resolve().parent.parent


def test_the_hub_figure_counts_every_event_once(tmp_path: Path) -> None:
    require_redis_server()
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "hub", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    hub = json.loads((tmp_path / "only-hub.json").read_text())["figures"]["hub"]
    sizes = hub["sizes"]
    expected = sizes["patches"] * sizes["monitors"] // sizes["tasks"]  # each PATCH reaches monitors / tasks
    for setup in ("redis_2_workers", "in_process_1_worker"):
        row = hub[setup]
        assert (row["deliveries"], row["lost"], row["duplicated"]) == (expected, 0, 0), row
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], row
    assert len(hub["redis_2_workers"]["monitors_per_worker"]) == 2, "the monitors did not reach both workers"
    assert "| 8. hub, Redis Streams, 2 workers" in finished.stdout


pytestmark = pytest.mark.timeout(660)
