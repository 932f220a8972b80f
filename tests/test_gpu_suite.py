"""The GPU check script: its checks at CPU sizes, and its own robustness.

Whatever a check does (raise, hang, leave processes behind), the suite
records it, kills the check's whole process group at its time limit, writes
its results after every check and goes on.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_suite.py"


def _suite(*args, **popen):
    command = [sys.executable, str(SUITE), "--smoke", *map(str, args)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def _running_with(mark):
    """Processes whose command line holds ``mark``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if mark.encode() in cmdline:
            found.append(int(pid))
    return found


@pytest.mark.slow
def test_a_check_that_raises_or_hangs_is_recorded_and_killed(tmp_path):
    out = tmp_path / "suite.json"
    mark = f"hang-{uuid.uuid4().hex}"
    env = {**os.environ, "GPU_SUITE_HANG_MARK": mark}
    start = time.monotonic()
    run = _suite("--only", "_raise,_hang", "--budget", 12, "--json", out, env=env)
    # The first check's result is on disk while the second still runs.
    while not out.exists() and run.poll() is None:
        time.sleep(0.2)
    first = json.loads(out.read_text())
    assert list(first["checks"]) == ["_raise"]
    deadline = time.monotonic() + 30  # the hanging check starts its child
    while not _running_with(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running_with(mark), "the hanging check's child should be running"
    stdout, stderr = run.communicate(timeout=120)
    elapsed = time.monotonic() - start
    assert run.returncode == 1, stderr
    found = json.loads(out.read_text())["checks"]
    assert found["_raise"]["passed"] is False
    assert found["_raise"]["error"].startswith("IndexError: a check that raises")
    assert found["_hang"]["passed"] is False
    assert "timed out" in found["_hang"]["error"]
    assert elapsed < 12 + 5 + 15  # its budget, the grace, the start-up
    assert _running_with(mark) == []  # the hung check's child was killed too
    # The table, beside the JSON and on stdout.
    assert "| _hang |" in out.with_suffix(".md").read_text()
    assert "FAILED: error: IndexError" in stdout


def test_unknown_checks_are_named(tmp_path):
    run = _suite("--only", "fit,warp")
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 2
    assert "unknown check(s) ['warp']" in stderr


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None,
    reason="the compiled fit builds C++ kernels on the CPU: no C++ compiler found",
)
def test_gpu_suite_smoke_mode_runs_its_checks(tmp_path):
    # The encode check wraps bench_encode.py (five processes, a minute at any
    # size); encode_survey itself is tested in test_survey.py.
    out = tmp_path / "suite.json"
    checks = "fit,ddp,pickle,fit-compile,study"
    run = _suite("--only", checks, "--json", out)
    stdout, stderr = run.communicate(timeout=1500)
    assert run.returncode == 0, stdout + stderr[-2000:]
    found = json.loads(out.read_text())
    assert found["mode"] == "smoke"
    assert list(found["checks"]) == checks.split(",")  # in the order asked
    assert all(check["passed"] for check in found["checks"].values())
    # The one-process and two-process fits agree; so do GPU-origin and
    # CPU-restored transforms (here both on the CPU).
    assert "max latent difference, 2-process DDP" in stdout
    assert found["checks"]["fit-compile"]["_raw"]["compile"] is True
    assert "| study |" in stdout


def test_the_full_run_fits_its_budget_and_its_study_settings_are_valid(tmp_path):
    sys.path.insert(0, str(SUITE.parent))
    try:
        import gpu_suite
    finally:
        sys.path.remove(str(SUITE.parent))
    from skgalvae.cli._study import read_config_file
    from skgalvae.study._config import StudyConfig

    assert sum(gpu_suite.BUDGETS.values()) <= 8 * 60
    assert gpu_suite.ORDER == [
        "fit", "layout", "ddp", "pickle", "encode", "fit-compile", "study"
    ]  # fmt: skip
    assert set(gpu_suite.BUDGETS) == set(gpu_suite.ORDER)
    for text in (gpu_suite._GPU_STUDY, gpu_suite._TINY_STUDY):
        path = tmp_path / "study.toml"
        path.write_text(text)
        StudyConfig(**read_config_file(path))
    # The study simulates what its time allows, within bounds.
    full = gpu_suite.SIZES["full"]
    assert gpu_suite.study_size(full, 1) == 400
    assert gpu_suite.study_size(full, 90) == 90 * gpu_suite.STUDY_GALAXIES_PER_S
    assert gpu_suite.study_size(full, 10**6) == 20000
