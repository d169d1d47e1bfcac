"""The callback every loop attaches to stop at a NaN/inf loss, and its message (chapter 1).

Every loop runs inside ``model.fit`` (``toolkit.training.run``), so reporting, progress and checkpoints are
Keras's own callbacks, fed by ``fit``'s events.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np

from toolkit.errors import NonFiniteLossError


def non_finite_message(what: str, updates: int, learning_rate: float, checkpoint: str | None,
                       kept: bool = True) -> str:
    """The text of a ``NonFiniteLossError``: what turned NaN/inf, what the model now holds, what to try."""
    saved = (f" The last good epoch's backup is in {checkpoint}; resume=True restarts from it."
             if checkpoint else " Pass checkpoint_dir= to keep checkpoints you can resume from.")
    holds = ("Training stopped there, so the model keeps its last good weights." if kept else
             "Training stopped, but the update was made (as fit makes it): the weights hold NaN/inf.")
    return (f"{what} (update {updates + 1}). {holds}"
            + saved + f" Usual causes: a learning rate too large (this run: {learning_rate:g}; try 10x smaller), "
            "inputs not scaled to [0, 1], or a corrupt sample.")


def learning_rate_of(optimizer: keras.optimizers.Optimizer) -> float:
    """The optimizer's current learning rate, as a float."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops a run whose loss turned NaN/inf, after every other callback has seen that batch, and keeps the
    message that ``NonFiniteLossError`` will carry once ``fit`` has ended cleanly (``on_train_end`` runs).

    Put it after the user's callbacks: a ``keras.callbacks.TerminateOnNaN`` of theirs then acts first and
    the run returns its History with only a warning, as with ``fit``. ``describe(epoch, batch, loss)`` says
    what turned NaN/inf and where (the online loop names the sample). After each epoch it also checks the weights: a
    NaN gradient can leave the loss finite.
    """

    def __init__(self, describe=None, *, checkpoint: str | None = None):
        super().__init__()
        self.checkpoint = checkpoint  # where a backup of the last good epoch lives, if anywhere
        self.describe = describe or (lambda epoch, batch, loss: f"The loss, or the update it made, became {loss} at "
                                     f"epoch {epoch + 1}, batch {batch + 1}")
        self.message: str | None = None
        self.handled_by_user = False
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _stop(self, what: str) -> None:
        optimizer = self.model.optimizer
        self.handled_by_user = bool(self.model.stop_training)
        kept = all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in self.model.weights)
        self.message = non_finite_message(what, int(optimizer.iterations.numpy()), learning_rate_of(optimizer),
                                          self.checkpoint, kept=kept)
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.message is None and loss is not None and not math.isfinite(float(loss)):
            self._stop(self.describe(self._epoch, batch, loss))

    def on_epoch_end(self, epoch, logs=None):
        if self.message is not None:
            return
        bad = [w.path for w in self.model.weights if not np.isfinite(keras.ops.convert_to_numpy(w)).all()]
        if bad:
            self._stop(f"After epoch {epoch + 1} the weights {bad[:3]} hold NaN/inf although the loss stayed finite "
                       "(a NaN/inf input or gradient slipped through)")

    def raise_if_stopped(self, history) -> None:
        """After ``fit``: raise ``NonFiniteLossError`` (with ``history`` attached), or only warn when a
        callback of the user's had already stopped the run for it."""
        if self.message is None:
            return
        if self.handled_by_user:
            warnings.warn(self.message, stacklevel=3)
            return
        error = NonFiniteLossError(self.message)
        error.history = history
        raise error
