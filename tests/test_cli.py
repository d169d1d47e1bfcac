"""The main job and the doctor, as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_python
from toolkit.cli.compare import run_compare
from toolkit.cli.doctor import report


def test_compare_on_a_tiny_budget_writes_the_report(tmp_path, capsys):
    result = run_compare(tmp_path, samples=1000, epochs=1, verbose=2, plain_progress=True)
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\r" not in printed and "\b" not in printed  # plain lines off a terminal
    assert "  1: samples 4000, loss" in printed and "  2: samples 1000, loss" in printed
    assert printed.rstrip().endswith("\n".join(f"  {tmp_path / name}"
                                              for name in ("batch_model.keras", "compare.json", "compare.png")))
    saved = json.loads((tmp_path / "compare.json").read_text())
    methods = [r["method"] for r in saved["results"]]
    assert methods == ["batch: model.fit", "mini-batch: tape", "online: per-sample"]
    for row in saved["results"]:
        assert 0.5 < row["test_accuracy"] <= 1.0
        assert row["time_s"] > 0 and row["samples_per_s"] > 0 and row["peak_memory_mib"] > 0
    assert saved["results"][2]["updates"] == 1000  # one update per sample
    assert saved["results"][0]["updates"] == saved["results"][1]["updates"] == 125
    drift = saved["drift"]
    assert drift["switch_at"] == 500 and len(drift["online"]) == len(drift["frozen"]) == 2
    assert drift["frozen_last_window"] < 0.2 < drift["online_last_window"]  # the frozen model is all wrong
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    assert (tmp_path / "batch_model.keras").exists()
    assert result["config"]["dataset"] == "subset"


@pytest.mark.slow
def test_compare_command_line_prints_the_table(tmp_path):
    run = run_python("-m", "toolkit", "compare", "--out", str(tmp_path), "--samples", "1000", "--epochs", "1",
                     "--quiet", timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    for column in ("test acc", "time s", "samples/s", "updates", "peak MiB"):
        assert column in header
    assert sum(line.startswith(("batch:", "mini-batch:", "online:")) for line in lines) == 3
    assert "Drifting stream" in run.stdout


def test_compare_full_offline_names_the_subset(tmp_path, monkeypatch):
    import keras

    from toolkit.errors import DatasetUnavailableError

    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (_ for _ in ()).throw(Exception("offline")))
    with pytest.raises(DatasetUnavailableError, match="--dataset subset"):
        run_compare(tmp_path, dataset="full", verbose=0)


def test_doctor_reports_versions_devices_cuda_and_determinism():
    text = report()
    for part in ("TensorFlow  2.", "Keras       3.", "Devices:", "CPU", "CUDA libraries:", "libcudart",
                 "op determinism enabled: True"):
        assert part in text
