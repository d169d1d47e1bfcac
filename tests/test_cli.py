"""The main job and the doctor, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from toolkit.compare import run_compare
from toolkit.doctor import report
from toolkit.plots import HistoryPlotter

ROOT = Path(__file__).resolve().parents[1]


def test_compare_on_a_tiny_budget_writes_the_report(tmp_path):
    result = run_compare(tmp_path, samples=1000, epochs=1, verbose=0)
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
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "toolkit", "compare", "--out", str(tmp_path), "--samples", "1000",
                          "--epochs", "1", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    for column in ("test acc", "time s", "samples/s", "updates", "peak MiB"):
        assert column in header
    assert sum(line.startswith(("batch:", "mini-batch:", "online:")) for line in lines) == 3
    assert "Drifting stream" in run.stdout


def test_compare_full_offline_names_the_subset(tmp_path, monkeypatch):
    import keras

    from toolkit.data import DatasetUnavailableError

    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (_ for _ in ()).throw(Exception("offline")))
    with pytest.raises(DatasetUnavailableError, match="--dataset subset"):
        run_compare(tmp_path, dataset="full", verbose=0)


def test_doctor_reports_versions_devices_cuda_and_determinism():
    text = report()
    for part in ("TensorFlow  2.", "Keras       3.", "Devices:", "CPU", "CUDA libraries:", "libcudart",
                 "op determinism enabled: True"):
        assert part in text


def test_history_plotter_keeps_one_colour_per_name(small):
    histories = {"a": {"samples": [1, 2, 3], "accuracy": [0.1, 0.2, 0.3], "val_accuracy": [0.1, 0.1, 0.2]},
                 "b": {"samples": [1, 2], "accuracy": [0.5, 0.6]}}
    plotter = HistoryPlotter(smoothing_std=1.0)
    fig, (ax1, ax2) = matplotlib.pyplot.subplots(1, 2)
    plotter.plot(histories, ax=ax1)
    plotter.plot({"b": histories["b"], "a": histories["a"]}, x="epoch", ax=ax2)
    colours = {line.get_label(): line.get_color() for line in ax1.lines}
    assert colours == {line.get_label(): line.get_color() for line in ax2.lines}
    assert colours["a"] == colours["a (val)"] != colours["b"]
    assert [line.get_linestyle() for line in ax1.lines] == ["-", "--", "-"]
    np.testing.assert_allclose(ax2.lines[0].get_xdata(), [1, 2])  # no "epoch" column: 1, 2, ...
    matplotlib.pyplot.close(fig)
