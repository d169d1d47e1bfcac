"""Mini-batch training with a GradientTape step inside ``model.fit``: ``fit``'s math, by hand (chapter 1).

``fit`` with Keras's own step and ``train_minibatch`` with the toolkit's ``MinibatchStep`` give the same
weights for the same batches (tested to 1e-5), so learners can see that ``fit``'s step is nothing but
this, and modify it. Everything around the step (callbacks, metrics, History, progress, checkpoints,
distributed input) is ``fit``'s own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.checks import check_finite_inputs, check_not_empty
from toolkit.data.streams import seeded_order
from toolkit.evaluation.losses import per_example_loss
from toolkit.training.callbacks import NonFiniteGuard
from toolkit.training.checkpoints import history_path
from toolkit.training.history import RunHistory
from toolkit.training.run import check_data, compile_for_run, resumed_epoch, run_fit
from toolkit.training.setup import shaped
from toolkit.training.steps import MinibatchStep


def batches(x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, shuffle: bool, seed: int,
            first_epoch=lambda: 0) -> tf.data.Dataset:
    """Passes ``first_epoch()`` to ``epochs - 1`` over ``(x, y)`` in batches of ``batch_size``, each pass in
    its own seeded order (``seeded_order``) and its last batch smaller, as in ``fit``. ``first_epoch`` is
    asked when iteration starts, so a run that ``fit`` resumes sees the batches an uninterrupted one does."""
    n = len(x)
    start = tf.data.Dataset.range(epochs).filter(
        lambda epoch: epoch >= tf.numpy_function(lambda: np.int64(first_epoch()), [], tf.int64, stateful=True))
    orders = start.flat_map(lambda epoch: tf.data.Dataset.from_tensor_slices(tf.reshape(
        tf.numpy_function(lambda e: seeded_order(n, int(e), seed=seed, shuffle=shuffle), [epoch], tf.int64), [n])
    ).batch(batch_size))
    x, y = tf.constant(x), tf.constant(y)
    return orders.map(lambda index: (tf.gather(x, index), tf.gather(y, index))).prefetch(2)


MAX_STEPS_PER_EXECUTION = 64  # batches per compiled call when no callback reads single batches


def uses_batch_hooks(callback: keras.callbacks.Callback) -> bool:
    """Whether a callback does something after single training batches (Keras's base class does nothing)."""
    base = keras.callbacks.Callback
    return any(getattr(type(callback), name) is not getattr(base, name)
               for name in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"))


@contextlib.contextmanager
def steps_per_execution(model: keras.Model, steps: int) -> Iterator[None]:
    """Within the block, ``fit`` runs ``steps`` batches per compiled call (``model.steps_per_execution``):
    one return to Python per call instead of per batch. Batch-level callbacks then fire once per call, as
    in ``fit``, so the loop asks for more than one only when no callback of the user's reads single batches."""
    before = model.steps_per_execution
    model.steps_per_execution = steps
    try:
        yield
    finally:
        model.steps_per_execution = before


def _describe_stop(model: keras.Model, step: MinibatchStep, x: np.ndarray, y: np.ndarray, epoch: int, batch: int,
                   loss: float, *, batch_size: int, shuffle: bool, seed: int, first_epoch: int) -> str:
    """Which sample stopped the run (the guard's message): the step recorded the batch, whose samples are
    scored one by one with the weights the model kept, in the failure path only."""
    steps = -(-len(x) // batch_size)
    stopped = int(step.stopped_at.numpy())
    if stopped >= 0:  # the batch the step recorded, not the end of the compiled call that reported it
        epoch, batch = first_epoch + stopped // steps, stopped % steps
    index = seeded_order(len(x), epoch, seed=seed, shuffle=shuffle)[batch * batch_size:(batch + 1) * batch_size]
    if not all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights):
        return (f"The loss became {loss} in epoch {epoch + 1}, at the batch starting at x[{index[0]}], after an "
                "update from a finite loss made the weights NaN/inf (a NaN gradient, or a diverging update)")
    losses = keras.ops.convert_to_numpy(per_example_loss(model.loss)(y[index], model(x[index], training=False)))
    bad = np.flatnonzero(~np.isfinite(np.reshape(losses, len(index))))
    if len(bad):
        return f"The loss became {loss} at x[{index[bad[0]]}] in epoch {epoch + 1}"
    return (f"A gradient or the update it made became NaN/inf (the loss stayed finite) in epoch {epoch + 1}, at the "
            f"batch starting at x[{index[0]}]")


def train_minibatch(
    model: keras.Model, train: tuple[np.ndarray, np.ndarray], *, optimizer=None, loss=None, metrics=None,
    epochs: int = 1, initial_epoch: int = 0, batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None, shuffle: bool = True, seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (), checkpoint_dir: str | None = None, resume: bool = False,
    jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None, verbose: int | str = "auto",
) -> RunHistory:
    """Train for ``epochs`` over ``(x, y)`` in mini-batches, ``fit`` running a GradientTape step (chapter 1).

    What trains is given once, as to ``compile``: a compiled model trains as compiled, else ``optimizer``
    (default Adam), ``loss`` (default: crossentropy on logits) and ``metrics`` (default: accuracy for a
    classification loss) compile it. Each epoch visits the samples in an order seeded by ``seed`` and the
    epoch (``shuffle=False``: in order); the last batch may be smaller, as in ``fit``. Returns a
    ``RunHistory`` (``keras.callbacks.History``) with a row per epoch: ``fit``'s logs plus ``samples``,
    ``updates`` and ``time``. ``callbacks`` are Keras callbacks, called by ``fit`` itself; when none of them
    acts on single batches, ``fit`` runs up to 64 batches per compiled call (``steps_per_execution``). With
    ``checkpoint_dir`` every epoch is backed up (``BackupAndRestore``); ``resume=True`` continues from it.
    Under a strategy (build the model in ``strategy.scope()``, chapter 4) ``batch_size`` is the global
    batch, and each replica receives its shard of it.
    """
    x, y = train
    check_not_empty(len(x))
    compile_for_run(model, optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile,
                    default_optimizer="adam", strategy=strategy)
    x, y = shaped(x, model), np.asarray(y)
    check_finite_inputs(x)
    check_data(model, x[:256], y[:256])
    n = len(x)
    data = batches(x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed,
                   first_epoch=lambda: resumed_epoch(model, initial_epoch))
    if validation_data is not None:
        validation_data = (shaped(validation_data[0], model), np.asarray(validation_data[1]))
    history = RunHistory(samples_at=lambda epoch: (epoch + 1) * n, path=history_path(checkpoint_dir))
    fit_args = {"x": data, "epochs": epochs, "initial_epoch": initial_epoch, "steps_per_epoch": -(-n // batch_size),
                "shuffle": False,  # the dataset holds each epoch's seeded order
                "validation_data": validation_data, "verbose": verbose}
    step = MinibatchStep(model)
    guard = NonFiniteGuard(lambda epoch, batch, loss: _describe_stop(
        model, step, x, y, epoch, batch, loss, batch_size=batch_size, shuffle=shuffle, seed=seed,
        first_epoch=resumed_epoch(model, initial_epoch)))
    # Keras's multi-step loop fails under a strategy on this step ("You must feed a value for placeholder"): one
    fused = 1 if any(uses_batch_hooks(c) for c in callbacks) or model._distribute_strategy is not None else min(
        MAX_STEPS_PER_EXECUTION, -(-n // batch_size))
    with steps_per_execution(model, max(fused, model.steps_per_execution)):
        return run_fit(model, step, fit_args=fit_args, callbacks=callbacks, history=history, guard=guard,
                       checkpoint_dir=checkpoint_dir, resume=resume, probe=(x[:batch_size], y[:batch_size]))
