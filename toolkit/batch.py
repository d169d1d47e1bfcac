"""Batch training with ``model.fit``: the seed's code, corrected (chapter 1).

The seed's ``model.fit`` ran without ``compile``, paired a softmax output with
``from_logits=True`` and fed 28x28 RGB images from ``image_dataset_from_directory`` into
``Dense(input_shape=(784,))``. ``fit_batch`` compiles first, checks the model and data
with clear errors, shapes and scales the inputs, and adds samples/updates/time to the
history so batch runs plot on the same axes as online runs.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolkit.guards import (
    NonFiniteLossError,
    check_finite_inputs,
    check_fit_strategy,
    check_labels,
    check_not_empty,
    shape_dataset,
    shape_inputs,
)
from toolkit.runs import prepare_run


class SampleClock(keras.callbacks.Callback):
    """Adds ``samples``, ``updates`` (weight updates: ``optimizer.iterations``) and ``time`` (training
    seconds, validation excluded) to each epoch's logs.

    ``samples_per_epoch=None`` (a dataset of unknown size) counts batches instead and takes each
    to hold ``batch_size`` samples, which overcounts a smaller last batch.
    """

    def __init__(self, samples_per_epoch: int | None, batch_size: int):
        super().__init__()
        self.samples_per_epoch, self.batch_size = samples_per_epoch, batch_size
        self.elapsed = 0.0
        self.samples = 0
        self._started = self._paused_at = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.samples_per_epoch is None:
            self.samples += self.batch_size

    def on_test_begin(self, logs=None):
        self._paused_at = time.perf_counter()

    def on_test_end(self, logs=None):
        self._started += time.perf_counter() - self._paused_at

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed += time.perf_counter() - self._started
        if self.samples_per_epoch is not None:
            self.samples = (epoch + 1) * self.samples_per_epoch
        logs.update(samples=self.samples, updates=int(self.model.optimizer.iterations.numpy()), time=self.elapsed)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises ``NonFiniteLossError`` naming the epoch and batch where the loss turned NaN/inf,
    or the epoch after which the weights hold NaN/inf although the loss stayed finite.

    Unlike ``keras.callbacks.TerminateOnNaN`` it fails loudly, and the last epoch's backup
    (``checkpoint_dir``) is kept, since training never reaches its clean end.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            raise NonFiniteLossError(
                f"The loss became {loss} in epoch {self._epoch + 1}, batch {batch + 1}. Usual causes: a "
                f"learning rate too large (this run: {rate:g}; try 10x smaller), inputs not scaled to "
                "[0, 1], or corrupt samples. With checkpoint_dir= the last finished epoch is kept."
            )

    def on_epoch_end(self, epoch, logs=None):
        bad = [w.path for w in self.model.weights if not np.isfinite(keras.ops.convert_to_numpy(w)).all()]
        if bad:
            raise NonFiniteLossError(
                f"After epoch {epoch + 1} the weights {bad[:3]} hold NaN/inf although the loss stayed finite: "
                "a NaN/inf input or gradient slipped through (ReLU hides NaN inputs from the loss). Check the "
                "data for non-finite values; with checkpoint_dir= the previous epoch is kept."
            )


def _size(data) -> tuple[int | None, int]:
    """(samples per epoch or None if unknown, size of the first batch) of a batched dataset."""
    first = next(iter(data), None)
    batch = 0 if first is None else len(first[0])
    steps = int(data.cardinality())
    return (steps * batch if steps >= 0 else None), batch


def fit_batch(
    model: keras.Model,
    train,
    *,
    optimizer="adam",
    loss=None,
    epochs: int = 1,
    initial_epoch: int = 0,
    batch_size: int = 32,
    validation_data=None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    metrics: Sequence = ("accuracy",),
    shuffle: bool = True,
    checkpoint_dir: str | Path | None = None,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Compile and ``fit`` a model on ``(x, y)`` arrays or a batched ``tf.data.Dataset`` (chapter 1).

    Returns Keras's ``History``, whose rows also hold ``samples``, ``updates`` and ``time``.
    Bad set-ups fail with errors that name the fix (see ``toolkit.guards``); a NaN/inf loss
    raises ``NonFiniteLossError``. With ``checkpoint_dir``, ``BackupAndRestore`` saves every
    epoch and a rerun resumes where the interrupted one stopped; ``CSVLogger`` keeps every
    epoch's metrics in ``checkpoint_dir/log.csv`` across restarts. With a ``MirroredStrategy``
    (chapter 4) build the model in ``strategy.scope()``; ``batch_size`` is the global batch.
    ``initial_epoch`` continues a run that stopped after that many epochs (KerasTuner's Hyperband
    does this, chapter 5).
    """
    if strategy is not None:
        check_fit_strategy(model, strategy)
    if isinstance(train, tuple):
        x, y = train
        check_not_empty(len(x))
        optimizer, loss = prepare_run(model, x[:256], y[:256], optimizer, loss, strategy)
        x, y = shape_inputs(x, model), np.asarray(y)
        check_finite_inputs(x)
        check_labels(y, model, loss)
        train_args = {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}
        samples = len(x)
    else:
        train = shape_dataset(train, model)
        samples, batch_size = _size(train)
        check_not_empty(samples if batch_size else 0)  # no first batch: empty; unknown size: fine
        probe_x, probe_y = next(iter(train))
        optimizer, loss = prepare_run(model, np.asarray(probe_x), np.asarray(probe_y), optimizer, loss, strategy)
        train_args = {"x": train, "shuffle": False}  # a dataset's order is its own (shuffle it in tf.data)
    if isinstance(validation_data, tuple):
        validation_data = (shape_inputs(validation_data[0], model), np.asarray(validation_data[1]))
    elif validation_data is not None:
        validation_data = shape_dataset(validation_data, model)

    with strategy.scope() if strategy else contextlib.nullcontext():
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics),
                      steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    extra: list[keras.callbacks.Callback] = [SampleClock(samples, batch_size), StopOnNonFiniteLoss()]
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        extra += [keras.callbacks.BackupAndRestore(str(Path(checkpoint_dir) / "backup")),
                  keras.callbacks.CSVLogger(str(Path(checkpoint_dir) / "log.csv"), append=True)]
    with warnings.catch_warnings():
        if samples is None:  # Keras 3 warns "ran out of data" at the normal end of a dataset of unknown size
            warnings.filterwarnings("ignore", message="Your input ran out of data")
        return model.fit(**train_args, epochs=epochs, initial_epoch=initial_epoch, validation_data=validation_data,
                         callbacks=[*extra, *callbacks], verbose=verbose)
