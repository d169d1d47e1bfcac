"""The from-scratch optimizers: Keras's own published values, step-by-step agreement with
keras.optimizers, use in fit and in the tape loops, saving, and the paper forms."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from tests.helpers import max_weight_difference
from toolkit import optim as ours

GRADS = np.array([1.0, 6.0, 7.0, 2.0], np.float32)
START = [1.0, 2.0, 3.0, 4.0]

# keras/src/optimizers/*_test.py (Keras 3.15): test_single_step
SINGLE_STEP = [
    (ours.SGD(learning_rate=0.5), [0.5, -1.0, -0.5, 3.0]),
    (ours.AdaGrad(learning_rate=0.5), [0.5233, 1.5007, 2.5005, 3.5061]),
    (ours.RMSprop(learning_rate=0.5), [-0.5811, 0.4189, 1.4189, 2.4189]),
    (ours.Adam(learning_rate=0.5), [0.5, 1.5, 2.5, 3.5]),
    (ours.AdamW(learning_rate=0.5), [0.4980, 1.4960, 2.494, 3.492]),
]

# keras/src/optimizers/*_test.py: test_correctness_with_golden (first step on 0.01, then 0.1..1.0)
GOLDEN = [
    (lambda: ours.SGD(nesterov=True), np.array([
        [0.9999] * 10,
        [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
        [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
        [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
        [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599]])),
    (lambda: ours.AdaGrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-6), np.array([
        [0.9963] * 10,
        [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
        [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
        [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
        [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825]])),
    (lambda: ours.RMSprop(centered=True), np.tile([[0.9967], [0.9933], [0.9908], [0.9885], [0.9864]], (1, 10))),
    (lambda: ours.Adam(amsgrad=True), np.tile([[0.999], [0.9982], [0.9974], [0.9965], [0.9955]], (1, 10))),
    (lambda: ours.AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2), np.array([
        [0.4998] * 10,
        [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
        [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
        [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
        [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159]])),
]

PAIRS = [  # (ours, Keras's), same arguments
    (lambda: ours.SGD(0.1), lambda: keras.optimizers.SGD(0.1)),
    (lambda: ours.SGD(0.05, momentum=0.9), lambda: keras.optimizers.SGD(0.05, momentum=0.9)),
    (lambda: ours.SGD(0.05, momentum=0.9, nesterov=True),
     lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    (lambda: ours.AdaGrad(0.1), lambda: keras.optimizers.Adagrad(0.1)),
    (lambda: ours.RMSprop(0.01), lambda: keras.optimizers.RMSprop(0.01)),
    (lambda: ours.RMSprop(0.01, momentum=0.5, centered=True),
     lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    (lambda: ours.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
    (lambda: ours.Adam(0.01, amsgrad=True), lambda: keras.optimizers.Adam(0.01, amsgrad=True)),
    (lambda: ours.AdamW(0.01, weight_decay=0.05), lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05)),
]


@pytest.mark.parametrize("optimizer,expected", SINGLE_STEP, ids=lambda o: type(o).__name__)
def test_keras_published_single_step(optimizer, expected):
    variable = keras.Variable(START)
    optimizer.apply_gradients([(GRADS, variable)])
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make,golden", GOLDEN, ids=[f"golden-{i}" for i in range(len(GOLDEN))])
def test_keras_published_golden_trajectories(make, golden):
    optimizer, x = make(), keras.Variable(np.ones(10, np.float32))
    optimizer.apply_gradients([(np.full(10, 0.01, np.float32), x)])
    for row in golden:
        np.testing.assert_allclose(x.numpy(), row, rtol=5e-4, atol=5e-4)
        optimizer.apply_gradients([(np.arange(0.1, 1.1, 0.1, dtype=np.float32), x)])


def _train_100_steps(optimizer, mnist, dtype="float32"):
    """100 mini-batch steps on the seed's MLP, with fixed batches."""
    model = tk.models.mlp(hidden=(32,), seed=0)
    x = mnist.x_train[:3200].reshape(100, 32, 28, 28)
    y = mnist.y_train[:3200].reshape(100, 32)
    loss = tk.default_loss()
    import tensorflow as tf

    for xb, yb in zip(x, y):
        with tf.GradientTape() as tape:
            value = loss(yb, model(xb, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
    return model


@pytest.mark.parametrize("make_ours,make_keras", PAIRS, ids=[f"pair-{i}" for i in range(len(PAIRS))])
def test_each_matches_its_keras_builtin_over_100_steps(make_ours, make_keras, mnist):
    mine, theirs = _train_100_steps(make_ours(), mnist), _train_100_steps(make_keras(), mnist)
    assert max_weight_difference(mine, theirs) < 1e-6


def test_weight_decay_none_is_refused_by_adamw_as_in_keras():
    with pytest.raises(ValueError, match="weight_decay=None"):
        ours.AdamW(weight_decay=None)


def test_weight_decay_exclusions_work_like_keras():
    decayed, excluded = keras.Variable(2.0), keras.Variable(2.0, name="exclude")
    optimizer = ours.AdamW(learning_rate=1.0, weight_decay=0.004)
    optimizer.exclude_from_weight_decay(var_names=["exclude"])
    optimizer.apply_gradients([(np.float32(0.0), decayed), (np.float32(0.0), excluded)])
    assert float(decayed) == pytest.approx(2.0 * (1 - 0.004), abs=1e-6) and float(excluded) == 2.0


def test_usable_in_fit_and_in_the_tape_loops_with_identical_results(mnist):
    x, y = mnist.x_train[:640], mnist.y_train[:640]
    runs = {}
    for name, make in {"keras": lambda: keras.optimizers.Adam(1e-3), "ours": lambda: ours.Adam(1e-3)}.items():
        fit_model, tape_model = tk.models.mlp(seed=2), tk.models.mlp(seed=2)
        tk.fit_batch(fit_model, (x, y), optimizer=make(), batch_size=32, shuffle=False, verbose=0)
        tk.train_minibatch(tape_model, (x, y), optimizer=make(), batch_size=32, shuffle=False, verbose=0)
        runs[name] = (fit_model, tape_model)
    assert max_weight_difference(runs["ours"][0], runs["keras"][0]) < 1e-6
    assert max_weight_difference(runs["ours"][1], runs["keras"][1]) < 1e-6
    online = tk.train_online(tk.models.mlp(seed=2), (x, y), optimizer=ours.SGD(0.01, momentum=0.9), verbose=0)
    assert online.last("updates") == 640


def test_saved_with_the_model_and_restored_as_ours(tmp_path, mnist):
    model = tk.models.mlp(seed=0)
    model.compile(optimizer=ours.RMSprop(0.002, momentum=0.3, form="paper"), loss=tk.default_loss())
    model.fit(mnist.x_train[:64], mnist.y_train[:64], verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(restored.optimizer, ours.RMSprop)
    assert restored.optimizer.get_config()["form"] == "paper" and restored.optimizer.momentum == 0.3
    np.testing.assert_allclose(restored.optimizer.variables[2].numpy(), model.optimizer.variables[2].numpy())


def test_checkpoints_restore_their_slots(tmp_path, mnist):
    state_model = tk.models.mlp(seed=0)
    optimizer = ours.Adam(1e-3)
    tk.train_online(state_model, (mnist.x_train[:100], mnist.y_train[:100]), optimizer=optimizer,
                    checkpoint_dir=str(tmp_path), verbose=0)
    fresh, restored = ours.Adam(1e-3), tk.models.mlp(seed=5)  # BackupAndRestore restores into a compiled model
    restored.compile(optimizer=fresh, loss=tk.default_loss())
    tk.train_online(restored, (mnist.x_train[:100], mnist.y_train[:100]), checkpoint_dir=str(tmp_path), resume=True,
                    verbose=0)  # nothing is left to learn: the run only restores
    assert int(fresh.iterations) == 100
    np.testing.assert_allclose(fresh.m[0].numpy(), optimizer.m[0].numpy())


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match='"keras".*"paper"'):
        ours.SGD(form="pytorch")


def _run_on_a_quadratic(optimizer, steps=30):
    """Minimise 0.5 * (x^2 + 10 y^2) from (3, 2); return the path after the start."""
    return ours.descend(lambda p: 0.5 * (p[0] ** 2 + 10.0 * p[1] ** 2), optimizer, (3.0, 2.0), steps)[1:]


def test_momentum_forms_agree_at_a_constant_rate_and_differ_after_a_schedule_drop():
    constant = [_run_on_a_quadratic(ours.SGD(0.02, momentum=0.9, form=f)) for f in ("keras", "paper")]
    np.testing.assert_allclose(constant[0], constant[1], atol=1e-5)
    drop = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.02, 0.002])
    dropped = [_run_on_a_quadratic(ours.SGD(drop, momentum=0.9, form=f)) for f in ("keras", "paper")]
    np.testing.assert_allclose(dropped[0][:10], dropped[1][:10], atol=1e-5)
    assert np.abs(dropped[0][-1] - dropped[1][-1]).max() > 0.05  # the Keras velocity keeps the old rate


def test_rmsprop_and_adagrad_forms_differ_only_through_epsilon():
    for cls in (ours.RMSprop, ours.AdaGrad):
        tiny = [_run_on_a_quadratic(cls(0.05, epsilon=1e-7, form=f)) for f in ("keras", "paper")]
        large = [_run_on_a_quadratic(cls(0.05, epsilon=1.0, form=f)) for f in ("keras", "paper")]
        np.testing.assert_allclose(tiny[0], tiny[1], atol=1e-3)
        assert np.abs(large[0] - large[1]).max() > 0.01


def test_adam_paper_form_matches_the_keras_form_up_to_epsilon():
    paths = [_run_on_a_quadratic(ours.Adam(0.1, form=f)) for f in ("keras", "paper")]
    np.testing.assert_allclose(paths[0], paths[1], atol=1e-4)
