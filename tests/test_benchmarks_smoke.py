"""The benchmark runner still runs: two fast figures in --quick mode write well-formed JSON lines.

No timing is asserted here (speed targets live in benchmarks/, run by scripts/bench); this
only keeps the benchmarks from rotting silently when the engine changes under them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATUSES = {"PASS", "MISS", "INFO", "SKIP", "ERROR"}


@pytest.mark.slow
def test_quick_run_writes_one_json_line_per_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "import_time,overhead", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode in (0, 1), f"the runner failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    files = list(tmp_path.glob("*-quick.jsonl"))
    assert len(files) == 1, files
    records = [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines()]
    figures = {r["figure"]: r for r in records}
    assert {"import_s", "import_replicate_s", "client_overhead_ms", "client_overhead_official_ms",
            "client_overhead_vs_official_ms", "client_overhead_floor_ms", "requests_per_prediction"} <= set(figures)
    for record in records:
        assert record["quick"] is True and record["run"] and record["benchmark"] in ("import_time", "overhead")
        assert record["status"] in STATUSES - {"ERROR", "SKIP"}, record
        assert isinstance(record["value"], (int, float)) and math.isfinite(record["value"]), record
        assert isinstance(record["unit"], str) and record["unit"] and isinstance(record["label"], str)
        assert record["ratio"] is None or isinstance(record["ratio"], (int, float))
        assert isinstance(record["params"], dict) and isinstance(record["samples"], list)
        for check in record["checks"]:
            assert check["subject"] in ("value", "ratio") and check["op"] in ("<=", "<")
        assert (record["status"] == "INFO") == (not record["checks"]), record
        assert f"[{record['status']:5}] {record['label']}" in done.stdout  # printed as well as written
