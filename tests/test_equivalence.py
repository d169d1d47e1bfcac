"""The tape loops train exactly as ``fit`` does, for every option a user can set (issue 18's matrix).

Each case trains twin models, one with ``model.fit`` and one with a tape loop: ``tk.train_minibatch``
against ``fit(batch_size=16)`` over 100 samples (so the last batch is partial), and per-sample
``tk.train_online`` against ``fit(batch_size=1)``. Every case runs as the *second* model of its
architecture in the process: a primer model of that architecture first trains with a lossy copy of the
case's optimizer (``from_config(get_config())``), so a compiled step shared on too coarse a key would
show up as a difference. The weights (trainable and not: batch-norm statistics, dropout seeds) must
match to 1e-5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import toolkit as tk

pytestmark = pytest.mark.slow
TOLERANCE = 1e-5
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def dense_model(seed: int = 0, *, kernel_regularizer=None, dropout: float = 0.0, batch_norm: bool = False,
                activity_regularizer=None, head: str = "logits"):
    """A small MLP on 784 inputs (kept small so each of the many compiles is quick)."""
    init = keras.initializers.GlorotUniform(seed=seed)
    layers = [keras.Input((784,)), keras.layers.Dense(24, activation="relu", kernel_initializer=init,
                                                      kernel_regularizer=kernel_regularizer,
                                                      activity_regularizer=activity_regularizer)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(dropout, seed=seed))
    layers.append(keras.layers.Dense(10, kernel_initializer=init, kernel_regularizer=kernel_regularizer, name=head))
    return keras.Sequential(layers)


def regularized_after_build():
    """A model whose first kernel gets its L2 penalty after it was built: fit follows the variable."""
    model = dense_model()
    model.layers[0].kernel.regularizer = keras.regularizers.L2(0.05)
    return model


@dataclass
class Case:
    """An optimizer (made for a given model, as exclusions name its variables) and a model builder."""

    name: str
    optimizer: Callable[[keras.Model], keras.optimizers.Optimizer]
    model: Callable[[], keras.Model] = dense_model
    loss: keras.losses.Loss = LOSS


def excluding(optimizer_class, how: str, **settings):
    def make(model):
        optimizer = optimizer_class(**settings)
        if how == "names":
            optimizer.exclude_from_weight_decay(var_names=["bias"])
        else:
            optimizer.exclude_from_weight_decay(var_list=[model.layers[-1].kernel])
        return optimizer
    return make


def plain(optimizer_class, **settings):
    return lambda model: optimizer_class(**settings)


SCHEDULE = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
CASES = [
    Case("SGD", plain(keras.optimizers.SGD, learning_rate=0.1)),
    Case("SGD momentum", plain(keras.optimizers.SGD, learning_rate=0.05, momentum=0.9)),
    Case("SGD nesterov", plain(keras.optimizers.SGD, learning_rate=0.05, momentum=0.9, nesterov=True)),
    Case("RMSprop", plain(keras.optimizers.RMSprop, learning_rate=1e-3, momentum=0.5, centered=True)),
    Case("Adam", plain(keras.optimizers.Adam, learning_rate=1e-2)),
    Case("Adam amsgrad", plain(keras.optimizers.Adam, learning_rate=1e-2, amsgrad=True)),
    Case("AdamW", plain(keras.optimizers.AdamW, learning_rate=1e-2, weight_decay=0.5)),
    Case("Adagrad", plain(keras.optimizers.Adagrad, learning_rate=0.1)),
    Case("Adamax", plain(keras.optimizers.Adamax, learning_rate=1e-2)),
    Case("Nadam", plain(keras.optimizers.Nadam, learning_rate=1e-2)),
    Case("AdamW excluding names", excluding(keras.optimizers.AdamW, "names", learning_rate=1e-2, weight_decay=0.5)),
    Case("AdamW excluding a variable", excluding(keras.optimizers.AdamW, "variables", learning_rate=1e-2,
                                                 weight_decay=0.5)),
    Case("SGD weight_decay excluding names", excluding(keras.optimizers.SGD, "names", learning_rate=0.1,
                                                       weight_decay=0.3)),
    Case("clipnorm", plain(keras.optimizers.SGD, learning_rate=0.1, clipnorm=0.05)),
    Case("clipvalue", plain(keras.optimizers.SGD, learning_rate=0.1, clipvalue=0.001)),
    Case("global_clipnorm", plain(keras.optimizers.Adam, learning_rate=1e-2, global_clipnorm=0.05)),
    Case("use_ema", plain(keras.optimizers.Adam, learning_rate=1e-2, use_ema=True, ema_momentum=0.9)),
    Case("use_ema with overwrite frequency", plain(keras.optimizers.SGD, learning_rate=0.1, use_ema=True,
                                                   ema_momentum=0.8, ema_overwrite_frequency=3)),
    Case("gradient_accumulation_steps", plain(keras.optimizers.SGD, learning_rate=0.1, momentum=0.9,
                                              gradient_accumulation_steps=3)),
    Case("loss_scale_factor", plain(keras.optimizers.Adam, learning_rate=1e-2, loss_scale_factor=128.0)),
    Case("schedule", plain(keras.optimizers.SGD, learning_rate=SCHEDULE)),
    Case("toolkit SGD nesterov", plain(tk.optim.SGD, learning_rate=0.05, momentum=0.9, nesterov=True)),
    Case("toolkit SGD paper form", plain(tk.optim.SGD, learning_rate=0.05, momentum=0.9, form="paper")),
    Case("toolkit AdaGrad", plain(tk.optim.AdaGrad, learning_rate=0.1)),
    Case("toolkit RMSprop paper form", plain(tk.optim.RMSprop, learning_rate=1e-3, momentum=0.5, form="paper")),
    Case("toolkit Adam paper form", plain(tk.optim.Adam, learning_rate=1e-2, form="paper")),
    Case("toolkit AdamW excluding names", excluding(tk.optim.AdamW, "names", learning_rate=1e-2, weight_decay=0.5)),
    Case("L1 regularizer", plain(keras.optimizers.Adam, learning_rate=1e-2),
         lambda: dense_model(kernel_regularizer=keras.regularizers.L1(1e-3))),
    Case("L2 regularizer", plain(keras.optimizers.SGD, learning_rate=0.1),
         lambda: dense_model(kernel_regularizer=keras.regularizers.L2(1e-2))),
    Case("dropout", plain(keras.optimizers.Adam, learning_rate=1e-2), lambda: dense_model(dropout=0.3)),
    Case("batch normalization", plain(keras.optimizers.SGD, learning_rate=0.1, momentum=0.9),
         lambda: dense_model(batch_norm=True)),
    # Found by a reviewer trying to break the shared step (issue 18's audit):
    Case("activity regularizer", plain(keras.optimizers.SGD, learning_rate=0.1),
         lambda: dense_model(activity_regularizer=keras.regularizers.L2(1e-2))),
    Case("regularizer set on a variable after build", plain(keras.optimizers.SGD, learning_rate=0.1),
         regularized_after_build),
    Case("Huber loss with its own delta", plain(keras.optimizers.SGD, learning_rate=0.1),
         lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(1)]),
         keras.losses.Huber(delta=0.5)),
    Case("Muon excluding a layer by name", lambda model: keras.optimizers.Muon(exclude_layers=["head"]),
         lambda: dense_model(head="head")),
]


@pytest.fixture(scope="module")
def data(mnist):
    return mnist.x_train[:100].reshape(100, -1), mnist.y_train[:100]


def lossy_copy(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """What ``from_config`` makes of an optimizer: its settings without its weight-decay exclusions."""
    return type(optimizer).from_config(optimizer.get_config())


def primer_loss(case: Case):
    """The primer's loss: the same kind with its default settings (a Huber primer has delta 1)."""
    return LOSS if case.loss is LOSS else type(case.loss)()


def twins(case: Case):
    """Two models with the same weights, each with its own optimizer for the case."""
    first, second = case.model(), case.model()
    second.set_weights(first.get_weights())
    return (first, case.optimizer(first)), (second, case.optimizer(second))


def weight_gap(a: keras.Model, b: keras.Model) -> float:
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights()))


def fit(model, optimizer, x, y, batch_size: int, loss=LOSS) -> None:
    model.compile(optimizer=optimizer, loss=loss, jit_compile=False)  # the reference: plain graph
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_train_minibatch_equals_fit_as_the_second_model_of_its_architecture(case, data):
    x, y = data
    x, y = (x, y) if case.loss is LOSS else (x, y.astype("float32"))
    primer = case.model()
    tk.train_minibatch(primer, (x, y), optimizer=lossy_copy(case.optimizer(primer)), loss=primer_loss(case),
                       batch_size=16, shuffle=False, verbose=0)
    (by_fit, fit_optimizer), (by_tape, tape_optimizer) = twins(case)
    fit(by_fit, fit_optimizer, x, y, batch_size=16, loss=case.loss)
    tk.train_minibatch(by_tape, (x, y), optimizer=tape_optimizer, loss=case.loss, batch_size=16, shuffle=False,
                       verbose=0)
    assert int(tape_optimizer.iterations.numpy()) == int(fit_optimizer.iterations.numpy())
    assert weight_gap(by_fit, by_tape) < TOLERANCE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_train_online_equals_fit_with_batch_size_1_as_the_second_model(case, data):
    x, y = data[0][:40], data[1][:40]
    y = y if case.loss is LOSS else y.astype("float32")
    primer = case.model()
    tk.train_online(primer, (x, y), optimizer=lossy_copy(case.optimizer(primer)), loss=primer_loss(case), verbose=0,
                    log_every=20, seed=1)
    (by_fit, fit_optimizer), (by_tape, tape_optimizer) = twins(case)
    fit(by_fit, fit_optimizer, x, y, batch_size=1, loss=case.loss)
    tk.train_online(by_tape, tk.Stream.from_arrays(x, y, shuffle=False), optimizer=tape_optimizer, loss=case.loss,
                    log_every=20, verbose=0)
    assert weight_gap(by_fit, by_tape) < TOLERANCE


def test_a_primer_with_other_layer_names_does_not_lend_muon_its_step(data):
    x, y = data
    tk.train_minibatch(dense_model(head="out"), (x, y), optimizer=keras.optimizers.Muon(exclude_layers=["head"]),
                       loss=LOSS, batch_size=16, shuffle=False, verbose=0)
    case = Case("Muon", lambda model: keras.optimizers.Muon(exclude_layers=["head"]), lambda: dense_model(head="head"))
    (by_fit, fit_optimizer), (by_tape, tape_optimizer) = twins(case)
    fit(by_fit, fit_optimizer, x, y, batch_size=16)
    tk.train_minibatch(by_tape, (x, y), optimizer=tape_optimizer, loss=LOSS, batch_size=16, shuffle=False, verbose=0)
    assert weight_gap(by_fit, by_tape) < TOLERANCE


def test_a_layer_frozen_between_two_runs_of_one_model_trains_as_fit_does(data):
    x, y = data
    primer = dense_model()
    primer.layers[0].trainable = False
    tk.train_minibatch(primer, (x, y), optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss=LOSS, batch_size=16,
                       shuffle=False, verbose=0)
    by_fit, by_tape = dense_model(), dense_model()
    by_tape.set_weights(by_fit.get_weights())
    fit_optimizer, tape_optimizer = keras.optimizers.SGD(0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9)
    fit(by_fit, fit_optimizer, x, y, batch_size=16)
    tk.train_minibatch(by_tape, (x, y), optimizer=tape_optimizer, loss=LOSS, batch_size=16, shuffle=False, verbose=0)
    for model in (by_fit, by_tape):
        model.layers[0].trainable = False
    by_fit.compile(optimizer=fit_optimizer, loss=LOSS, jit_compile=False)
    by_fit.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    tk.train_minibatch(by_tape, (x, y), optimizer=tape_optimizer, loss=LOSS, batch_size=16, shuffle=False, verbose=0)
    assert weight_gap(by_fit, by_tape) < TOLERANCE


@pytest.mark.parametrize("loss, named", [
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"), "reduction='sum'"),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=9), "ignore_class=9"),
])
def test_loss_settings_the_tape_loops_cannot_honour_are_refused_by_name(loss, named, data):
    for loop in (tk.train_minibatch, tk.train_online):
        with pytest.raises(tk.TrainingSetupError, match=named):
            loop(dense_model(), data, loss=loss, verbose=0)
