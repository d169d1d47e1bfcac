"""Compiled steps shared between fresh models of one architecture: the same results as a step of
their own, each model's weights and optimizer state kept apart, and sharing only where it is safe."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from tests.helpers import max_weight_difference
from toolkit.models.inspect import clone_with_weights
from toolkit.training.shared_steps import SharedStepper, stepper_for


def sgd_run(model, data, learning_rate=0.05, momentum=0.0):
    """600 samples of per-sample SGD, in the stream's order."""
    (x, y) = data
    return tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=200, verbose=0,
                           optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum))


def own_step_copy(model: keras.Model) -> keras.Model:
    """The same network with an identity ``Lambda`` first, which the toolkit never shares steps for."""
    copy = clone_with_weights(model)
    return keras.Sequential([keras.Input(copy.input_shape[1:]), keras.layers.Lambda(lambda t: t), *copy.layers])


def test_fresh_models_share_one_compiled_step_and_get_the_results_of_their_own(small):
    first, second = tk.models.mlp(seed=3), tk.models.mlp(seed=3)
    reference = own_step_copy(second)
    first_history = sgd_run(first, small[0])
    after_first = first.get_weights()
    shared = stepper_for(second, keras.optimizers.SGD(0.05), tk.default_loss(), prequential=True, batch_size=1)
    traces = shared.stand_in.run_chunk.experimental_get_tracing_count()
    second_history = sgd_run(second, small[0])
    sgd_run(reference, small[0])
    assert isinstance(shared, SharedStepper)
    assert shared.stand_in.run_chunk.experimental_get_tracing_count() == traces  # nothing traced again
    assert max_weight_difference(second, reference) < 1e-6
    assert all(np.array_equal(a, b) for a, b in zip(after_first, first.get_weights()))  # untouched by the second
    assert first_history.history["accuracy"] == second_history.history["accuracy"]


def test_the_learning_rate_is_the_borrowers_own(small):
    """A plain learning rate is a variable, copied like the weights: one step serves every rate."""
    frozen, moving = tk.models.mlp(seed=4), tk.models.mlp(seed=4)
    start = frozen.get_weights()
    sgd_run(frozen, small[0], learning_rate=0.0)
    sgd_run(moving, small[0], learning_rate=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(start, frozen.get_weights()))
    assert max_weight_difference(frozen, moving) > 1e-3
    steppers = [stepper_for(tk.models.mlp(), keras.optimizers.SGD(rate), tk.default_loss(), prequential=True,
                            batch_size=1) for rate in (0.0, 0.1)]
    assert steppers[0].stand_in is steppers[1].stand_in


def test_other_optimizer_settings_or_losses_get_a_step_of_their_own():
    def stand_in(optimizer, loss=None, prequential=True, batch_size=1):
        return stepper_for(tk.models.mlp(), optimizer, loss or tk.default_loss(), prequential=prequential,
                           batch_size=1).stand_in

    plain = stand_in(keras.optimizers.SGD(0.1))
    assert stand_in(keras.optimizers.SGD(0.2)) is plain
    assert stand_in(keras.optimizers.SGD(0.1, momentum=0.9)) is not plain
    assert stand_in(keras.optimizers.Adam(0.1)) is not plain
    assert stand_in(keras.optimizers.SGD(0.1), prequential=False) is not plain
    assert stand_in(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=0)) is not plain


class Subclassed(keras.Model):
    """A model with its own ``call``: its config cannot describe it."""

    def __init__(self):
        super().__init__()
        self.flatten, self.dense = keras.layers.Flatten(), keras.layers.Dense(10)

    def call(self, x):
        return self.dense(self.flatten(x))


@pytest.mark.parametrize("build", [lambda: own_step_copy(tk.models.mlp()), Subclassed],
                         ids=["lambda layer (may close over values)", "subclassed model"])
def test_models_that_cannot_be_cloned_faithfully_compile_their_own_step(build):
    model = build()
    model(np.zeros((1, 28, 28), "float32"))
    stepper = stepper_for(model, keras.optimizers.SGD(0.1), tk.default_loss(), prequential=True, batch_size=1)
    assert isinstance(stepper, tk.training.TapeStepper)


def test_optimizer_state_carries_over_between_runs_of_one_model(mnist):
    """Adam's moments and step count live in the model's own optimizer, not in the shared step."""
    x, y = mnist.x_train[:256], mnist.y_train[:256]
    once, twice = tk.models.mlp(seed=5), tk.models.mlp(seed=5)
    tk.train_minibatch(once, (x, y), optimizer=keras.optimizers.Adam(1e-3), epochs=2, shuffle=False, verbose=0)
    adam = keras.optimizers.Adam(1e-3)
    for _ in range(2):
        tk.train_minibatch(twice, (x, y), optimizer=adam, epochs=1, shuffle=False, verbose=0)
    assert int(adam.iterations.numpy()) == 16
    assert max_weight_difference(once, twice) < 1e-6
