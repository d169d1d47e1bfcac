"""toolkit.runtime, and the promise that importing the toolkit changes nothing."""

from __future__ import annotations

import time

import pytest

import toolkit as tk
from tests.helpers import run_python, subprocess_env
from toolkit.errors import RuntimeConfigurationError

SIDE_EFFECTS = """
import os, sys, warnings
before = dict(os.environ)
import toolkit as tk
assert dict(os.environ) == before, "importing toolkit changed the environment"
assert "tensorflow" not in sys.modules and "keras_tuner" not in sys.modules, "importing toolkit loaded TensorFlow"
tk.models  # the first use loads what it needs
assert "tensorflow" in sys.modules and "keras_tuner" not in sys.modules
assert dict(os.environ) == before, "loading the models layer changed the environment"
tk.tuning
assert "keras_tuner" in sys.modules
print("ok")
"""


def test_importing_the_toolkit_has_no_side_effects_and_loads_heavy_parts_lazily():
    done = run_python("-c", SIDE_EFFECTS)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_threads_cannot_change_once_tensorflow_runs():
    tk.models.mlp()  # TensorFlow has run ops by now
    with pytest.raises(RuntimeConfigurationError, match="restart the kernel"):
        tk.set_cpu_threads(1)


def test_the_stopwatch_counts_only_inside_its_blocks():
    watch, started = tk.Stopwatch(), time.perf_counter()
    with watch.running():
        time.sleep(0.02)
    time.sleep(0.05)  # not counted
    with watch.running():
        time.sleep(0.02)
    assert 0.04 <= watch.elapsed <= time.perf_counter() - started - 0.05


def test_peak_memory_sees_a_tensor_made_inside_the_block():
    import tensorflow as tf

    with tk.peak_memory() as memory:
        tf.zeros((256, 1024))
    assert memory.mib >= 1.0 and memory.device.endswith(":0")


@pytest.mark.slow
def test_without_allocator_statistics_peak_memory_says_how_to_get_them():
    """TensorFlow with neither oneDNN (off by default on AMD CPUs) nor the statistics-keeping CPU allocator."""
    code = ("import tensorflow as tf, toolkit as tk\ntry:\n    with tk.peak_memory():\n        tf.zeros(9)\n"
            "except tk.errors.RuntimeConfigurationError as error:\n    print(error)")
    done = run_python("-c", code, env=subprocess_env(TF_ENABLE_ONEDNN_OPTS="0", TF_CPU_ALLOCATOR_USE_BFC="false"))
    assert "keeps no memory statistics for CPU:0" in done.stdout, done.stdout + done.stderr
    assert "tk.runtime.start_tensorflow()" in done.stdout and "TF_CPU_ALLOCATOR_USE_BFC=true" in done.stdout


def test_peak_memory_is_not_shrunk_by_garbage_collected_inside_the_block():
    import gc

    import tensorflow as tf

    class Cycle:
        pass

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        garbage = Cycle()
        garbage.itself, garbage.tensor = garbage, tf.ones((128, 1024))  # 0.5 MiB, freed only by gc
        del garbage
        with tk.peak_memory() as memory:
            gc.collect()  # as an automatic collection would, mid-block
            tf.zeros((256, 1024))
    finally:
        if was_enabled:
            gc.enable()
    assert memory.mib >= 1.0
