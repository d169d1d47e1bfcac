"""Online training: per-sample (or micro-batch) GradientTape updates on a stream (chapter 1).

The corrected version of the seed's online loop. The seed called an eager ``GradientTape``
step from Python once per image, for 100 epochs over a directory of images; here one
compiled call learns a whole chunk of the stream, every sample is predicted before it is
learned (prequential evaluation), and a run can be killed and resumed without losing work.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.streams import Stream, as_stream
from toolkit.errors import ArgumentError, StreamError
from toolkit.training.adapters import stream_chunks
from toolkit.training.callbacks import ProgressBar
from toolkit.training.checkpoints import SaveState, open_state
from toolkit.training.execution import CallPlan, tape_run
from toolkit.training.setup import shaped
from toolkit.training.trainer import RunState, Trainer, Window


def _stream_total(stream: Stream, max_samples: int | None) -> int:
    if stream.length is None and max_samples is None:
        raise StreamError("The stream is endless; pass max_samples= to say when to stop.")
    return min(n for n in (stream.length, max_samples) if n is not None)


def train_online(
    model: keras.Model, stream, *, optimizer="sgd", loss=None, batch_size: int = 1, max_samples: int | None = None,
    label_delay: int = 0, log_every: int = 500, validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint_dir: str | None = None, checkpoint_every: int = 5000, resume: bool = False,
    jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None, verbose: int = 1, seed: int = 0,
) -> keras.callbacks.History:
    """Learn from a stream one sample (or micro-batch of ``batch_size``) at a time (chapter 1).

    Each sample is predicted first, then learned; the returned ``keras.callbacks.History``
    (``tk.RunHistory``) has a row every ``log_every`` samples with ``samples``, ``updates``, ``time``,
    the cumulative prequential ``loss`` and ``accuracy``, the same over the last window
    (``window_*``) and, given ``validation_data``, held-out ``val_loss``/``val_accuracy``. Keras
    ``callbacks`` receive each row as an epoch's logs (a window is an "epoch"). ``label_delay=d``
    trains on each label ``d`` samples after its prediction, as when labels arrive late. ``stream``
    is a ``tk.Stream``, an ``(x, y)`` pair (shuffled with ``seed``) or an unbatched
    ``tf.data.Dataset``; endless streams need ``max_samples``. With ``checkpoint_dir``, the model,
    optimizer, position and history are saved every ``checkpoint_every`` samples; ``resume=True``
    continues from the newest save, and the result equals an uninterrupted run. A NaN/inf loss stops
    before its update with a ``NonFiniteLossError`` naming the sample. With a ``strategy`` (chapter 4),
    each micro-batch of ``batch_size`` is split among the replicas, so it must be a multiple of their number.

    Speed: the compiled step is shared with earlier models of the same architecture
    (``toolkit.training.shared_steps``), and when nothing reads the model between windows (no
    validation, checkpoints or callbacks) several windows are learned in one compiled call.
    """
    # Windows may share a compiled call when nothing reads the model between them.
    plan = CallPlan.per_window(log_every, batch_size,
                               fused=validation_data is None and not callbacks and checkpoint_dir is None)
    if label_delay % batch_size:
        raise ArgumentError(f"label_delay ({label_delay}) must be a multiple of batch_size ({batch_size}).")
    stream = as_stream(stream, seed=seed)
    total = _stream_total(stream, max_samples)
    probe_x, probe_y = stream.take(min(plan.samples, total))
    tape = tape_run(model, probe_x, probe_y, optimizer=optimizer, loss=loss, prequential=True,
                    batch_size=batch_size, jit_compile=jit_compile, strategy=strategy)
    state, restored = open_state(checkpoint_dir, model, tape.optimizer, resume=resume, strategy=strategy)
    position, log = restored or (0, {})
    run = RunState.restored(log, tape.params(batch_size=batch_size, label_delay=label_delay, total=total))
    trainer = Trainer(model, tape.optimizer, tape.stepper, tape.loss, plan,
                      report=lambda score: score.result(), validation_data=validation_data)
    chunks = stream_chunks(stream, position, total, chunk=plan.samples, label_delay=label_delay,
                           shape=lambda x: shaped(x, model))
    saver = (SaveState(state, run.log, position_key="samples", every=checkpoint_every, total=total, saved_at=position)
             if state else None)
    progress = ProgressBar(total, start=position) if verbose else None
    return trainer.run(_windows(chunks, position, plan.samples), run, callbacks=callbacks, progress=progress,
                       saver=saver)


def _windows(chunks, position: int, chunk: int):
    """One window per chunk, with the stream position it ends at."""
    for index, piece in enumerate(chunks, start=position // chunk):
        position += len(piece.x)
        yield Window(index, [piece], {"samples": position})
