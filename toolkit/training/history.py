"""The one record every loop returns: ``keras.callbacks.History``, with the columns every loop logs
(chapters 1-6).

>>> history = RunHistory()
>>> history.append(samples=32, time=0.5, loss=2.0)
>>> history.append(samples=64, time=1.0, loss=1.0, val_loss=1.2)
>>> history.history["val_loss"][0] != history.history["val_loss"][0], history.samples_per_second
(True, 64.0)
"""

from __future__ import annotations

import keras


class RunHistory(keras.callbacks.History):
    """Keras's ``History``: rows of metrics stored column-wise in ``history``, one row per epoch (or, in
    the online loop, per log window). ``model.fit`` returns it from ``tk.fit_batch`` too.

    Every row has ``samples`` (seen so far), ``updates`` (optimizer steps) and ``time`` (training
    seconds, evaluation excluded), so runs of any kind plot on the same axes. A key missing from
    some rows is NaN there.
    """

    def __init__(self, history: dict | None = None, params: dict | None = None):
        super().__init__()
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.params = dict(params or {})
        self.epoch = list(range(self.rows))

    @property
    def rows(self) -> int:
        """How many rows the history holds."""
        return len(next(iter(self.history.values()), []))

    def on_train_begin(self, logs=None):
        self.epoch = list(range(self.rows))  # keep the rows of a resumed run

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        self.append(**(logs or {}))
        if self.model is not None:
            self.model.history = self

    def append(self, **row: float) -> None:
        """Add one row; a key missing from earlier rows is back-filled with NaN."""
        length = self.rows
        for key in row.keys() - self.history.keys():
            self.history[key] = [float("nan")] * length
        for key, column in self.history.items():
            column.append(float(row.get(key, float("nan"))))

    def last(self, key: str) -> float:
        """The newest value of ``key``."""
        return self.history[key][-1]

    @property
    def samples_per_second(self) -> float:
        """Training throughput over the whole run."""
        return self.last("samples") / max(self.last("time"), 1e-12)
