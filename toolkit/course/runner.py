"""Running one notebook for grading: nbval in a pytest process of the grader's own, the kernel in a
sandbox (``toolkit.course.sandbox``), each cell's outcome read back from a results file that only
the grader can reach (chapters 1-6)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from toolkit.course import notebooks
from toolkit.course.checks import DEFAULT_SEED
from toolkit.course.nbval_plugin import KERNEL_OPTION, RECORD_OPTION, RESULTS_OPTION
from toolkit.course.sandbox import make_sandbox
from toolkit.errors import GradingError

logger = logging.getLogger(__name__)


@dataclass
class CellOutcome:
    """One code cell's result in a run."""

    passed: bool
    reason: str = ""
    skipped: bool = False


def _runner_environment(root: Path) -> dict[str, str]:
    """The environment of the grader's own pytest: it imports the course's toolkit (never the kernel's copy)."""
    import toolkit

    trusted = str(Path(toolkit.__file__).resolve().parents[1])
    path = [trusted, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _stop(process: subprocess.Popen) -> None:
    """Kill the pytest process and everything it started (the kernel runs in a session of its own)."""
    import psutil

    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, process]:
        try:
            member.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    process.wait()


def _stop_leftovers(root: Path) -> int:
    """Kill any process still running from this submission's folder (a sandbox that outlived pytest);
    returns how many there were. With bubblewrap there are none: the kernel's PID namespace dies with it."""
    import psutil

    marker, found = str(root), 0
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if any(marker in part for part in (proc.info["cmdline"] or [])) or marker in (proc.info["cwd"] or ""):
                proc.kill()
                found += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


# The grader's pytest, started as ``python -c _PYTEST <pytest arguments>``. nbval imports nbformat, which imports
# jsonschema, whose format checks import rfc3987_syntax where it is installed (jupyter_server brings it in):
# building that package's grammar takes 2.6 s of a 25 s run on two slow cores, at every run. A notebook's
# validation checks no formats, so this process goes without it.
_PYTEST = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); import pytest; "
           "raise SystemExit(pytest.main(sys.argv[1:]))")


@dataclass
class Run:
    """What one run of a notebook gave: each code cell's outcome, and (when recorded) each check cell's
    outputs, by nbval cell index."""

    outcomes: dict[int, CellOutcome]
    outputs: dict[int, list]


def run_notebook(nb: nbformat.NotebookNode, *, cell_timeout: float, timeout: float, seed: int = DEFAULT_SEED,
                 record: bool = False, progress: Callable[[int, int], None] | None = None) -> Run:
    """Run ``nb`` with nbval, its kernel in a sandbox (``toolkit.course.sandbox``) that sees ``seed`` as the
    check seed; returns each code cell's outcome by nbval cell index (and, with ``record``, the check cells'
    outputs).

    Cells never reached (the whole-notebook ``timeout`` ran out) get a failed outcome saying so.
    ``progress(cells_done, cells_total)`` is called as cells finish.
    """
    total = len(notebooks.code_cells(nb))
    with tempfile.TemporaryDirectory(prefix="toolkit-grade-") as folder:
        root = Path(folder)  # only the grader can enter it (0700); the kernel sees none of it but its copy
        box = make_sandbox(root, seed)
        work = root / "work"
        work.mkdir()
        path = work / "submission.ipynb"
        nbformat.write(nb, str(path))
        results, kernel = root / "results.jsonl", root / "kernel.json"
        kernel.write_text(json.dumps({"argv": box.kernel_argv(), "env": {} if box.boxed else box.environment()}),
                          encoding="utf-8")
        (root / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
        # -v: pytest's output diffs show whole lines, for the reasons; the log goes to a file, since a
        # pipe nobody reads until the end would block a run that prints more than the pipe holds.
        command = [sys.executable, "-c", _PYTEST, "-c", str(root / "pytest.ini"), "--rootdir", str(root), "-v",
                   "-p", "no:cacheprovider", "-p", "toolkit.course.nbval_plugin", "--nbval-lax",
                   "--nbval-cell-timeout", str(cell_timeout), "-W", "ignore::DeprecationWarning",
                   RESULTS_OPTION, str(results), KERNEL_OPTION, str(kernel), *([RECORD_OPTION] if record else []),
                   str(path)]
        log_path = root / "pytest.log"
        with open(log_path, "w", encoding="utf-8") as log_file:
            process = subprocess.Popen(command, cwd=work, env=_runner_environment(root), stdout=log_file,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        started, done = time.monotonic(), -1
        try:
            while process.poll() is None and time.monotonic() - started < timeout:
                time.sleep(0.5)
                seen = _count_outcomes(results)
                if progress and seen != done:
                    done = seen
                    progress(done, total)
        finally:
            finished = process.poll() is not None
            if not finished:
                _stop(process)
            if leftovers := _stop_leftovers(root):
                logger.warning("stopped %d process(es) left behind by a submission", leftovers)
            log = log_path.read_text(encoding="utf-8", errors="replace")
        outcomes, outputs = {}, {}
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                record_ = json.loads(line)
                if "outputs" in record_:
                    outputs[record_["cell"]] = record_["outputs"]
                else:
                    outcomes[record_["cell"]] = CellOutcome(record_["passed"], record_["reason"], record_["skipped"])
    if not outcomes and finished:
        raise GradingError(f"nbval ran no cell of the notebook; its output ends with:\n{log[-3000:]}")
    for cell in range(total):
        outcomes.setdefault(cell, CellOutcome(False, f"not run: the notebook ran past its {timeout:g} s limit"
                                              if not finished else "not run"))
    return Run(outcomes, outputs)


def _count_outcomes(results: Path) -> int:
    if not results.exists():
        return 0
    return sum('"outputs"' not in line for line in results.read_text(encoding="utf-8").splitlines())
