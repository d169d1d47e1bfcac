"""Checkpoints that hold a whole training state in one atomic save (chapters 1 and 4).

Model weights, optimizer slots, the stream position and the run log (history rows and
metric sums, as JSON) go into a single ``tf.train.Checkpoint``, so a run killed at any
moment restarts from a consistent state: the ``CheckpointManager`` only points at a
checkpoint once every file of it is written.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import keras
import tensorflow as tf


def writes_checkpoints(strategy) -> bool:
    """Whether this process is the one whose checkpoints count: always, except on the non-chief
    workers of a multi-worker job (they must save too, but to a directory of their own)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


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


def open_state(directory: str | Path | None, model: keras.Model, optimizer: keras.optimizers.Optimizer,
               *, resume: bool, strategy=None) -> tuple[TrainingState | None, tuple[int, dict] | None]:
    """The checkpoint state for a run and what it resumes from; refuses to overwrite old checkpoints
    unless ``resume=True``, so nothing is lost by accident."""
    if directory is None:
        if resume:
            raise ValueError("resume=True needs checkpoint_dir= (where the earlier run saved its checkpoints).")
        return None, None
    state = TrainingState(directory, model, optimizer, strategy=strategy)
    if state.latest is not None and not resume:
        raise FileExistsError(
            f"{directory} already holds checkpoints (newest: {state.latest}). Pass resume=True to "
            "continue that run, or choose a new checkpoint_dir."
        )
    restored = state.restore() if resume else None
    return state, restored
