"""The one record every loop returns: ``keras.callbacks.History``, with the columns every loop logs
(chapters 1-6).

>>> history = RunHistory()
>>> history.append(samples=32, time=0.5, loss=2.0)
>>> history.append(samples=64, time=1.0, loss=1.0, val_loss=1.2)
>>> history.history["val_loss"][0] != history.history["val_loss"][0], history.samples_per_second
(True, 64.0)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np


class RunHistory(keras.callbacks.History):
    """Keras's ``History``: rows of metrics stored column-wise in ``history``, one row per epoch (or, in
    the online loop, per log window). Every loop returns it, and ``fit`` puts it last among the callbacks,
    so it sees what every other callback added to the logs.

    Besides the logs, each row has ``samples`` (seen so far: ``samples_at(epoch)``), ``updates``
    (``optimizer.iterations``) and ``time`` (training seconds, validation excluded), so runs of any kind plot
    on the same axes; these columns stay in the history and never reach the other callbacks' logs (a
    ``CSVLogger`` writes what ``fit`` would). With ``prequential=True`` (the online loop) each row also has
    ``prequential_loss``/``prequential_accuracy``: the running means from the first sample on, where the
    logs' ``loss``/``accuracy`` cover the row's window only. On data of unknown size, ``samples`` counts
    batches of ``batch_size`` (a smaller last batch counts as full). A key missing from some rows is NaN there. Given
    a ``path``, the rows are saved there after every epoch, and a run that resumes reads them back.
    """

    def __init__(self, history: dict | None = None, params: dict | None = None, *,
                 samples_at: Callable[[int], int] | None = None, prequential: bool = False,
                 path: str | Path | None = None, batch_size: int | None = None):
        super().__init__()
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.params = dict(params or {})
        self.samples_at, self.prequential, self.batch_size = samples_at, prequential, batch_size
        self._batches = 0
        self.path = None if path is None else Path(path)
        if self.path is not None and self.path.exists():
            self.history = json.loads(self.path.read_text())
        self.epoch = list(range(self.rows))
        self._elapsed, self._started, self._paused_at = 0.0, 0.0, 0.0

    @property
    def rows(self) -> int:
        """How many rows the history holds."""
        return len(next(iter(self.history.values()), []))

    def on_train_begin(self, logs=None):
        pass  # keep the rows of a resumed run (Keras's History starts a new list of epochs)

    def on_epoch_begin(self, epoch, logs=None):
        if self.rows > epoch:  # resumed from a backup older than the rows saved: keep the rows before it
            self.history = {key: values[:epoch] for key, values in self.history.items()}
            self.epoch = self.epoch[:epoch]
        self._elapsed = self.history["time"][-1] if self.rows and "time" in self.history else self._elapsed
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1

    def on_test_begin(self, logs=None):
        self._paused_at = time.perf_counter()

    def on_test_end(self, logs=None):
        self._started += time.perf_counter() - self._paused_at

    def on_epoch_end(self, epoch, logs=None):
        self._elapsed += time.perf_counter() - self._started
        row = dict(logs or {})
        if self.model is not None:
            row["updates"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.samples_at is not None:
            row["samples"] = self.samples_at(epoch)
        elif self.batch_size:  # data of unknown size: every batch counted as full, a smaller last one too
            row["samples"] = self._batches * self.batch_size
        row["time"] = self._elapsed
        if self.prequential:
            row.update(self._running_means(row))
        self.epoch.append(epoch)
        self.append(**row)
        if self.model is not None:
            self.model.history = self
        if self.path is not None:
            self.path.write_text(json.dumps(self.history, default=lambda v: np.asarray(v).tolist()))

    def _running_means(self, row: dict) -> dict:
        """The prequential means from the first sample to the end of this row's window."""
        before = self.history["samples"][-1] if self.rows else 0.0
        window = row["samples"] - before
        means = {}
        for name in ("loss", "accuracy"):
            if name in row:
                earlier = self.history[f"prequential_{name}"][-1] * before if self.rows else 0.0
                means[f"prequential_{name}"] = (earlier + row[name] * window) / max(row["samples"], 1)
        return means

    def append(self, **row: float) -> None:
        """Add one row; a key missing from earlier rows is back-filled with NaN."""
        length = self.rows
        for key in row.keys() - self.history.keys():
            self.history[key] = [float("nan")] * length
        for key, column in self.history.items():
            value = row.get(key, float("nan"))
            column.append(float(value) if np.ndim(value) == 0 else value)  # a metric may be a vector (F1Score)

    def last(self, key: str) -> float:
        """The newest value of ``key``."""
        return self.history[key][-1]

    @property
    def samples_per_second(self) -> float:
        """Training throughput over the whole run."""
        return self.last("samples") / max(self.last("time"), 1e-12)
