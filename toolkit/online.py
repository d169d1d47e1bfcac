"""Online training: per-sample (or micro-batch) GradientTape updates on a stream (chapter 1).

The corrected version of the seed's online loop. The seed called an eager ``GradientTape``
step from Python once per image, for 100 epochs over a directory of images; here one
compiled call learns a whole chunk of the stream, every sample is predicted before it is
learned (prequential evaluation), and a run can be killed and resumed without losing work.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from toolkit.checkpoints import open_state
from toolkit.engine import TapeStepper
from toolkit.evaluate import PrequentialScore
from toolkit.guards import check_finite_inputs, check_labels, shape_inputs
from toolkit.history import RunHistory
from toolkit.measure import Stopwatch
from toolkit.runs import Progress, non_finite_error, prepare_run, validation_row
from toolkit.streams import Stream, as_stream


def _stream_total(stream: Stream, max_samples: int | None) -> int:
    if stream.length is None and max_samples is None:
        raise ValueError("The stream is endless; pass max_samples= to say when to stop.")
    return min(n for n in (stream.length, max_samples) if n is not None)


class _LabelDelay:
    """Pairs each step's prediction with the sample whose label has just arrived, ``delay`` samples older."""

    def __init__(self, stream: Stream, model: keras.Model, position: int, delay: int, probe: np.ndarray):
        self.delay = delay
        self.x = np.zeros((delay, *probe.shape[1:]), probe.dtype)
        self.y = np.zeros(delay, np.int64)
        self.mask = np.zeros(delay, np.float32)
        known = min(position, delay)
        if known:  # resuming: reload the samples whose labels are still in flight
            x, y = stream.take(known, start=position - known)
            self.x[delay - known:], self.y[delay - known:] = shape_inputs(x, model), y
            self.mask[delay - known:] = 1.0

    def pair(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Training samples (and their mask) for a block of new samples; keeps the newest in flight."""
        all_x, all_y = np.concatenate([self.x, x]), np.concatenate([self.y, y.astype(np.int64)])
        all_mask = np.concatenate([self.mask, np.ones(len(x), np.float32)])
        n = len(x)
        self.x, self.y, self.mask = all_x[n:], all_y[n:], all_mask[n:]
        return all_x[:n], all_y[:n].astype(y.dtype), all_mask[:n]


def train_online(
    model: keras.Model,
    stream,
    *,
    optimizer="sgd",
    loss=None,
    batch_size: int = 1,
    max_samples: int | None = None,
    label_delay: int = 0,
    log_every: int = 500,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    checkpoint_dir: str | None = None,
    checkpoint_every: int = 5000,
    resume: bool = False,
    jit_compile: bool | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
    verbose: int = 1,
    seed: int = 0,
) -> RunHistory:
    """Learn from a stream one sample (or micro-batch of ``batch_size``) at a time (chapter 1).

    Each sample is predicted first, then learned; the history has a row every ``log_every``
    samples with ``samples``, ``updates``, ``time``, the cumulative prequential ``loss`` and
    ``accuracy``, the same over the last window (``window_*``) and, given ``validation_data``,
    held-out ``val_loss``/``val_accuracy``. ``label_delay=d`` trains on each label ``d`` samples
    after its prediction, as when labels arrive late. ``stream`` is a ``tk.Stream``, an ``(x, y)``
    pair (shuffled with ``seed``) or an unbatched ``tf.data.Dataset``; endless streams need
    ``max_samples``. With ``checkpoint_dir``, the model, optimizer, position and history are
    saved every ``checkpoint_every`` samples; ``resume=True`` continues from the newest save,
    and the result equals an uninterrupted run. A NaN/inf loss stops before its update with a
    ``NonFiniteLossError`` naming the sample. With a ``strategy`` (chapter 4), each micro-batch of
    ``batch_size`` is split among the replicas, so it must be a multiple of their number.
    """
    if label_delay % batch_size:
        raise ValueError(f"label_delay ({label_delay}) must be a multiple of batch_size ({batch_size}).")
    stream = as_stream(stream, seed=seed)
    total = _stream_total(stream, max_samples)
    chunk = max(1, log_every // batch_size) * batch_size
    probe_x, probe_y = stream.take(min(chunk, total))
    optimizer, loss = prepare_run(model, probe_x, probe_y, optimizer, loss, strategy)
    probe_x = shape_inputs(probe_x, model)
    stepper = TapeStepper(model, optimizer, loss, prequential=True, jit_compile=jit_compile,
                          strategy=strategy)
    state, restored = open_state(checkpoint_dir, model, optimizer, resume=resume, strategy=strategy)
    position, log = restored or (0, {})

    history = RunHistory(log.get("history", {}), params={"batch_size": batch_size, "label_delay": label_delay,
                                                          "total": total})
    score = PrequentialScore(**log.get("score", {}))
    watch = Stopwatch(history.last("time") if position else 0.0)
    updates, saved_at = int(log.get("updates", 0)), position
    delay = _LabelDelay(stream, model, position, label_delay, probe_x) if label_delay else None
    progress = Progress(total, verbose)

    for x, y in stream.blocks(position, chunk):
        x, y = shape_inputs(x[: total - position], model), y[: total - position]
        check_finite_inputs(x, "sample {} of the stream", first_id=position)
        check_labels(y, model, loss)
        with watch.running():
            if delay is None:
                result = stepper.run(x, y, batch_size, steps_per_chunk=chunk // batch_size)
            else:
                x_train, y_train, mask = delay.pair(x, y)
                result = stepper.run(x_train, y_train, batch_size, steps_per_chunk=chunk // batch_size,
                                     mask=mask, x_pred=x, y_pred=y)
        if not result.finite:
            first = (result.steps - 1) * batch_size  # the micro-batch that stopped the run
            ids = position - label_delay + np.arange(first, len(result.loss))
            raise non_finite_error(result.loss[first:], ids, "sample {} of the stream", updates + result.updates,
                                   optimizer, state.latest if state else None)
        score.update(result.loss, result.correct)
        updates += result.updates
        position += len(x)
        row = {"samples": position, "updates": updates, "time": watch.elapsed, **score.result(),
               **validation_row(model, validation_data, loss)}
        history.append(**row)
        progress.update(row)
        if state is not None and (position - saved_at >= checkpoint_every or position >= total):
            state.save(position, {"history": history.history, "score": score.state(), "updates": updates})
            saved_at = position
        if position >= total:
            break
    return history
