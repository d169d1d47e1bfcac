"""Checkpoints and resume for every loop, through Keras's own ``BackupAndRestore`` (chapters 1 and 4).

``checkpoint_dir`` means the same in every loop: the model, the optimizer and the epoch (a log window, in
the online loop) are backed up at the end of each epoch into ``checkpoint_dir/backup`` (kept after the
run), and ``resume=True`` continues from the newest backup, as ``fit`` with ``BackupAndRestore`` does:
``fit`` starts again at the epoch after it. The history rows are kept beside it (``history.json``).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras

from toolkit.errors import ArgumentError, CheckpointExistsError


def backup_dir(checkpoint_dir: str | Path) -> Path:
    """Where a run's backup lives inside its ``checkpoint_dir``."""
    return Path(checkpoint_dir) / "backup"


def history_path(checkpoint_dir: str | Path | None) -> Path | None:
    """Where a run keeps its history rows (``None`` without a ``checkpoint_dir``)."""
    return None if checkpoint_dir is None else Path(checkpoint_dir) / "history.json"


def refuse_to_overwrite(directory: str | Path, found: str) -> CheckpointExistsError:
    """The error for a checkpoint directory that already holds a run (every loop raises the same)."""
    return CheckpointExistsError(
        f"{directory} already holds checkpoints (newest: {found}). Pass resume=True to continue that run, or "
        "choose a new checkpoint_dir."
    )


def holds_a_run(checkpoint_dir: str | Path | None) -> bool:
    """Whether ``checkpoint_dir`` holds a backup to resume from."""
    backup = None if checkpoint_dir is None else backup_dir(checkpoint_dir)
    return backup is not None and backup.exists() and any(backup.iterdir())


def check_checkpointing(checkpoint_dir: str | Path | None, resume: bool) -> None:
    """Refuse ``resume`` without a directory, and a directory that holds a run without ``resume``, so nothing
    is overwritten by accident; a fresh run starts with no rows left from an older one."""
    if checkpoint_dir is None:
        if resume:
            raise ArgumentError("resume=True needs checkpoint_dir= (where the earlier run saved its checkpoints).")
        return
    if holds_a_run(checkpoint_dir) and not resume:
        raise refuse_to_overwrite(checkpoint_dir, str(backup_dir(checkpoint_dir)))
    rows = history_path(checkpoint_dir)
    if not resume and rows.exists():
        rows.unlink()


class BackupOfGoodEpochs(keras.callbacks.BackupAndRestore):
    """Keras's ``BackupAndRestore``, except that an epoch whose loss turned NaN/inf is not backed up: the
    run stopped inside it, and resuming must redo it from the backup before it (chapter 1)."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            return
        super().on_epoch_end(epoch, logs)


def backup_callbacks(checkpoint_dir: str | Path | None, resume: bool) -> list[keras.callbacks.Callback]:
    """Keras's ``BackupAndRestore`` for ``checkpoint_dir`` (none without one), after the checks above."""
    check_checkpointing(checkpoint_dir, resume)
    if checkpoint_dir is None:
        return []
    backup = backup_dir(checkpoint_dir)
    backup.parent.mkdir(parents=True, exist_ok=True)
    return [BackupOfGoodEpochs(str(backup), delete_checkpoint=False)]
