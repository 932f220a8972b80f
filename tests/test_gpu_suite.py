"""The GPU check script runs end to end at CPU sizes (its smoke mode)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_suite.py"


@pytest.mark.slow
def test_gpu_suite_smoke_mode_runs_its_checks(tmp_path):
    # The encode check wraps bench_encode.py (five processes, a minute at any
    # size); encode_survey itself is tested in test_survey.py.
    out = tmp_path / "suite.json"
    checks = "fit,ddp,pickle,study"
    result = subprocess.run(
        [sys.executable, str(SUITE), "--smoke", "--only", checks, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    found = json.loads(out.read_text())
    assert found["mode"] == "smoke"
    assert set(found["checks"]) == set(checks.split(","))
    assert all(check["passed"] for check in found["checks"].values())
    # The one-process and one-process-DDP fits agree; so do GPU-origin and
    # CPU-restored transforms (here both on the CPU).
    assert "max latent difference" in result.stdout
    assert "| study |" in result.stdout
