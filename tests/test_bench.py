"""The benchmarks still run (tiny sizes). They print ratios; tests never judge timings."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT, run_python


def run_quick(script: str) -> str:
    """Run ``bench/<script> --quick`` and return what it printed."""
    run = run_python(str(ROOT / "bench" / script), "--quick")
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.mark.slow
def test_online_throughput_benchmark_runs_and_reports_every_ratio():
    out = run_quick("online_throughput.py")
    default, best_case = out.split("BEST CASE")
    for row in ("the seed's eager GradientTape loop", "best model.fit(batch_size=1)", "NumPy per-sample SGD",
                "PyTorch eager", "tk.train_online, 2000 samples", "tk.train_online, 4000 samples", "L2 roofline",
                "batch 32, compare's sizes", "batch 256, bench's sizes", "tk.train_minibatch"):
        assert row in default
    header = next(line for line in default.splitlines() if line.startswith("per-sample training"))
    assert header.split()[-4:] == ["first", "call", "steady", "state"]  # each method: both figures, labelled
    assert default.index("DEFAULT SETTINGS") < default.index("Targets")  # what a user gets comes first
    assert default.count("(target >=") == 24
    for when in ("first call", "steady state"):
        assert default.count(f"online ({when}) vs") == 3 and default.count(f"mini-batch ({when}) vs") == 8
    assert "targets met (quick run" in default
    assert "tk.train_online" in best_case and "of the roofline" in best_case


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
    copied = next(line for line in out.splitlines() if "input copied to each device per step" in line)
    assert "(global batch 256, 128 rows expected per replica)" in copied  # each replica: its half of the batch
    assert copied.count(": 128 rows, 401,920 bytes") == 2, copied  # 128 x 784 float32 pixels + 128 int32 labels
