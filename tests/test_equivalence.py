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


def dense_model(seed: int = 0, *, kernel_regularizer=None, dropout: float = 0.0, batch_norm: bool = False):
    """A small MLP on 784 inputs (kept small so each of the many compiles is quick)."""
    init = keras.initializers.GlorotUniform(seed=seed)
    layers = [keras.Input((784,)), keras.layers.Dense(24, activation="relu", kernel_initializer=init,
                                                      kernel_regularizer=kernel_regularizer)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(dropout, seed=seed))
    layers.append(keras.layers.Dense(10, kernel_initializer=init, kernel_regularizer=kernel_regularizer))
    return keras.Sequential(layers)


@dataclass
class Case:
    """An optimizer (made for a given model, as exclusions name its variables) and a model builder."""

    name: str
    optimizer: Callable[[keras.Model], keras.optimizers.Optimizer]
    model: Callable[[], keras.Model] = dense_model


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
]


@pytest.fixture(scope="module")
def data(mnist):
    return mnist.x_train[:100].reshape(100, -1), mnist.y_train[:100]


def lossy_copy(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """What ``from_config`` makes of an optimizer: its settings without its weight-decay exclusions."""
    return type(optimizer).from_config(optimizer.get_config())


def twins(case: Case):
    """Two models with the same weights, each with its own optimizer for the case."""
    first, second = case.model(), case.model()
    second.set_weights(first.get_weights())
    return (first, case.optimizer(first)), (second, case.optimizer(second))


def weight_gap(a: keras.Model, b: keras.Model) -> float:
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights()))


def fit(model, optimizer, x, y, batch_size: int) -> None:
    model.compile(optimizer=optimizer, loss=LOSS, jit_compile=False)  # the reference: plain graph
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_train_minibatch_equals_fit_as_the_second_model_of_its_architecture(case, data):
    x, y = data
    primer = case.model()
    tk.train_minibatch(primer, (x, y), optimizer=lossy_copy(case.optimizer(primer)), loss=LOSS, batch_size=16,
                       shuffle=False, verbose=0)
    (by_fit, fit_optimizer), (by_tape, tape_optimizer) = twins(case)
    fit(by_fit, fit_optimizer, x, y, batch_size=16)
    tk.train_minibatch(by_tape, (x, y), optimizer=tape_optimizer, loss=LOSS, batch_size=16, shuffle=False, verbose=0)
    assert int(tape_optimizer.iterations.numpy()) == int(fit_optimizer.iterations.numpy())
    assert weight_gap(by_fit, by_tape) < TOLERANCE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_train_online_equals_fit_with_batch_size_1_as_the_second_model(case, data):
    x, y = data[0][:40], data[1][:40]
    primer = case.model()
    tk.train_online(primer, (x, y), optimizer=lossy_copy(case.optimizer(primer)), loss=LOSS, verbose=0,
                    log_every=20, seed=1)
    (by_fit, fit_optimizer), (by_tape, tape_optimizer) = twins(case)
    fit(by_fit, fit_optimizer, x, y, batch_size=1)
    tk.train_online(by_tape, tk.Stream.from_arrays(x, y, shuffle=False), optimizer=tape_optimizer, loss=LOSS,
                    log_every=20, verbose=0)
    assert weight_gap(by_fit, by_tape) < TOLERANCE
