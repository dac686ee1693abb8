"""A lighter run of benchmarks/load_app.py: 40 mixed uploads from 8 clients on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_app.py"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_mixed_load_is_answered_correctly_with_bounded_memory():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "40", "--clients", "8"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(completed.stdout)
    assert report["unexpected"] == []
    valid, total = report["valid_answered_correctly"].split(" of ")
    assert valid == total and int(total) >= 15
    assert report["server_errors_5xx"] == 0
    assert report["server_peak_rss_mb"] < 1536
    assert report["server_alive_at_end"] and report["passed"]
    assert completed.returncode == 0
