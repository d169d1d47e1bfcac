"""Compiled steps shared between fresh models of one architecture: the same results as a step of
their own, each model's weights and optimizer state kept apart, and sharing only where it is safe."""

from __future__ import annotations

import gc
import threading
import weakref

import keras
import numpy as np
import pytest

import toolkit as tk
from tests.helpers import max_weight_difference
from toolkit.models.inspect import clone_with_weights
from toolkit.training.shared_steps import COMPILED_STEPS, STEPS_KEPT, SharedStepper, stepper_for


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


def test_reuse_ignores_initializer_seeds_and_layer_names():
    def stand_in(model):
        return stepper_for(model, keras.optimizers.SGD(0.1), tk.default_loss(), prequential=True, batch_size=1).stand_in

    assert stand_in(tk.models.mlp(seed=1)) is stand_in(tk.models.mlp(seed=2))
    assert stand_in(tk.models.mlp(seed=1, dropout=0.2)) is stand_in(tk.models.mlp(seed=2, dropout=0.2))
    assert stand_in(tk.models.mlp(seed=1)) is not stand_in(tk.models.mlp(seed=1, hidden=(64,)))


def test_weight_decay_exclusions_are_part_of_what_is_shared():
    def adamw(model, names=None):
        optimizer = keras.optimizers.AdamW(1e-2, weight_decay=0.5)
        if names:
            optimizer.exclude_from_weight_decay(var_names=names)
        return stepper_for(model, optimizer, tk.default_loss(), prequential=False, batch_size=8).stand_in

    without = adamw(tk.models.mlp())
    assert adamw(tk.models.mlp(), ["bias"]) is not without
    assert adamw(tk.models.mlp(), ["bias"]) is adamw(tk.models.mlp(), ["bias"])
    assert not adamw(tk.models.mlp(), ["bias"]).optimizer._use_weight_decay(
        adamw(tk.models.mlp(), ["bias"]).model.layers[-1].bias)


def test_an_optimizer_built_for_another_model_is_refused(small):
    (x, y), _ = small
    adam = keras.optimizers.Adam(1e-3)
    tk.train_minibatch(tk.models.mlp(), (x, y), optimizer=adam, verbose=0)
    for loop in (lambda m: tk.train_minibatch(m, (x, y), optimizer=adam, verbose=0),
                 lambda m: tk.train_online(m, (x, y), optimizer=adam, verbose=0),
                 lambda m: tk.train_online(own_step_copy(m), (x, y), optimizer=adam, verbose=0)):
        with pytest.raises(tk.errors.ArgumentError, match="built for another model's variables"):
            loop(tk.models.mlp())


def test_a_nan_on_a_reused_step_stops_before_the_bad_update(small):
    (x, y), _ = small
    sgd_run(tk.models.mlp(seed=6), small[0])  # the architecture's step now exists
    bad = x.copy()
    bad[300] = 3e38  # finite, so the input guard lets it through; the logits overflow and the loss is NaN
    model = tk.models.mlp(seed=6)
    with pytest.raises(tk.NonFiniteLossError, match="sample 300 of the stream"):
        tk.train_online(model, tk.Stream.from_arrays(bad, y, shuffle=False), optimizer=keras.optimizers.SGD(0.05),
                        log_every=200, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert isinstance(stepper_for(model, keras.optimizers.SGD(0.05), tk.default_loss(), prequential=True,
                                  batch_size=1), SharedStepper)


def test_two_threads_training_one_architecture_do_not_cross_talk(small):
    (x, y), _ = small
    x, y = np.tile(x, (4, 1, 1))[:2400], np.tile(y, 4)[:2400]
    still, moving, alone = tk.models.mlp(seed=7), tk.models.mlp(seed=7), tk.models.mlp(seed=7)
    start = still.get_weights()
    optimizers = {"still": keras.optimizers.SGD(0.0), "moving": keras.optimizers.SGD(0.05)}

    def train(model, name):  # a callback keeps every 100-sample window its own compiled call: 24 calls each
        tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), optimizer=optimizers[name],
                        log_every=100, callbacks=[keras.callbacks.Callback()], verbose=0)

    threads = [threading.Thread(target=train, args=(model, name)) for model, name in
               ((still, "still"), (moving, "moving"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tk.train_online(alone, tk.Stream.from_arrays(x, y, shuffle=False), optimizer=keras.optimizers.SGD(0.05),
                    log_every=100, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(start, still.get_weights()))
    assert [int(o.iterations.numpy()) for o in optimizers.values()] == [2400, 2400]
    assert max_weight_difference(moving, alone) < 1e-6


def test_the_cache_is_bounded_clearable_and_keeps_no_model_alive(small):
    tk.clear_compiled_steps()
    assert len(COMPILED_STEPS) == 0
    for width in range(STEPS_KEPT + 3):
        stepper_for(tk.models.mlp(hidden=(8 + width,)), keras.optimizers.SGD(0.1), tk.default_loss(),
                    prequential=True, batch_size=1)
    assert len(COMPILED_STEPS) == STEPS_KEPT
    model = tk.models.mlp(seed=8)
    sgd_run(model, small[0])
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None
    tk.clear_compiled_steps()
    assert len(COMPILED_STEPS) == 0


def test_model_optimizer_is_the_one_that_trains_and_is_restored_after(small):
    (x, y), _ = small
    model = tk.models.mlp(seed=9)
    tk.fit_batch(model, (x, y), optimizer=keras.optimizers.Adam(1e-3), epochs=1, verbose=0)
    adam = model.optimizer
    sgd = keras.optimizers.SGD(0.5)
    seen = []
    rates = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 0.01 * (epoch + 1))
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.optimizer))
    tk.train_online(model, (x, y), optimizer=sgd, log_every=200, callbacks=[rates, record], verbose=0)
    assert all(o is sgd for o in seen)
    assert float(sgd.learning_rate.numpy()) == pytest.approx(0.03)
    assert float(adam.learning_rate.numpy()) == pytest.approx(1e-3)
    assert model.optimizer is adam


@pytest.mark.parametrize("jit_compile", [True, False])
def test_the_history_records_the_engine(small, jit_compile):
    (x, y), _ = small
    online = tk.train_online(tk.models.mlp(), (x, y), jit_compile=jit_compile, verbose=0)
    batches = tk.train_minibatch(tk.models.mlp(), (x, y), jit_compile=jit_compile, verbose=0)
    assert online.params["jit_compile"] is jit_compile and batches.params["jit_compile"] is jit_compile


@pytest.mark.parametrize("jit_compile", [True, False])
def test_a_non_finite_update_from_finite_gradients_stops_with_the_weights_before_it(small, jit_compile):
    """A diverging optimizer (here an infinite learning rate) makes NaN/inf weights from a finite loss and
    finite gradients: the run stops at that update, and the model keeps the weights from before it."""
    (x, y), _ = small
    model = tk.models.mlp(seed=10)
    start = model.get_weights()
    for loop in (lambda: tk.train_minibatch(model, (x, y), optimizer=keras.optimizers.SGD(float("inf")),
                                            jit_compile=jit_compile, verbose=0),
                 lambda: tk.train_online(model, (x, y), optimizer=keras.optimizers.SGD(float("inf")),
                                         jit_compile=jit_compile, verbose=0)):
        with pytest.raises(tk.NonFiniteLossError, match=r"the update it made became NaN/inf.*\(update 1\)"):
            loop()
        assert all(np.array_equal(a, b) for a, b in zip(start, model.get_weights()))
