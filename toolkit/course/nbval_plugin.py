"""pytest hooks for running and grading notebooks with nbval (chapters 1-6).

Loaded by the repository's ``conftest.py`` and by the grader (``toolkit.course.grading``):

- stderr is dropped from the comparison: TensorFlow and Keras log there, with machine-specific
  paths; images and HTML are dropped too (check cells print text verdicts);
- the sanitize file ``nbval_sanitize.cfg`` beside this module masks timings, rates, addresses
  and progress bars unless ``--nbval-sanitize-with`` names another;
- notebooks run in the current environment's Python, with a per-cell time limit;
- a kernel that dies (``os._exit``, a crash, running out of memory) fails its cell at once, instead
  of after the whole cell time limit;
- with ``TOOLKIT_GRADE_RESULTS`` set to a file, each cell's outcome is appended to it as a JSON line
  (``{"cell": n, "passed": bool, "reason": str}``) as soon as it is known, so a run that is stopped
  half-way still tells how far it got.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from queue import Empty

from toolkit.errors import KernelDiedError

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
NOT_COMPARED = ("stderr", "image/png", "image/jpeg", "image/svg+xml", "text/html")
CELL_TIMEOUT_S = 600
RESULTS_ENV = "TOOLKIT_GRADE_RESULTS"
KERNEL_DIED = "The kernel died while running this cell"
CELL = re.compile(r"::Cell (\d+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def pytest_configure(config):
    """Default to the course's sanitize file, this Python's kernel and the course's cell time limit."""
    option = config.option
    if hasattr(option, "nbval_sanitize_with") and option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(SANITIZE_FILE)
    if hasattr(option, "nbval_current_env") and not getattr(option, "nbval_kernel_name", None):
        option.nbval_current_env = True
    if getattr(option, "nbval_cell_timeout", None) in (None, 2000):
        option.nbval_cell_timeout = CELL_TIMEOUT_S
    _watch_for_kernel_death()


def _watch_for_kernel_death() -> None:
    """Make nbval's wait for a cell's reply notice a dead kernel within a second."""
    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # nbval not installed: nothing to patch
        return
    if getattr(RunningKernel.await_reply, "watches_kernel", False):
        return
    original = RunningKernel.await_reply

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            wait = 1.0 if deadline is None else max(min(1.0, deadline - time.monotonic()), 0.01)
            try:
                return original(self, msg_id, timeout=wait)
            except Empty:
                if not self.is_alive():
                    raise KernelDiedError(f"{KERNEL_DIED} (os._exit, exit(), a crash, or out of memory).") from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    await_reply.watches_kernel = True
    RunningKernel.await_reply = await_reply


def pytest_collectstart(collector):
    """Leave stderr, images and HTML out of every notebook's output comparison."""
    path = getattr(collector, "path", None)  # nbval still uses the legacy fspath; pytest gives both
    if path is not None and path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + NOT_COMPARED


def failure_reason(text: str) -> str:
    """A one-line reason for a failed cell, from nbval's report."""
    text = ANSI.sub("", text)
    if KERNEL_DIED in text:
        return "kernel died (os._exit, exit(), a crash or out of memory)"
    if "Kernel dead on test start" in text:
        return "not run: the kernel had died"
    if found := re.search(r"Timeout of (\d+(?:\.\d+)?) seconds exceeded", text):
        return f"timed out after {float(found.group(1)):g} s"
    if "Cell outputs differ" in text:
        return "output differs from the expected output" + _first_difference(text)
    errors = re.findall(r"^(\w*(?:Error|Exception|Exit|Interrupt|Iteration)\w*)\b:?\s*(.*)$", text, re.MULTILINE)
    if errors:
        name, message = errors[-1]
        return f"raised {name}" + (f": {message.strip()[:120]}" if message.strip() else "")
    return "failed"


def _first_difference(text: str) -> str:
    """": expected '...', got '...'" for the first line where the outputs differ, read off pytest's diff
    in nbval's report (``+`` marks a line of the expected output, ``-`` a line of the new one)."""
    diff = text.partition("reference_output == test_output failed:")[2]
    want, got = (re.search(rf"^  {mark} (.*)$", diff, re.MULTILINE) for mark in (r"\+", "-"))
    if not (want or got):
        return ""
    return f": expected {want.group(1)[:100] if want else ''!r}, got {got.group(1)[:100] if got else ''!r}"


def pytest_runtest_logreport(report):
    """Append each cell's outcome to the results file, when grading asked for one."""
    results = os.environ.get(RESULTS_ENV)
    found = CELL.search(report.nodeid)
    if not results or not found or (report.when != "call" and report.passed):
        return
    record = {"cell": int(found.group(1)), "passed": not report.failed, "skipped": report.skipped,
              "reason": failure_reason(str(report.longrepr)) if report.failed else ""}
    with open(results, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
