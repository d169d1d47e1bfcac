"""pytest hooks for running and grading notebooks with nbval (chapters 1-6).

Loaded by the repository's ``conftest.py`` and by the grader (``toolkit.course.grading``):

- stderr is dropped from the comparison: TensorFlow and Keras log there, with machine-specific
  paths; images and HTML are dropped too (check cells print text verdicts);
- the sanitize file ``nbval_sanitize.cfg`` beside this module masks timings, rates, addresses
  and progress bars unless ``--nbval-sanitize-with`` names another;
- notebooks run in the current environment's Python, with a per-cell time limit;
- a kernel that dies (``os._exit``, a crash, running out of memory) fails its cell at once, instead
  of after the whole cell time limit;
- outputs are compared by value: numbers with a tolerance (``close``), NumPy scalars by the number
  they hold (``np.int64(3)`` is ``3``), everything else as text; a check cell's ``\\r`` and ``\\b``
  are text, never allowed to erase what it printed before them;
- with ``--toolkit-results FILE`` (an option, never an environment variable, so the kernel does not
  inherit it), each cell's outcome is appended to FILE as a JSON line
  (``{"cell": n, "passed": bool, "reason": str}``) as soon as it is known, so a run that is stopped
  half-way still tells how far it got;
- with ``--toolkit-kernel FILE`` (JSON: ``{"argv": [...], "env": {...}}``), the kernel is started by
  that command instead (the grader's sandbox, ``toolkit.course.sandbox``).
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from pathlib import Path
from queue import Empty

from toolkit.errors import KernelDiedError

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
NOT_COMPARED = ("stderr", "image/png", "image/jpeg", "image/svg+xml", "text/html")
CELL_TIMEOUT_S = 600
RESULTS_OPTION = "--toolkit-results"
KERNEL_OPTION = "--toolkit-kernel"
RECORD_OPTION = "--toolkit-record"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
KERNEL_DIED = "The kernel died while running this cell"
AFTER_TIMEOUT = "not run: an earlier cell timed out"
CELL = re.compile(r"::Cell (\d+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NUMPY_SCALAR = re.compile(r"\bnp\.(?:u?int|float|bool_?)\d*\(([^()]*)\)")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
ABS_TOLERANCE, REL_TOLERANCE = 1.5e-4, 1e-4  # one unit in the 4th decimal, the precision checks print


def pytest_addoption(parser):
    """The grader's options: where results go, and how to start the kernel."""
    group = parser.getgroup("toolkit grading")
    group.addoption(RESULTS_OPTION, default=None, help="append each cell's outcome to this JSON-lines file")
    group.addoption(RECORD_OPTION, action="store_true", help="also record the check cells' outputs")
    group.addoption(KERNEL_OPTION, default=None, help="JSON file with the command that starts the kernel")


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
    _compare_by_value()
    _check_cells_show_control_characters()
    if getattr(option, "toolkit_results", None):
        config.pluginmanager.register(ResultsWriter(option.toolkit_results, option.toolkit_record),
                                      "toolkit-results")
    if getattr(option, "toolkit_kernel", None):
        _start_kernels_with(json.loads(Path(option.toolkit_kernel).read_text(encoding="utf-8")))


def _start_kernels_with(spec: dict) -> None:
    """Make nbval start its kernel with ``spec["argv"]`` (a sandbox) and interrupt it by message (a signal
    to the sandbox's launcher would not reach the kernel inside)."""
    from nbval.kernel import NbvalKernelspecManager

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(argv=spec["argv"], env=spec.get("env", {}), display_name="sandbox",
                                      language="python", interrupt_mode="message", resource_dir="")

    NbvalKernelspecManager.get_kernel_spec = get_kernel_spec


def canonical(text: str) -> str:
    """Text with NumPy scalar reprs replaced by the numbers they hold.

    >>> canonical("[('learn', np.int64(3)), np.float64(0.25)]")
    "[('learn', 3), 0.25]"
    """
    return NUMPY_SCALAR.sub(r"\1", text)


def close(got: str, want: str) -> bool:
    """Whether two outputs agree by value: the same text between the numbers, integers equal, and every
    other number within ``ABS_TOLERANCE`` + ``REL_TOLERANCE`` of the expected one.

    >>> close("loss 0.73341 after 3 steps", "loss 0.7333 after 3 steps"), close("3 steps", "4 steps")
    (True, False)
    """
    got, want = canonical(got), canonical(want)
    if NUMBER.split(got) != NUMBER.split(want):
        return False
    for mine, theirs in zip(NUMBER.findall(got), NUMBER.findall(want)):
        exact = not any(mark in mine + theirs for mark in ".eE")
        if exact and int(mine) != int(theirs):
            return False
        if not exact and abs(float(mine) - float(theirs)) > ABS_TOLERANCE + REL_TOLERANCE * abs(float(theirs)):
            return False
    return True


def _compare_by_value() -> None:
    """Let nbval accept text outputs that differ only within ``close``'s tolerance."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    if getattr(IPyNbCell.compare_outputs, "by_value", False):
        return
    original = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        if original(self, test, ref, skip_compare):
            return True
        texts = [_stdout(outputs) for outputs in (test, ref)]
        if None not in texts and close(*texts):
            self.comparison_traceback = []
            return True
        return False

    compare_outputs.by_value = True
    IPyNbCell.compare_outputs = compare_outputs


_IN_A_CHECK_CELL = contextvars.ContextVar("in_a_check_cell", default=False)


def _check_cells_show_control_characters() -> None:
    """A check cell's carriage returns and backspaces are compared as the text ``\\r`` and ``\\b``: nbval
    otherwise lets them erase what came before on the line, so a learner's object whose name holds
    ``"\\r"`` + a right line would print just that line. (Narrative cells keep nbval's handling: progress
    bars.)"""
    try:
        from nbval import plugin
    except ImportError:
        return
    if getattr(plugin.coalesce_streams, "shows_control_characters", False):
        return
    coalesce, runtest = plugin.coalesce_streams, plugin.IPyNbCell.runtest

    def coalesce_streams(outputs):
        if _IN_A_CHECK_CELL.get():
            for output in outputs or ():
                if output.get("output_type") == "stream":
                    output["text"] = output.get("text", "").replace("\r", "\\r").replace("\b", "\\b")
        return coalesce(outputs)

    def run_cell(self):
        token = _IN_A_CHECK_CELL.set(CHECK_MARK in getattr(self.cell, "source", ""))
        try:
            return runtest(self)
        finally:
            _IN_A_CHECK_CELL.reset(token)

    coalesce_streams.shows_control_characters = True
    plugin.coalesce_streams, plugin.IPyNbCell.runtest = coalesce_streams, run_cell


def _stdout(outputs) -> str | None:
    """All stdout and plain-text results of a cell, joined; ``None`` if it shows anything else."""
    parts = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") == "stdout":
                parts.append(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = {k: v for k, v in output.get("data", {}).items() if k not in NOT_COMPARED}
            if set(data) - {"text/plain"}:
                return None
            parts.append(data.get("text/plain", "") + "\n")
        elif kind == "error":
            return None
    return "".join(parts)


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
    errors = list(re.finditer(r"^(\w*(?:Error|Exception|Exit|Interrupt|Iteration)\w*)\b:?\s*(.*)$", text, re.MULTILINE))
    if not errors:
        return "failed"
    name, message = errors[-1].group(1), errors[-1].group(2).strip()
    after = text[errors[-1].end():]
    if message.endswith(":"):  # TensorFlow's "TypeError: in user code:": the error itself is its last indented line
        inner = re.findall(r"^\s+(\w*(?:Error|Exception)\w*): (.+)$", after, re.MULTILINE)
        if inner:
            name, message = inner[-1][0], inner[-1][1].strip()
    elif message.startswith("Exception encountered when calling"):  # Keras: the error is the next line of text
        message = next((line.strip() for line in after.splitlines() if line.strip()), message)
    return f"raised {name}" + (f": {message[:200]}" if message else "")


def _first_difference(text: str) -> str:
    """": expected '...', got '...'" for the first line where the outputs differ, read off pytest's diff
    in nbval's report (``+`` marks a line of the expected output, ``-`` a line of the new one)."""
    diff = text.partition("reference_output == test_output failed:")[2]
    want, got = (re.search(rf"^  {mark} (.*)$", diff, re.MULTILINE) for mark in (r"\+", "-"))
    if not (want or got):
        return ""
    return f": expected {want.group(1)[:100] if want else ''!r}, got {got.group(1)[:100] if got else ''!r}"


class ResultsWriter:
    """Appends each cell's outcome to the results file (``--toolkit-results``) and, with ``record``, each
    check cell's outputs too (``{"cell": n, "outputs": [...]}``: the instructor's run gives the expected ones)."""

    def __init__(self, path: str, record: bool = False):
        self.path, self.record = path, record

    def pytest_runtest_teardown(self, item):
        """Record what a check cell printed (only data: the messages the kernel sent)."""
        outputs = getattr(item, "test_outputs", None)
        if self.record and outputs is not None and CHECK_MARK in getattr(item.cell, "source", ""):
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"cell": item.cell_num, "outputs": [dict(o) for o in outputs]}) + "\n")

    def pytest_runtest_logreport(self, report):
        """One JSON line per cell: its index, whether it passed or was skipped, and the reason."""
        found = CELL.search(report.nodeid)
        if not found or (report.when != "call" and report.passed):
            return
        record = {"cell": int(found.group(1)), "passed": not report.failed, "skipped": report.skipped,
                  "reason": failure_reason(str(report.longrepr)) if report.failed else ""}
        if "timed out" in str(getattr(report, "wasxfail", "")):
            # nbval marks every cell after a timeout "expected to fail": its verdict says nothing; it is not run
            record.update(passed=False, skipped=False, reason=AFTER_TIMEOUT)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
