"""Batch training with ``model.fit``: the seed's code, corrected (chapter 1).

The seed's ``model.fit`` ran without ``compile``, paired a softmax output with
``from_logits=True`` and fed 28x28 RGB images from ``image_dataset_from_directory`` into
``Dense(input_shape=(784,))``. ``fit_batch`` compiles first, checks the model and data
with clear errors, shapes and scales the inputs, and adds samples/updates/time to the
history so batch runs plot on the same axes as online runs.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.checks import check_finite_inputs, check_not_empty, shape_dataset
from toolkit.distributed.strategy import check_fit_strategy
from toolkit.evaluation.losses import check_labels
from toolkit.models.inspect import model_input_shape
from toolkit.training.callbacks import SampleClock, StopOnNonFiniteLoss
from toolkit.training.checkpoints import refuse_to_overwrite
from toolkit.training.history import RunHistory
from toolkit.training.setup import prepare_run, shaped


def _checkpointing(checkpoint_dir: str | Path | None, resume: bool) -> list[keras.callbacks.Callback]:
    """The callbacks that save every epoch to ``checkpoint_dir`` and resume from it (``resume=True``)."""
    if checkpoint_dir is None:
        return []
    backup = Path(checkpoint_dir) / "backup"
    if backup.exists() and any(backup.iterdir()) and not resume:
        raise refuse_to_overwrite(checkpoint_dir, str(backup))
    backup.parent.mkdir(parents=True, exist_ok=True)
    return [keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False),
            keras.callbacks.CSVLogger(str(Path(checkpoint_dir) / "log.csv"), append=True)]


def _fit_inputs(model, train, batch_size, shuffle, optimizer, loss, strategy):
    """``fit``'s data arguments, samples per epoch, batch size, optimizer and loss, after every check."""
    if isinstance(train, tuple):
        x, y = train
        check_not_empty(len(x))
        optimizer, loss = prepare_run(model, x[:256], y[:256], optimizer, loss, strategy)
        x, y = shaped(x, model), np.asarray(y)
        check_finite_inputs(x)
        check_labels(y, model, loss)
        return {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}, len(x), batch_size, optimizer, loss
    train = shape_dataset(train, model_input_shape(model))
    samples, batch_size = _size(train)
    check_not_empty(samples if batch_size else 0)  # no first batch: empty; unknown size: fine
    probe_x, probe_y = next(iter(train))
    optimizer, loss = prepare_run(model, np.asarray(probe_x), np.asarray(probe_y), optimizer, loss, strategy)
    return {"x": train, "shuffle": False}, samples, batch_size, optimizer, loss  # a dataset's order is its own


def _size(data) -> tuple[int | None, int]:
    """(samples per epoch or None if unknown, size of the first batch) of a batched dataset."""
    first = next(iter(data), None)
    batch = 0 if first is None else len(first[0])
    steps = int(data.cardinality())
    return (steps * batch if steps >= 0 else None), batch


def fit_batch(
    model: keras.Model, train, *, optimizer="adam", loss=None, epochs: int = 1, initial_epoch: int = 0,
    batch_size: int = 32, validation_data=None, callbacks: Sequence[keras.callbacks.Callback] = (),
    metrics: Sequence = ("accuracy",), shuffle: bool = True, checkpoint_dir: str | Path | None = None,
    resume: bool = False, steps_per_execution: int = 1, jit_compile: bool | str = "auto",
    strategy: tf.distribute.Strategy | None = None, verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Compile and ``fit`` a model on ``(x, y)`` arrays or a batched ``tf.data.Dataset`` (chapter 1).

    Returns Keras's ``History`` (``tk.RunHistory``), whose rows also hold ``samples``, ``updates`` and
    ``time``. Bad set-ups fail with errors that name the fix (``toolkit.errors``); a NaN/inf loss
    raises ``NonFiniteLossError``. ``checkpoint_dir`` means what it means in every loop: each epoch
    is saved there (``BackupAndRestore``, kept after the run), and ``resume=True`` continues from the
    newest save; without it, a directory that already holds a run is refused. ``CSVLogger`` keeps
    every epoch's metrics in ``checkpoint_dir/log.csv`` across restarts. With a ``MirroredStrategy``
    (chapter 4) build the model in ``strategy.scope()``; ``batch_size`` is the global batch.
    ``initial_epoch`` continues a run that stopped after that many epochs (KerasTuner's Hyperband
    does this, chapter 5).
    """
    if strategy is not None:
        check_fit_strategy(model, strategy)
    train_args, samples, batch_size, optimizer, loss = _fit_inputs(model, train, batch_size, shuffle, optimizer, loss,
                                                                  strategy)
    if isinstance(validation_data, tuple):
        validation_data = (shaped(validation_data[0], model), np.asarray(validation_data[1]))
    elif validation_data is not None:
        validation_data = shape_dataset(validation_data, model_input_shape(model))
    with strategy.scope() if strategy else contextlib.nullcontext():
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics),
                      steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    clocked = [SampleClock(samples, batch_size), StopOnNonFiniteLoss(), *_checkpointing(checkpoint_dir, resume)]
    with warnings.catch_warnings():
        if samples is None:  # Keras 3 warns "ran out of data" at the normal end of a dataset of unknown size
            warnings.filterwarnings("ignore", message="Your input ran out of data")
        return model.fit(**train_args, epochs=epochs, initial_epoch=initial_epoch, validation_data=validation_data,
                         callbacks=[*clocked, *callbacks, RunHistory()], verbose=verbose)  # the history sees the clock
