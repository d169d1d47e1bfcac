"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time

import keras


class EpochClock(keras.callbacks.Callback):
    """Epoch durations in seconds, with no per-batch hook (a batch hook would slow ``fit`` down)."""

    def __init__(self):
        super().__init__()
        self.durations: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.perf_counter() - self._started)
