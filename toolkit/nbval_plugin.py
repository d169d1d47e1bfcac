"""pytest hooks for grading notebooks with nbval (chapters 1-6).

Loaded by the repository's ``conftest.py`` and by ``python -m toolkit grade``:

- stderr is dropped from the comparison: TensorFlow and Keras log there, with machine-specific
  paths; images and HTML are dropped too (check cells print text verdicts);
- the sanitize file ``toolkit/nbval_sanitize.cfg`` masks timings, rates, addresses and
  progress bars unless ``--nbval-sanitize-with`` names another;
- notebooks run in the current environment's Python, with a per-cell time limit.
"""

from __future__ import annotations

from pathlib import Path

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
NOT_COMPARED = ("stderr", "image/png", "image/jpeg", "image/svg+xml", "text/html")
CELL_TIMEOUT_S = 600


def pytest_configure(config):
    option = config.option
    if hasattr(option, "nbval_sanitize_with") and option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(SANITIZE_FILE)
    if hasattr(option, "nbval_current_env") and not getattr(option, "nbval_kernel_name", None):
        option.nbval_current_env = True
    if getattr(option, "nbval_cell_timeout", None) in (None, 2000):
        option.nbval_cell_timeout = CELL_TIMEOUT_S


def pytest_collectstart(collector):
    path = getattr(collector, "path", None)  # nbval still uses the legacy fspath; pytest gives both
    if path is not None and path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + NOT_COMPARED
