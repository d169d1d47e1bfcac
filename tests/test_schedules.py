"""Learning-rate schedules and the learning-rate range test."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from toolkit.optim import schedules


def rates(schedule, steps):
    return np.array([float(schedule(t)) for t in steps])


def test_triangular_cycles_between_base_and_max():
    cyclic = schedules.Triangular(0.001, 0.01, step_size=5)
    np.testing.assert_allclose(rates(cyclic, [0, 5, 10, 15, 20]), [0.001, 0.01, 0.001, 0.01, 0.001], rtol=1e-5)
    np.testing.assert_allclose(rates(cyclic, [2.5, 7.5]), [0.0055, 0.0055], rtol=1e-5)
    halving = schedules.Triangular(0.001, 0.01, step_size=5, mode="triangular2")
    np.testing.assert_allclose(rates(halving, [5, 15, 25]), [0.01, 0.0055, 0.00325], rtol=1e-5)
    with pytest.raises(ValueError, match="triangular2"):
        schedules.Triangular(0.1, 1.0, 10, mode="exp_range")


def test_one_cycle_matches_pytorch_one_cycle_lr():
    """Reference: torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100, cycle_momentum=False),
    PyTorch 2.13, read at steps 0, 15, 28, 29, 30, 64, 98 and 99."""
    torch_values = [0.004, 0.05459867, 0.09971862, 0.1, 0.09994965, 0.0500002, 5.075e-05, 4e-07]
    ours = rates(schedules.OneCycle(0.1, 100), [0, 15, 28, 29, 30, 64, 98, 99])
    np.testing.assert_allclose(ours, torch_values, rtol=1e-4, atol=1e-8)


def test_cosine_with_warmup_rises_then_decays():
    schedule = schedules.cosine_with_warmup(0.1, warmup_steps=10, decay_steps=90, final_fraction=0.1)
    np.testing.assert_allclose(rates(schedule, [0, 5, 10, 55, 100, 150]), [0.0, 0.05, 0.1, 0.055, 0.01, 0.01],
                               rtol=1e-4, atol=1e-6)


def test_warm_restarts_jump_back_up_and_step_decay_is_a_staircase():
    restarts = schedules.warm_restarts(0.1, first_decay_steps=10)
    assert float(restarts(9)) < 0.01 < 0.09 < float(restarts(10))
    np.testing.assert_allclose(rates(schedules.exponential_decay(1.0, 0.5, 10), [0, 5, 10]), [1.0, 0.5**0.5, 0.5])


def test_schedules_survive_saving_with_the_optimizer(tmp_path, mnist):
    for schedule in (schedules.Triangular(0.001, 0.01, 50), schedules.OneCycle(0.01, 200)):
        model = tk.models.mlp()
        model.compile(optimizer=tk.optimizers.SGD(schedule, momentum=0.9), loss=tk.default_loss())
        model.fit(mnist.x_train[:32], mnist.y_train[:32], verbose=0)
        model.save(tmp_path / "m.keras")
        restored = keras.models.load_model(tmp_path / "m.keras").optimizer.learning_rate
        assert float(restored) == pytest.approx(float(schedule(1)), rel=1e-6)


def test_a_schedule_drives_the_compiled_online_loop_without_retracing(mnist, monkeypatch):
    schedule = schedules.OneCycle(0.05, total_steps=600)
    optimizer = keras.optimizers.SGD(schedule)
    traced = []
    call = tk.training.OnlineStep.__call__
    monkeypatch.setattr(tk.training.OnlineStep, "__call__", lambda self, data: traced.append(1) or call(self, data))
    tk.train_online(tk.models.mlp(), (mnist.x_train[:600], mnist.y_train[:600]), optimizer=optimizer, log_every=200,
                    verbose=0)
    assert len(traced) == 1  # its body ran once: one trace
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(600)), rel=1e-5)


def test_find_lr_suggests_sensible_rates_and_leaves_the_model_alone(mnist):
    model = tk.models.mlp(seed=0)
    before = [w.copy() for w in model.get_weights()]
    train = (mnist.x_train, mnist.y_train)
    sgd = tk.find_lr(model, train, optimizer="sgd", steps=150)
    adam = tk.find_lr(model, train, optimizer=keras.optimizers.Adam(), steps=150)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert 0.02 < sgd.suggestion < 1.0 and 2e-4 < adam.suggestion < 0.02
    for result in (sgd, adam):
        assert result.learning_rates[0] == pytest.approx(1e-5) and len(result.losses) == len(result.learning_rates)
        assert result.suggestion <= result.min_loss_rate
        assert result.smoothed.min() < 0.8 * result.smoothed[0]  # the loss does fall in the middle
