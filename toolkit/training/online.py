"""Online training: per-sample (or micro-batch) GradientTape updates on a stream, inside ``model.fit``
(chapter 1).

The corrected version of the seed's online loop. The seed called an eager ``GradientTape`` step from
Python once per image, for 100 epochs over a directory of images. Here ``fit`` runs the toolkit's
``OnlineStep``: one compiled call learns a whole chunk of the stream, every sample is predicted before it
is learned (prequential evaluation), and a run killed at any moment resumes from its last window without
losing work. A Keras *epoch* is a log window of ``log_every`` samples, a Keras *batch* one chunk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.checks import check_finite_inputs, check_not_empty
from toolkit.data.streams import Stream, as_stream, delayed_blocks
from toolkit.errors import ArgumentError, NonFiniteLossError, StreamError, TrainingSetupError
from toolkit.evaluation.losses import check_labels
from toolkit.training.callbacks import NonFiniteGuard, learning_rate_of, non_finite_message
from toolkit.training.checkpoints import history_path
from toolkit.training.history import RunHistory
from toolkit.training.run import check_data, compile_for_run, resumed_epoch, run_fit
from toolkit.training.setup import shaped
from toolkit.training.steps import OnlineStep

MAX_CHUNK = 1024  # samples per compiled call: enough that fit's per-call cost (about 1 ms) is a few percent


def _stream_total(stream: Stream, max_samples: int | None) -> int:
    if stream.length is None and max_samples is None:
        raise StreamError("The stream is endless; pass max_samples= to say when to stop.")
    return min(n for n in (stream.length, max_samples) if n is not None)


def chunk_size_for(log_every: int, batch_size: int, replicas: int) -> int:
    """Samples per compiled call: the largest multiple of ``batch_size`` that divides ``log_every`` and is at
    most ``MAX_CHUNK`` (at least one micro-batch); under a strategy one micro-batch, since an update there
    needs the replicas' all-reduce outside a compiled loop."""
    if replicas > 1:
        return batch_size
    best = batch_size
    for size in range(batch_size, min(log_every, MAX_CHUNK) + 1, batch_size):
        if log_every % size == 0:
            best = size
    return best


def chunks(stream: Stream, start: int, total: int, *, chunk: int, label_delay: int, shape,
           check_labels=lambda y: None) -> Iterator[dict]:
    """The stream from sample ``start`` to ``total`` as chunks of ``chunk`` rows for ``OnlineStep``: the
    samples to learn, their masks and ids, and with ``label_delay`` the samples to predict; the last chunk
    is padded with masked rows. Every chunk's inputs and labels are checked first."""
    def padded(a: np.ndarray) -> np.ndarray:
        short = chunk - len(a)
        return np.concatenate([a, np.zeros((short, *a.shape[1:]), a.dtype)]) if short else a

    position = start
    for block in delayed_blocks(stream, start, chunk, label_delay):
        n = min(len(block.x), total - position)
        if n <= 0:
            return
        x = shape(block.x[:n])
        check_finite_inputs(x, "sample {} of the stream", first_id=position)
        check_labels(np.asarray(block.y[:n]))
        ids = position + np.arange(n)
        mask = np.ones(n, np.float32)
        if label_delay:
            item = {"x": shape(block.x_learn[:n]), "y": block.y_learn[:n], "mask": block.mask[:n],
                    "x_pred": x, "y_pred": block.y[:n], "pred_mask": mask}
        else:
            item = {"x": x, "y": block.y[:n], "mask": mask}
        item["ids"] = ids
        yield {key: padded(np.asarray(value)) for key, value in item.items()}
        position += n


def _describe_stop(step: OnlineStep, epoch: int, batch: int, loss: float) -> str:
    """What stopped an online run, and at which sample (the guard's message)."""
    at = int(step.stopped_at.numpy())
    if bool(step.update_undone.numpy()):
        return (f"An update made the weights NaN/inf although the loss was finite, in the chunk starting at sample "
                f"{at} of the stream; that chunk was undone")
    return f"The loss became {loss} at sample {at} of the stream"


def train_online(
    model: keras.Model, stream, *, optimizer=None, loss=None, metrics=None, batch_size: int = 1,
    max_samples: int | None = None, label_delay: int = 0, log_every: int = 500, chunk_size: int | None = None,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint_dir: str | None = None, resume: bool = False, jit_compile: bool | str = "auto",
    strategy: tf.distribute.Strategy | None = None, verbose: int | str = "auto", seed: int = 0,
) -> RunHistory:
    """Learn from a stream one sample (or micro-batch of ``batch_size``) at a time (chapter 1).

    What trains is given once, as to ``compile``: a compiled model trains as compiled, else ``optimizer``
    (default SGD), ``loss`` and ``metrics`` compile it. Each sample is predicted first, then learned. ``fit``
    runs the toolkit's ``OnlineStep`` with an *epoch* per log window of ``log_every`` samples and a *batch*
    per compiled chunk of ``chunk_size`` samples (default: up to 1,024, dividing ``log_every``), so
    callbacks, progress bars and ``BackupAndRestore`` act as they do in ``fit``. The returned ``RunHistory``
    has a row per window: ``fit``'s logs (``loss`` and the compiled metrics over the window's predictions,
    ``val_*`` given ``validation_data``), plus ``samples``, ``updates``, ``time`` and the running
    ``prequential_loss``/``prequential_accuracy`` since the first sample. ``label_delay=d`` learns each label
    ``d`` samples after its prediction, as when labels arrive late. ``stream`` is a ``tk.Stream``, an ``(x,
    y)`` pair (shuffled with ``seed``) or an unbatched ``tf.data.Dataset``; endless streams need
    ``max_samples``. With ``checkpoint_dir``, each window is backed up; ``resume=True`` continues from the
    newest backup, and the result equals an uninterrupted run. A NaN/inf loss stops before its update; the
    callbacks see it, then ``NonFiniteLossError`` names the sample. Under a strategy (chapter 4) each
    micro-batch of ``batch_size`` is split among the replicas, and ``label_delay`` must be 0.
    """
    _check_batching(batch_size, label_delay)
    stream = as_stream(stream, seed=seed)
    total = _stream_total(stream, max_samples)
    probe_x, probe_y = stream.take(min(log_every, total, MAX_CHUNK))
    check_not_empty(len(probe_x), "stream")
    log_every = max(batch_size, log_every // batch_size * batch_size)  # whole micro-batches per window
    compile_for_run(model, optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile,
                    default_optimizer="sgd", batch_size=batch_size, strategy=strategy)
    replicas = model.distribute_strategy.num_replicas_in_sync
    chunk = chunk_size or chunk_size_for(log_every, batch_size, replicas)
    _check_batching(batch_size, label_delay, replicas=replicas, chunk=chunk, log_every=log_every)
    probe_x = shaped(probe_x, model)
    check_finite_inputs(probe_x, "sample {} of the stream")
    check_data(model, probe_x, np.asarray(probe_y))
    data, first, refused = _stream_dataset(model, stream, total, chunk=chunk, label_delay=label_delay,
                                           log_every=log_every)
    step = OnlineStep(model, batch_size)
    history = RunHistory(samples_at=lambda epoch: min((epoch + 1) * log_every, total), prequential=True,
                         path=history_path(checkpoint_dir))
    guard = NonFiniteGuard(partial(_describe_stop, step))
    if validation_data is not None:
        validation_data = (shaped(validation_data[0], model), np.asarray(validation_data[1]))
    fit_args = {"x": data, "epochs": -(-total // log_every), "steps_per_epoch": log_every // chunk, "shuffle": False,
                "validation_data": validation_data, "verbose": verbose}
    try:
        return run_fit(model, step, fit_args=fit_args, callbacks=callbacks, history=history, guard=guard,
                       checkpoint_dir=checkpoint_dir, resume=resume, probe=first)
    except NonFiniteLossError as error:
        if bool(step.update_undone.numpy()):
            raise _located(error, step, stream, chunk, label_delay, model) from None
        raise
    finally:
        if refused:
            raise refused[0]


def _check_batching(batch_size, label_delay: int, *, replicas: int = 1, chunk: int | None = None,
                    log_every: int | None = None) -> None:
    """Refuse a micro-batch, label delay or chunk size the loop cannot honour, naming the fix."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ArgumentError(f"batch_size must be a positive whole number, got {batch_size!r}.")
    if label_delay % batch_size:
        raise ArgumentError(f"label_delay ({label_delay}) must be a multiple of batch_size ({batch_size}).")
    if replicas > 1 and (label_delay or batch_size % replicas):
        raise ArgumentError(
            f"Under a strategy, online learning needs label_delay=0 (got {label_delay}), and a batch of {batch_size} "
            f"cannot be split evenly among {replicas} replicas: use a batch_size that is a multiple of {replicas} "
            "(tk.distribute.global_batch_size helps).")
    if chunk is not None and (chunk % batch_size or log_every % chunk):
        raise ArgumentError(f"chunk_size ({chunk}) must be a multiple of batch_size ({batch_size}) and divide "
                            f"log_every ({log_every}).")


def _stream_dataset(model: keras.Model, stream: Stream, total: int, *, chunk: int, label_delay: int,
                    log_every: int) -> tuple[tf.data.Dataset, dict, list]:
    """The stream as a ``tf.data.Dataset`` of chunks that starts where ``fit`` starts (after the newest
    backup, on resume), its first chunk, and the list that receives a check's error raised inside
    ``tf.data`` (the stream ends there, and the loop raises the error once ``fit`` has stopped)."""
    def shape(a):
        return shaped(a, model)

    first = next(chunks(stream, 0, total, chunk=chunk, label_delay=label_delay, shape=shape))
    signature = {key: tf.TensorSpec((chunk, *value.shape[1:]), tf.as_dtype(value.dtype))
                 for key, value in first.items()}
    refused = []

    def from_resumed_position():
        start = resumed_epoch(model, 0) * log_every
        try:
            yield from chunks(stream, start, total, chunk=chunk, label_delay=label_delay, shape=shape,
                              check_labels=lambda y: check_labels(y, model, model.loss))
        except TrainingSetupError as error:
            refused.append(error)

    data = tf.data.Dataset.from_generator(from_resumed_position, output_signature=signature).prefetch(2)
    return data, first, refused


def _located(error: NonFiniteLossError, step: OnlineStep, stream: Stream, chunk: int, label_delay: int,
             model: keras.Model) -> NonFiniteLossError:
    """The error for an update that made the weights NaN/inf from a finite loss, at its exact sample.

    The step undid the whole chunk; this replays it one micro-batch at a time (compiled only now, on
    failure), checking the weights after each update, and stops with the weights from before the bad one.
    """
    start = int(step.stopped_at.numpy())
    (piece,) = list(itertools.islice(chunks(stream, start, start + chunk, chunk=chunk, label_delay=label_delay,
                                             shape=lambda a: shaped(a, model)), 1))
    b = step.batch_size
    learn = tf.function(lambda rows: step._micro_batch(rows["x"], rows["y"], rows["mask"], rows.get("x_pred"),
                                                       rows.get("y_pred"), rows.get("pred_mask", rows["mask"]))[2],
                        jit_compile=model.jit_compile)  # the engine of the run: the same rounding
    for i in range(0, chunk, b):
        rows = {key: tf.constant(value[i:i + b]) for key, value in piece.items() if key != "ids"}
        before = [keras.ops.convert_to_numpy(v) for v in step.state]
        finite_loss = bool(learn(rows))
        if not finite_loss or not all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in step.state):
            for variable, value in zip(step.state, before):
                variable.assign(value)
            what = ("The loss became NaN/inf" if not finite_loss else
                    "A gradient or the update it made became NaN/inf (the loss stayed finite)")
            message = non_finite_message(f"{what} at the batch starting at sample {int(piece['ids'][i])} of the stream",
                                         int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
                                         learning_rate_of(model.optimizer), None)
            located = NonFiniteLossError(message)
            located.history = error.history
            return located
    return error
