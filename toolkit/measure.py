"""Wall-clock and memory measurement for fair comparisons (chapters 1, 3 and 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import tensorflow as tf


class Stopwatch:
    """A pausable timer: ``with watch.running(): ...`` counts only the time inside."""

    def __init__(self, elapsed: float = 0.0):
        self.elapsed = elapsed

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the time spent inside the ``with`` block."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.elapsed += time.perf_counter() - start


def compute_device() -> str:
    """The device TensorFlow computes on by default: the first GPU, else the CPU."""
    return "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU:0"


@dataclass
class PeakMemory:
    """Peak bytes TensorFlow's allocator held on ``device`` while the block ran, above what it
    already held when the block started."""

    device: str
    peak_bytes: int = 0

    @property
    def mib(self) -> float:
        """The peak in MiB."""
        return self.peak_bytes / 2**20


@contextmanager
def peak_memory(device: str | None = None) -> Iterator[PeakMemory]:
    """Measure TensorFlow's peak tensor memory in a block (CPU or GPU allocator statistics).

    It counts tensors created in the block (weights, batches, activations, a data set converted
    to a tensor), not NumPy arrays held by Python. Used by ``compare`` and chapter 1.
    """
    result = PeakMemory(device or compute_device())
    tf.config.experimental.reset_memory_stats(result.device)
    held_before = tf.config.experimental.get_memory_info(result.device)["current"]
    try:
        yield result
    finally:
        result.peak_bytes = int(tf.config.experimental.get_memory_info(result.device)["peak"] - held_before)
