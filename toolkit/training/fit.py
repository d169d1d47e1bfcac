"""Batch training with ``model.fit``: the seed's code, corrected (chapter 1).

The seed's ``model.fit`` ran without ``compile``, paired a softmax output with
``from_logits=True`` and fed 28x28 RGB images from ``image_dataset_from_directory`` into
``Dense(input_shape=(784,))``. ``fit_batch`` compiles first (unless the model is compiled), checks the model and
data with clear errors, shapes and scales the inputs, and adds samples/updates/time to the
history so batch runs plot on the same axes as online runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.checks import check_finite_inputs, check_not_empty, shape_dataset
from toolkit.distributed.strategy import check_fit_strategy
from toolkit.models.inspect import model_input_shape
from toolkit.training.checkpoints import history_path
from toolkit.training.history import RunHistory
from toolkit.training.run import check_data, compile_for_run, run_fit
from toolkit.training.setup import shaped


def _fit_inputs(model, train, batch_size, shuffle):
    """``fit``'s data arguments, samples per epoch (``None``: unknown), batch size and a probe batch, after every
    check."""
    if isinstance(train, tuple):
        x, y = train
        check_not_empty(len(x))
        x, y = shaped(x, model), np.asarray(y)
        check_finite_inputs(x)
        return {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}, len(x), batch_size, (x[:256], y[:256])
    train = shape_dataset(train, model_input_shape(model))
    samples, batch = _size(train)
    check_not_empty(samples if batch else 0)  # no first batch: empty; unknown size: fine
    probe_x, probe_y = next(iter(train))
    return {"x": train, "shuffle": False}, samples, batch, (np.asarray(probe_x), np.asarray(probe_y))  # own order


def _size(data) -> tuple[int | None, int]:
    """(samples per epoch or None if unknown, size of the first batch) of a batched dataset."""
    first = next(iter(data), None)
    batch = 0 if first is None else len(first[0])
    steps = int(data.cardinality())
    return (steps * batch if steps >= 0 else None), batch


def fit_batch(
    model: keras.Model, train, *, optimizer=None, loss=None, metrics=None, epochs: int = 1, initial_epoch: int = 0,
    batch_size: int = 32, validation_data=None, callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True, checkpoint_dir: str | Path | None = None, resume: bool = False,
    steps_per_execution: int = 1, jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None,
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """``fit`` a model on ``(x, y)`` arrays or a batched ``tf.data.Dataset``, with the course's checks (chapter 1).

    What trains is given once, as to ``compile``: a compiled model trains as compiled, else ``optimizer``
    (default Adam), ``loss`` and ``metrics`` compile it (the seed called ``fit`` without ``compile``).
    Returns a ``RunHistory`` (Keras's ``History``) whose rows also hold ``samples``, ``updates`` and ``time``.
    Bad set-ups fail with errors that name the fix (``toolkit.errors``); a NaN/inf loss raises
    ``NonFiniteLossError`` once ``fit`` has ended. ``checkpoint_dir`` means what it means in every loop:
    each epoch is backed up there (``BackupAndRestore``), and ``resume=True`` continues from the newest
    backup; without it, a directory that already holds a run is refused. With a ``MirroredStrategy``
    (chapter 4) build the model in ``strategy.scope()``; ``batch_size`` is the global batch. ``initial_epoch``
    continues a run that stopped after that many epochs (KerasTuner's Hyperband does this, chapter 5).
    """
    if strategy is not None:
        check_fit_strategy(model, strategy)
    compile_for_run(model, optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile,
                    default_optimizer="adam", strategy=strategy)
    if steps_per_execution != model.steps_per_execution:
        model.steps_per_execution = steps_per_execution
    train_args, samples, batch, probe = _fit_inputs(model, train, batch_size, shuffle)
    check_data(model, *probe)
    if isinstance(validation_data, tuple):
        validation_data = (shaped(validation_data[0], model), np.asarray(validation_data[1]))
    elif validation_data is not None:
        validation_data = shape_dataset(validation_data, model_input_shape(model))
    history = RunHistory(samples_at=None if samples is None else (lambda epoch: (epoch + 1) * samples),
                         path=history_path(checkpoint_dir), batch_size=batch)
    fit_args = {**train_args, "epochs": epochs, "initial_epoch": initial_epoch, "validation_data": validation_data,
                "verbose": verbose}
    return run_fit(model, None, fit_args=fit_args, callbacks=callbacks, history=history,
                   checkpoint_dir=checkpoint_dir, resume=resume, probe=probe)
