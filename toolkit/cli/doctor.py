"""``python -m toolkit doctor``: what this machine gives TensorFlow (chapters 1 and 4).

Versions, devices, whether the CUDA libraries load (the pip CUDA wheels sometimes need
``LD_LIBRARY_PATH``), and the determinism settings that graded outputs rely on.
"""

from __future__ import annotations

import ctypes
import glob
import os
import platform
from pathlib import Path

CUDA_LIBRARIES = ("libcuda.so.1", "libcudart.so.12", "libcublas.so.12", "libcudnn.so.9")


def nvidia_wheel_lib_dirs() -> list[str]:
    """Library folders of the ``nvidia-*`` pip wheels that ``tensorflow[and-cuda]`` installs."""
    try:
        import nvidia  # namespace package of the CUDA wheels
    except ImportError:
        return []
    return sorted({d for root in nvidia.__path__ for d in glob.glob(os.path.join(root, "*", "lib"))})


def try_load(name: str, folders: list[str]) -> str:
    """Where a shared library loads from: the system path or a wheel folder, else why it failed."""
    try:
        ctypes.CDLL(name)
        return "loads (system library path)"
    except OSError:
        pass
    for folder in folders:
        path = Path(folder) / name
        if path.exists():
            try:
                ctypes.CDLL(str(path))
                return f"loads from {folder} (add it to LD_LIBRARY_PATH if TensorFlow misses it)"
            except OSError as error:
                return f"found in {folder} but fails to load: {error}"
    if name == "libcuda.so.1":
        return "not found: no NVIDIA driver, so TensorFlow runs on the CPU"
    return "not found"


def op_determinism_enabled() -> bool | str:
    """Whether ``enable_op_determinism`` is on (TensorFlow exposes the query only internally)."""
    try:
        from tensorflow.python.framework import config
    except ImportError:
        return "unknown"
    return config.is_op_determinism_enabled()


def report() -> str:
    """The doctor's report as text."""
    import keras
    import numpy as np
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    lines = [
        f"Python      {platform.python_version()} ({platform.machine()}, {platform.system()})",
        f"TensorFlow  {tf.__version__} (CUDA build: {build.get('is_cuda_build', False)}, "
        f"CUDA {build.get('cuda_version', '-')}, cuDNN {build.get('cudnn_version', '-')})",
        f"Keras       {keras.__version__} (backend: {keras.backend.backend()})",
        f"NumPy       {np.__version__}",
        "",
        "Devices:",
        *[f"  {d.device_type:<4} {d.name}" for d in tf.config.list_physical_devices()],
        f"  CPU cores visible: {os.cpu_count()}",
        "",
        "CUDA libraries:",
    ]
    folders = nvidia_wheel_lib_dirs()
    lines += [f"  {name:<18} {try_load(name, folders)}" for name in CUDA_LIBRARIES]
    if not tf.config.list_physical_devices("GPU") and folders:
        lines.append("  No GPU visible. On a GPU machine, check `nvidia-smi`, then try: export LD_LIBRARY_PATH="
                     + ":".join(folders))
    lines += [
        "",
        "Determinism:",
        f"  op determinism enabled: {op_determinism_enabled()} "
        "(tk.seed_everything(seed) turns it on)",
        f"  TF_DETERMINISTIC_OPS={os.environ.get('TF_DETERMINISTIC_OPS', '(unset)')}  "
        f"PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', '(unset)')}",
        f"  XLA flags: {os.environ.get('XLA_FLAGS', '(none)')}",
    ]
    return "\n".join(lines)
