"""Checkpoints that hold a whole training state in one atomic save, and the callback that takes them
(chapters 1 and 4).

Model weights, optimizer slots, the stream position and the run log (history rows and
metric sums, as JSON) go into a single ``tf.train.Checkpoint``, so a run killed at any
moment restarts from a consistent state: the ``CheckpointManager`` only points at a
checkpoint once every file of it is written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from toolkit.distributed.strategy import writes_checkpoints
from toolkit.errors import ArgumentError, CheckpointExistsError


class TrainingState:
    """Save and restore model, optimizer, position and log under ``directory`` (``ckpt-<position>``).

    In a multi-worker job every worker saves (the save is collective), the chief into
    ``directory`` and the others into ``directory/.worker-<index>``; all restore from ``directory``.
    """

    def __init__(self, directory: str | Path, model: keras.Model, optimizer: keras.optimizers.Optimizer,
                 *, max_to_keep: int = 3, strategy=None):
        with strategy.scope() if strategy else contextlib.nullcontext():
            optimizer.build(model.trainable_variables)  # Keras 3 creates slots lazily; restore needs them
        self.directory = Path(directory)
        self._position = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._log = tf.Variable("{}", dtype=tf.string, trainable=False)
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer,
                                               position=self._position, log=self._log)
        own = self.directory if writes_checkpoints(strategy) else (
            self.directory / f".worker-{strategy.cluster_resolver.task_id}")
        self.manager = tf.train.CheckpointManager(self._checkpoint, str(own), max_to_keep=max_to_keep)

    @property
    def latest(self) -> str | None:
        """Path of the newest complete checkpoint in ``directory``, or ``None``."""
        return tf.train.latest_checkpoint(str(self.directory))

    def save(self, position: int, log: dict) -> str:
        """Write a checkpoint named after ``position`` (samples or epochs done)."""
        self._position.assign(position)
        self._log.assign(json.dumps(log))
        return self.manager.save(checkpoint_number=position)

    def restore(self) -> tuple[int, dict] | None:
        """Load the newest checkpoint into the model and optimizer; return ``(position, log)``."""
        if self.latest is None:
            return None
        self._checkpoint.restore(self.latest).assert_existing_objects_matched()
        return int(self._position.numpy()), json.loads(self._log.numpy().decode())


def refuse_to_overwrite(directory: str | Path, found: str) -> CheckpointExistsError:
    """The error for a checkpoint directory that already holds a run (every loop raises the same)."""
    return CheckpointExistsError(
        f"{directory} already holds checkpoints (newest: {found}). Pass resume=True to continue that run, or "
        "choose a new checkpoint_dir."
    )


def open_state(directory: str | Path | None, model: keras.Model, optimizer: keras.optimizers.Optimizer,
               *, resume: bool, strategy=None) -> tuple[TrainingState | None, tuple[int, dict] | None]:
    """The checkpoint state for a run and what it resumes from; refuses to overwrite old checkpoints
    unless ``resume=True``, so nothing is lost by accident."""
    if directory is None:
        if resume:
            raise ArgumentError("resume=True needs checkpoint_dir= (where the earlier run saved its checkpoints).")
        return None, None
    state = TrainingState(directory, model, optimizer, strategy=strategy)
    if state.latest is not None and not resume:
        raise refuse_to_overwrite(directory, state.latest)
    restored = state.restore() if resume else None
    return state, restored


class SaveState(keras.callbacks.Callback):
    """Saves the training state at the end of a window (an epoch, or a log window of the online loop)
    once ``every`` units of ``position_key`` have passed since the last save, and always at the end.

    ``log()`` gives the JSON-serialisable run log to store with the weights (history rows, scores,
    the update count), so a resumed run continues exactly where this one stopped.
    """

    def __init__(self, state: TrainingState, log: Callable[[], dict], *, position_key: str, every: float,
                 total: float, saved_at: float = 0):
        super().__init__()
        self.state, self.log, self.position_key = state, log, position_key
        self.every, self.total, self.saved_at = every, total, saved_at

    def on_epoch_end(self, epoch, logs=None):
        position = int((logs or {})[self.position_key])
        if position - self.saved_at >= self.every or position >= self.total:
            self.state.save(position, self.log())
            self.saved_at = position
