"""The benchmark still runs (tiny sizes). It prints ratios; tests never judge timings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_online_throughput_benchmark_runs_and_reports_every_ratio():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "online_throughput.py"), "--quick"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for row in ("seed eager loop", "numpy sgd", "train_online", "train_minibatch bs=32", "fit bs=256 default"):
        assert row in out
    assert out.count("(target >=") == 7
    assert "targets met (quick run" in out
