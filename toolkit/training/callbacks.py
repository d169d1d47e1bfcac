"""The callbacks the loops attach, and the one message for a loss that turned NaN or infinite (chapter 1).

Reporting, progress and checkpoints consume a loop's events through ``keras.callbacks.Callback``:
``model.fit`` calls them, and so does the toolkit's GradientTape trainer (``toolkit.training.trainer``).
"""

from __future__ import annotations

import math
import sys
import time

import keras
import numpy as np
from keras.src.utils import io_utils  # where Keras's own progress bar prints

from toolkit.errors import NonFiniteLossError


def non_finite_message(what: str, updates: int, learning_rate: float, checkpoint: str | None) -> str:
    """The text of a ``NonFiniteLossError``: what turned NaN/inf, what the model now holds, what to try."""
    saved = (f" The last good checkpoint is {checkpoint}; resume=True restarts from it."
             if checkpoint else " Pass checkpoint_dir= to keep checkpoints you can resume from.")
    return (f"{what} (update {updates + 1}). Training stopped there, so the model keeps its last good weights."
            + saved + f" Usual causes: a learning rate too large (this run: {learning_rate:g}; try 10x smaller), "
            "inputs not scaled to [0, 1], or a corrupt sample.")


def learning_rate_of(optimizer: keras.optimizers.Optimizer) -> float:
    """The optimizer's current learning rate, as a float."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class SampleClock(keras.callbacks.Callback):
    """Adds ``samples``, ``updates`` (weight updates: ``optimizer.iterations``) and ``time`` (training
    seconds, validation excluded) to each epoch's logs (``model.fit``, chapter 1).

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
    """Raises ``NonFiniteLossError`` naming the epoch and batch where ``model.fit``'s loss turned NaN/inf,
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
            optimizer = self.model.optimizer
            raise NonFiniteLossError(non_finite_message(
                f"The loss became {loss} in epoch {self._epoch + 1}, batch {batch + 1}",
                int(optimizer.iterations.numpy()) - 1, learning_rate_of(optimizer), None))

    def on_epoch_end(self, epoch, logs=None):
        bad = [w.path for w in self.model.weights if not np.isfinite(keras.ops.convert_to_numpy(w)).all()]
        if bad:
            raise NonFiniteLossError(
                f"After epoch {epoch + 1} the weights {bad[:3]} hold NaN/inf although the loss stayed finite: "
                "a NaN/inf input or gradient slipped through (a NaN gradient from the branch a where() did not take, "
                "say, leaves the forward pass finite). Check the "
                "data for non-finite values; with checkpoint_dir= the previous epoch is kept."
            )


def interactive_output() -> bool:
    """Whether standard output is a terminal or a notebook, where a progress bar can redraw itself."""
    return "ipykernel" in sys.modules or (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())


class ProgressBar(keras.callbacks.Callback):
    """A Keras progress bar over samples, showing loss, accuracy and samples/s (the tape loops, chapter 1).

    Where the output is not a terminal or a notebook (a log file, a pipe), it prints plain lines
    instead, at most one every ``interval`` seconds and always the last one.
    """

    SHOWN = ("loss", "accuracy", "val_accuracy")

    def __init__(self, total: int, start: int = 0, interval: float = 10.0):
        super().__init__()
        self.total, self.start, self.interval = total, start, interval
        self.bar = None
        self._printed_at = -math.inf

    def on_train_begin(self, logs=None):
        if interactive_output():
            self.bar = keras.utils.Progbar(self.total, unit_name="sample", stateful_metrics=[*self.SHOWN, "samples/s"])
            if self.start:
                self.bar.update(self.start)

    def on_epoch_end(self, epoch, logs=None):
        row = logs or {}
        values = [(k, row[k]) for k in self.SHOWN if k in row and not np.isnan(row[k])]
        values.append(("samples/s", row["samples"] / max(row["time"], 1e-9)))
        if self.bar is not None:
            self.bar.update(int(row["samples"]), values)
        elif time.monotonic() - self._printed_at >= self.interval or row["samples"] >= self.total:
            self._printed_at = time.monotonic()
            shown = " - ".join(f"{k}: {v:,.0f}" if k == "samples/s" else f"{k}: {v:.4f}" for k, v in values)
            io_utils.print_msg(f"{int(row['samples'])}/{self.total} samples - {shown}")
