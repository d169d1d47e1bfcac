"""The benchmarks still run (tiny sizes). They print ratios; tests never judge timings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str) -> str:
    """Run ``bench/<script> --quick`` and return what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--quick"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.mark.slow
def test_online_throughput_benchmark_runs_and_reports_every_ratio():
    out = run_quick("online_throughput.py")
    for row in ("seed eager loop", "numpy sgd", "train_online", "train_minibatch bs=32", "fit bs=256 default"):
        assert row in out
    assert out.count("(target >=") == 7
    assert "targets met (quick run" in out


@pytest.mark.slow
def test_augment_throughput_benchmark_runs_in_both_modes():
    out = run_quick("augment_throughput.py")
    assert out.count("Target, parallel >= 1.5x sequential") == 2
    assert "op determinism on" in out and "cores busy" in out


@pytest.mark.slow
def test_distributed_benchmark_compares_mirrored_and_mixed_precision_with_one_device():
    out = run_quick("distributed.py")
    assert "failed" not in out
    for row in ("one device, float32", "MirroredStrategy x2, float32", "one device, mixed"):
        assert row in out, out
