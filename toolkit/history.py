"""The record a tape loop returns, shaped like ``keras.callbacks.History`` (chapters 1-6)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunHistory:
    """Rows of metrics over a run, stored column-wise in ``history`` like Keras's ``History``.

    Every row has ``samples`` (seen so far), ``updates`` (optimizer steps) and ``time``
    (training seconds, evaluation excluded), so runs of any kind plot on the same axes.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def append(self, **row: float) -> None:
        """Add one row; a key missing from earlier rows is back-filled with NaN."""
        length = len(next(iter(self.history.values()), []))
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
