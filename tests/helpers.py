"""What many tests share: the repository root, running Python in a subprocess, twin models and the
distance between two models' weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: this checkout first on the path, TensorFlow's C++ log quiet."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def run_python(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python *args`` in a child process with ``subprocess_env()``; capture its output as text."""
    return subprocess.run([sys.executable, *args], env=kwargs.pop("env", subprocess_env()), capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def twin_models(seed: int = 1, **kwargs):
    """Two MLPs that start from identical weights."""
    import toolkit as tk

    return tk.models.mlp(seed=seed, **kwargs), tk.models.mlp(seed=seed, **kwargs)


def max_weight_difference(a, b) -> float:
    """Largest absolute difference between two models' weights."""
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights()))
