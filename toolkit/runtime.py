"""Process-wide TensorFlow settings and fair measurements: a quiet start, seeds, determinism, CPU threads,
a pausable stopwatch and peak memory (chapters 1-6).

Importing the toolkit changes none of these; each function changes only what its name says. This module
imports TensorFlow only inside its functions, so ``start_tensorflow`` can run before TensorFlow loads.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from toolkit.errors import RuntimeConfigurationError

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
CPU_ALLOCATOR = "TF_CPU_ALLOCATOR_USE_BFC"  # "true": the CPU allocator keeps the statistics peak_memory reads


def tensorflow_environment(log_level: str = "3") -> None:
    """Set, unless already set, the environment TensorFlow reads once, when it starts (chapters 1-6): its
    C++ log level, and a CPU allocator that keeps statistics, which ``peak_memory`` reads. Without it
    only oneDNN's allocator keeps them, and TensorFlow turns oneDNN on for Intel CPUs only: on an AMD CPU
    ``peak_memory`` would have nothing to read. Does nothing once TensorFlow has started."""
    os.environ.setdefault(LOG_LEVEL, log_level)
    os.environ.setdefault(CPU_ALLOCATOR, "true")


def start_tensorflow(*, verbose: bool = False) -> ModuleType:
    """Import TensorFlow, quietly unless ``verbose``; returns the module (the CLI, chapters 1-6).

    TensorFlow's C++ libraries log as they load: oneDNN notes, and, on a machine without a GPU,
    error-level lines about CUDA (``failed call to cuInit ... UNKNOWN ERROR (303)``) that are no error
    at all. Quiet, it sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless set already) and drops what the libraries
    write to stderr while loading, before they read that setting; if the import fails, that text is
    shown after all. ``verbose`` sets the level to 0 and hides nothing. It sets the environment of
    ``tensorflow_environment`` and, during the import only, changes file descriptor 2: call it before
    anything imports TensorFlow.
    """
    if verbose:
        os.environ[LOG_LEVEL] = "0"
        tensorflow_environment()
        import tensorflow

        return tensorflow
    tensorflow_environment()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tensorflow


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; with ``deterministic``, also make TF ops repeatable.

    Op determinism makes reruns bit-identical (tests, graded cells, kill-and-resume) at a
    small speed cost; some GPU ops then raise instead of running non-deterministically.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def set_cpu_threads(intra_op: int, inter_op: int | None = None) -> None:
    """Set TensorFlow's CPU thread pools; call it before TensorFlow runs its first op (chapter 1).

    The pools are process-wide and fixed once TensorFlow has started. One intra-op thread makes
    per-sample SGD faster (XLA's CPU runtime no longer hands each step's microsecond-sized ops to a
    second thread) but costs large batches and convolutions a third of their speed, so the toolkit
    never sets it for you; ``bench/online_throughput.py`` reports it as a best case.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op is not None:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as error:
        raise RuntimeConfigurationError(
            "TensorFlow's thread pools are fixed once it has run an op. Call tk.set_cpu_threads(...) "
            "right after `import toolkit as tk`, before loading data or building models (in a notebook: "
            "restart the kernel first)."
        ) from error


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
    import tensorflow as tf

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

    Garbage is collected first: otherwise tensors left in reference cycles before the block could
    be freed by a collection inside it, and the block's peak would shrink by their size.
    """
    import tensorflow as tf

    gc.collect()
    result = PeakMemory(device or compute_device())
    try:
        tf.config.experimental.reset_memory_stats(result.device)
    except ValueError as error:  # "Cannot reset memory stats for device 'CPU:0'"
        raise RuntimeConfigurationError(
            f"TensorFlow keeps no memory statistics for {result.device} in this process, so its peak cannot be "
            f"measured ({error}). On a CPU without oneDNN (AMD, say) they need {CPU_ALLOCATOR}=true before "
            "TensorFlow starts: call tk.runtime.start_tensorflow() before anything imports TensorFlow, or set "
            f"{CPU_ALLOCATOR}=true in the environment, then restart."
        ) from error
    held_before = tf.config.experimental.get_memory_info(result.device)["current"]
    try:
        yield result
    finally:
        result.peak_bytes = int(tf.config.experimental.get_memory_info(result.device)["peak"] - held_before)
