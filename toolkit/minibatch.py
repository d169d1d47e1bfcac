"""Mini-batch training with a compiled GradientTape loop: ``model.fit``'s math, by hand (chapter 1).

Same seed, same sample order and one epoch give the same weights as ``model.fit`` (tested
to 1e-5), so learners can see that ``fit`` is nothing but this loop, and modify it.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from toolkit.checkpoints import open_state
from toolkit.engine import TapeStepper
from toolkit.guards import check_finite_inputs, check_labels, shape_inputs
from toolkit.history import RunHistory
from toolkit.measure import Stopwatch
from toolkit.runs import Progress, non_finite_error, prepare_run, validation_row

CHUNK_SAMPLES = 8192


def epoch_order(n: int, epoch: int, *, shuffle: bool, seed: int) -> np.ndarray:
    """The sample order of one epoch: a seeded permutation, or ``0..n-1`` without shuffling."""
    return np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)


def train_minibatch(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    *,
    optimizer="adam",
    loss=None,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    checkpoint_dir: str | None = None,
    resume: bool = False,
    jit_compile: bool | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
    verbose: int = 1,
) -> RunHistory:
    """Train for ``epochs`` over ``(x, y)`` in mini-batches with compiled GradientTape steps (chapter 1).

    One history row per epoch: ``epoch``, ``samples``, ``updates``, ``time``, the training-pass
    ``loss``/``accuracy`` (as ``fit`` reports them) and ``val_*`` given ``validation_data``.
    The last batch of an epoch may be smaller, as in ``fit``. With ``checkpoint_dir`` every
    epoch is saved; ``resume=True`` continues from the newest save. With a ``strategy``
    (``MirroredStrategy`` or ``MultiWorkerMirroredStrategy``, chapter 4) ``batch_size`` is the
    global batch, split among the replicas: build the model inside ``strategy.scope()``.
    """
    x, y = train
    optimizer, loss = prepare_run(model, x[:CHUNK_SAMPLES], y[:CHUNK_SAMPLES], optimizer, loss, strategy)
    x, y = shape_inputs(x, model), np.asarray(y)
    check_finite_inputs(x)
    check_labels(y, model, loss)
    n = len(x)
    chunk = -(-min(CHUNK_SAMPLES, n) // batch_size) * batch_size  # whole batches; one chunk when the data fit
    stepper = TapeStepper(model, optimizer, loss, prequential=False, jit_compile=jit_compile,
                          strategy=strategy)
    state, restored = open_state(checkpoint_dir, model, optimizer, resume=resume, strategy=strategy)
    done_epochs, log = restored or (0, {})
    history = RunHistory(log.get("history", {}), params={"batch_size": batch_size, "epochs": epochs})
    watch = Stopwatch(history.last("time") if done_epochs else 0.0)
    updates = int(log.get("updates", 0))
    progress = Progress(epochs * n, verbose)

    for epoch in range(done_epochs, epochs):
        order = epoch_order(n, epoch, shuffle=shuffle, seed=seed)
        losses, correct = [], []
        for start in range(0, n, chunk):
            index = order[start:start + chunk]
            with watch.running():
                result = stepper.run(x[index], y[index], batch_size, steps_per_chunk=chunk // batch_size)
            if not result.finite:
                first = (result.steps - 1) * batch_size  # the batch that stopped the run
                raise non_finite_error(result.loss[first:], index[first:], f"x[{{}}] in epoch {epoch + 1}",
                                       updates + result.updates, optimizer, state.latest if state else None)
            updates += result.updates
            losses.append(result.loss)
            correct.append(result.correct)
        row = {"epoch": epoch + 1, "samples": (epoch + 1) * n, "updates": updates, "time": watch.elapsed,
               "loss": float(np.mean(np.concatenate(losses))),
               **({"accuracy": float(np.mean(np.concatenate(correct)))} if stepper.correct_fn else {}),
               **validation_row(model, validation_data, loss)}
        history.append(**row)
        progress.update(row)
        if state is not None:
            state.save(epoch + 1, {"history": history.history, "updates": updates})
    return history
