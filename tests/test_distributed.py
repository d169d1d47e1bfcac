"""Distributed training: MirroredStrategy on logical CPU devices against one device, and a
two-worker MultiWorkerMirroredStrategy job on 127.0.0.1 that completes, matches, survives a
killed worker, and shows that model.fit fails under it. Every strategy runs in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import toolkit as tk
from tests.helpers import ROOT, run_python, subprocess_env
from toolkit import distributed as distribute

ENV = subprocess_env()
TOLERANCE = 1e-5  # float32 sums taken in a different order; Adam divides small numbers


def case(name: str) -> dict:
    done = run_python(str(ROOT / "tests" / "distributed_cases.py"), name)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mirrored():
    return case("mirrored")


@pytest.mark.slow
def test_two_replicas_match_one_device_with_fit_and_with_the_custom_loops(mirrored):
    assert mirrored["replicas"] == 2
    assert mirrored["fit"] < TOLERANCE
    assert mirrored["custom_loop"] < TOLERANCE and mirrored["custom_loop_updates"] == 32
    assert mirrored["regularised"] < TOLERANCE  # scale_regularization_loss: one penalty, not one per replica
    assert mirrored["online"] < TOLERANCE and mirrored["online_prequential_gap"] < TOLERANCE
    assert mirrored["diverging_stopped"] and not mirrored["diverging_kept"]  # fit's semantics under a strategy


@pytest.mark.slow
def test_each_replica_receives_its_shard_and_partial_batches_and_clipping_equal_one_device(mirrored):
    assert mirrored["rows_per_replica"] == 32  # a global batch of 64 on 2 replicas: 32 rows each, never 64
    assert mirrored["batchnorm_partial_batch"] < TOLERANCE  # the last batch of 40 is split, nothing padded
    assert mirrored["clipped_toolkit"] < TOLERANCE  # the all-reduced gradient is clipped, as on one device
    assert mirrored["clipped_keras_fit"] > 100 * TOLERANCE  # Keras's fit clips each replica's share: the trap


@pytest.mark.slow
def test_strategy_guards_name_the_fix(mirrored):
    errors = mirrored["errors"]
    assert "with strategy.scope(): model = tk.models.mlp()" in errors["model_outside_scope"]
    assert "optimizer_outside_scope" not in errors  # compiled in the model's scope, its slots are mirrored
    assert "cannot be split evenly among 2 replicas" in errors["uneven_batch"]
    assert "strategy.scope()" in errors["fit_outside_scope"]


@pytest.mark.slow
def test_logical_devices_requested_too_late_give_a_clear_error():
    assert "restart the kernel" in case("too-late")["error"]


@pytest.mark.slow
def test_fit_batch_refuses_multi_worker_mirrored_strategy_and_names_the_custom_loop():
    error = case("mwms-fit")["error"]
    assert "PerReplica" in error and "tk.train_minibatch" in error


def test_batch_and_learning_rate_arithmetic():
    class Four:
        num_replicas_in_sync = 4

    assert distribute.global_batch_size(32, Four()) == 128
    assert distribute.scale_learning_rate(0.1, batch_size=256, base_batch_size=32) == pytest.approx(0.8)
    config = distribute.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1)
    assert config["task"] == {"type": "worker", "index": 1} and len(config["cluster"]["worker"]) == 2
    assert len(set(distribute.free_ports(3))) == 3


def _job(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "toolkit", "distribute", "--workers", "2", "--out", str(out),
                             "--timeout", "300", *args], env=ENV, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _single_device_reference(samples: int, epochs: int) -> list[np.ndarray]:
    """What the two-worker job computes, trained on one device: same data, order and batches."""
    data = tk.load_mnist("subset")
    model = tk.models.mlp(seed=0)
    tk.train_minibatch(model, (data.x_train[:samples], data.y_train[:samples]), optimizer=keras.optimizers.SGD(0.05),
                       epochs=epochs, batch_size=64, seed=0, verbose=0)
    return model.get_weights()


def _weights(out: Path) -> list[np.ndarray]:
    with np.load(out / "weights.npz") as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.slow
def test_a_two_worker_job_completes_and_matches_one_device(tmp_path):
    """Over 32 steps the float32 rounding of split batches stays below 1e-5. (Over hundreds of steps
    it compounds to ~1e-4 against one device, while two workers still equal two mirrored replicas
    exactly; the resume test below relies on that.)"""
    job = _job(tmp_path, "--epochs", "2", "--samples", "1024")
    output, _ = job.communicate(timeout=400)
    assert job.returncode == 0, output[-3000:]
    assert "epoch 2:" in output and "2 replicas" in output
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epoch"] == [1, 2] and history["updates"][-1] == 2 * 16
    for ours, reference in zip(_weights(tmp_path), _single_device_reference(1024, 2)):
        np.testing.assert_allclose(ours, reference, atol=TOLERANCE)


@pytest.mark.slow
def test_a_killed_worker_stops_the_job_and_a_restart_resumes_from_the_last_checkpoint(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    reference = _job(whole, "--epochs", "6")
    output, _ = reference.communicate(timeout=400)
    assert reference.returncode == 0, output[-3000:]

    job = _job(cut, "--epochs", "6")
    deadline = time.monotonic() + 300
    backed_up = cut / "checkpoints" / "backup" / "training_metadata.json"  # Keras's BackupAndRestore
    while not backed_up.exists():
        assert job.poll() is None and time.monotonic() < deadline, "the job ended before its first checkpoint"
        time.sleep(0.05)
    distribute.kill_worker(cut, 1)
    output, _ = job.communicate(timeout=120)
    assert job.returncode == 1
    assert "worker 1 was killed by signal 9" in output and "--resume" in output
    assert not (cut / "weights.npz").exists()
    saved_epochs = json.loads(backed_up.read_text())["epoch"]
    assert 1 <= saved_epochs < 6

    resumed = _job(cut, "--epochs", "6", "--resume")
    output, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, output[-3000:]
    assert json.loads((cut / "history.json").read_text())["epoch"] == [1, 2, 3, 4, 5, 6]  # nothing lost
    for ours, uninterrupted in zip(_weights(cut), _weights(whole)):
        np.testing.assert_array_equal(ours, uninterrupted)


@pytest.mark.slow
def test_model_fit_under_multi_worker_mirrored_strategy_fails_as_documented(tmp_path):
    job = _job(tmp_path, "--epochs", "1", "--api", "fit")
    output, _ = job.communicate(timeout=400)
    assert job.returncode == 1 and "job failed: worker" in output
    assert "Attempt to convert a value (PerReplica" in (tmp_path / "worker-0.err").read_text()
