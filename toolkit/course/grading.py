"""Grading submissions against the course's own notebooks (chapters 1-6).

``grade_submission`` takes a learner's notebook (a file, or the open notebook in Colab), keeps only
its ``# EXERCISE`` cells, puts them into the course's pristine learner notebook
(``toolkit.course.submission``) and runs that with nbval (``--nbval-lax``, the course's sanitize
file) in a separate process, at arm's length:

- in a fresh temporary folder holding a private copy of the toolkit and its data, so learner code
  that writes to files can only touch the copies, never the course;
- with a time limit per cell (``cell_timeout``) and for the whole notebook (``timeout``);
- a cell that hangs fails its exercise with "timed out after N s"; one that kills the kernel fails
  its exercise with "kernel died", and the notebook is run again without that exercise, so every
  other exercise is still graded on its own cells.

An exercise passes when its exercise and check cells run and every check prints exactly the stored
output. A failing narrative cell is reported apart, as a problem of the environment.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from toolkit.course import notebooks, submission
from toolkit.course.nbval_plugin import RESULTS_ENV
from toolkit.errors import GradingError, SubmissionError

CELL_TIMEOUT_S = 240
NOTEBOOK_TIMEOUT_S = 1800
NOT_RUN = 'raise RuntimeError("not run: this exercise stopped the kernel in an earlier run")'


@dataclass
class Verdict:
    """The grade of one submission: a pass or fail per exercise, with reasons (chapters 1-6).

    ``problem`` is set when the submission could not be graded at all (not a notebook, the wrong
    chapter, a missing exercise cell); ``environment`` lists the chapter's own cells that failed.
    """

    submission: str
    chapter: str | None = None
    titles: dict[str, str] = field(default_factory=dict)
    exercises: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    environment: list[str] = field(default_factory=list)
    problem: str | None = None
    seconds: float = 0.0

    @property
    def score(self) -> int:
        """Exercises passed."""
        return sum(self.exercises.values())

    @property
    def passed(self) -> bool:
        """Graded, every exercise passed and every cell of the chapter ran."""
        return self.problem is None and bool(self.exercises) and all(self.exercises.values()) and not self.environment

    def report(self) -> str:
        """The verdict as text, one line per exercise."""
        lines = [f"{self.submission}" + (f" (chapter {self.chapter})" if self.chapter else "")]
        if self.problem:
            return "\n".join([*lines, f"  NOT GRADED: {self.problem}"])
        for key, ok in self.exercises.items():
            why = f"  ({self.reasons[key]})" if key in self.reasons else ""
            lines.append(f"  Exercise {key:<3} {self.titles.get(key, '')[:48]:<48} {'PASS' if ok else 'FAIL'}{why}")
        lines.append(f"  {self.score} of {len(self.exercises)} exercises passed")
        if self.environment:
            lines.append("  The chapter's own cells failed. This is a problem of the environment, not of your "
                         "exercises (check the TensorFlow/Keras versions, or rerun):")
            lines += [f"    {problem}" for problem in self.environment]
        return "\n".join(lines)


@dataclass
class CellOutcome:
    """One code cell's result in a run."""

    passed: bool
    reason: str = ""
    skipped: bool = False


def _sandbox(root: Path) -> dict[str, str]:
    """Copy the toolkit and its data into ``root``; the environment that makes the kernel use the copies."""
    import toolkit
    from toolkit.data import data_dir

    package = Path(toolkit.__file__).resolve().parent
    shutil.copytree(package, root / "course" / "toolkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(data_dir(), root / "course" / "data", ignore=shutil.ignore_patterns("*.py"))
    (root / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
    path = [str(root / "course"), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "TOOLKIT_DATA_DIR": str(root / "course" / "data"),
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


def run_notebook(nb: nbformat.NotebookNode, *, cell_timeout: float, timeout: float,
                 progress: Callable[[int, int], None] | None = None) -> dict[int, CellOutcome]:
    """Run ``nb`` with nbval in a sandbox process; returns each code cell's outcome by nbval cell index.

    Cells never reached (the whole-notebook ``timeout`` ran out) get a failed outcome saying so.
    ``progress(cells_done, cells_total)`` is called as cells finish.
    """
    total = len(notebooks.code_cells(nb))
    with tempfile.TemporaryDirectory(prefix="toolkit-grade-") as folder:
        root = Path(folder)
        env = _sandbox(root)
        work = root / "work"
        work.mkdir()
        path = work / "submission.ipynb"
        nbformat.write(nb, str(path))
        results = root / "results.jsonl"
        env[RESULTS_ENV] = str(results)
        # -v: pytest's output diffs show whole lines, for the reasons; the log goes to a file, since a
        # pipe nobody reads until the end would block a run that prints more than the pipe holds.
        command = [sys.executable, "-m", "pytest", "-c", str(root / "pytest.ini"), "--rootdir", str(root), "-v",
                   "-p", "no:cacheprovider", "-p", "toolkit.course.nbval_plugin", "--nbval-lax",
                   "--nbval-cell-timeout", str(cell_timeout), "-W", "ignore::DeprecationWarning", str(path)]
        log_path = root / "pytest.log"
        with open(log_path, "w", encoding="utf-8") as log_file:
            process = subprocess.Popen(command, cwd=work, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        started, done = time.monotonic(), -1
        try:
            while process.poll() is None and time.monotonic() - started < timeout:
                time.sleep(0.5)
                seen = results.read_text().count("\n") if results.exists() else 0
                if progress and seen != done:
                    done = seen
                    progress(done, total)
        finally:
            finished = process.poll() is not None
            if not finished:
                _stop(process)
            log = log_path.read_text(encoding="utf-8", errors="replace")
        outcomes = {}
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                outcomes[record["cell"]] = CellOutcome(record["passed"], record["reason"], record["skipped"])
    if not outcomes and finished:
        raise GradingError(f"nbval ran no cell of the notebook; its output ends with:\n{log[-3000:]}")
    for cell in range(total):
        outcomes.setdefault(cell, CellOutcome(False, f"not run: the notebook ran past its {timeout:g} s limit"
                                              if not finished else "not run"))
    return outcomes


def _cell_label(nb: nbformat.NotebookNode, cell: int) -> str:
    section = notebooks.section_of_cells(nb)[cell]
    first = notebooks.code_cells(nb)[cell].source.strip().splitlines()[:1] or [""]
    return f"cell {cell}" + (f" in \"{section}\"" if section else "") + f" ({first[0][:50]})"


def _killer(outcomes: dict[int, CellOutcome]) -> int | None:
    """The cell that stopped the kernel, if one did: the cell that died, or else the one run just before
    the first cell that found the kernel dead (``exit()``, or a hang that no interrupt could stop)."""
    for cell in sorted(outcomes):
        reason = outcomes[cell].reason
        if reason.startswith("kernel died"):
            return cell
        if reason == "not run: the kernel had died":
            earlier = [c for c in sorted(outcomes) if c < cell and not outcomes[c].skipped]
            return earlier[-1] if earlier else None
    return None


def grade_notebook(nb: nbformat.NotebookNode, name: str, chapter: str, *, cell_timeout: float = CELL_TIMEOUT_S,
                   timeout: float = NOTEBOOK_TIMEOUT_S, progress: Callable[[int, int], None] | None = None
                   ) -> Verdict:
    """Grade an assembled notebook (the key with the learner's exercise cells) and build the verdict."""
    exercises = notebooks.exercises(nb)
    owner = {cell: ex.id for ex in exercises for cell in ex.cells}
    verdict = Verdict(name, chapter, {ex.id: ex.title for ex in exercises}, {ex.id: True for ex in exercises})
    stopped: dict[str, str] = {}
    while True:
        outcomes = run_notebook(nb, cell_timeout=cell_timeout, timeout=timeout, progress=progress)
        killer = _killer(outcomes)
        if killer is None or killer not in owner or owner[killer] in stopped:
            break
        # The exercise stopped the kernel: fail it, and run again without it so the others are graded.
        stopped[owner[killer]] = f"cell {killer}: {outcomes[killer].reason or 'kernel died'}"
        for cell in notebooks.exercise_cells(nb)[owner[killer]]:
            cell.source = f"# EXERCISE {owner[killer]}: {verdict.titles[owner[killer]]}\n{NOT_RUN}"
    for cell, outcome in sorted(outcomes.items()):
        if outcome.passed or outcome.skipped:
            continue
        if cell in owner:
            verdict.exercises[owner[cell]] = False
            verdict.reasons.setdefault(owner[cell], stopped.get(owner[cell], f"cell {cell}: {outcome.reason}"))
        elif not outcome.reason.startswith("not run: the kernel had died"):
            verdict.environment.append(f"{_cell_label(nb, cell)}: {outcome.reason}")
    for exercise, reason in stopped.items():
        verdict.exercises[exercise] = False
        verdict.reasons[exercise] = reason
    return verdict


def grade_submission(source: str | Path | Mapping, *, chapter: str | None = None,
                     cell_timeout: float = CELL_TIMEOUT_S, timeout: float = NOTEBOOK_TIMEOUT_S,
                     exercises_only: bool = False, progress: Callable[[int, int], None] | None = None) -> Verdict:
    """Grade one submission against the course's key for its chapter (chapters 1-6).

    ``source`` is a notebook file or a notebook dict. A submission that cannot be graded (not a
    notebook, the wrong chapter, missing or duplicated exercise cells) gives a verdict with
    ``problem`` set; nothing raises. ``exercises_only=True`` skips the chapter's narrative sections
    and runs only its first cells and its Exercises section: a fast re-grade, valid because every
    exercise depends only on those (a test proves it for every chapter).
    """
    started = time.monotonic()
    name = "the open notebook" if isinstance(source, Mapping) else Path(source).name
    try:
        nb, name = submission.load(source)
        key_name = submission.identify(nb, name, chapter)
        key = notebooks.read(submission.keys()[key_name])
        assembled = submission.assemble(key, nb, name)
    except SubmissionError as error:
        return Verdict(name, problem=str(error), seconds=time.monotonic() - started)
    if exercises_only:
        skipped = set(notebooks.narrative_between(assembled))
        assembled.cells = [cell for index, cell in enumerate(assembled.cells) if index not in skipped]
    verdict = grade_notebook(assembled, name, key_name, cell_timeout=cell_timeout, timeout=timeout,
                             progress=progress)
    verdict.seconds = time.monotonic() - started
    return verdict


def grade_class(sources: Sequence[str | Path], *, chapter: str | None = None, cell_timeout: float = CELL_TIMEOUT_S,
                timeout: float = NOTEBOOK_TIMEOUT_S, exercises_only: bool = False,
                on_verdict: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
    """Grade many submissions one after another; a broken one never stops the others (chapters 1-6).

    ``on_verdict(index, verdict)`` is called after each, for a progress line.
    """
    verdicts = []
    for index, source in enumerate(sources):
        try:
            verdict = grade_submission(source, chapter=chapter, cell_timeout=cell_timeout, timeout=timeout,
                                       exercises_only=exercises_only)
        except Exception as error:  # one broken submission (or a grading crash on it) never stops the class
            verdict = Verdict(Path(source).name, problem=f"grading failed: {type(error).__name__}: {error}")
        verdicts.append(verdict)
        if on_verdict:
            on_verdict(index, verdict)
    return verdicts


def write_gradebook(verdicts: Sequence[Verdict], path: str | Path) -> tuple[Path, Path]:
    """Write the gradebook CSV (one row per submission, 1/0 per exercise, a total) and, beside it, a
    JSON file with every verdict's reasons. Returns both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    exercises: list[str] = []
    for verdict in verdicts:
        exercises += [key for key in verdict.exercises if key not in exercises]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["submission", "chapter", *[f"exercise {key}" for key in exercises], "total", "graded"])
        for verdict in verdicts:
            writer.writerow([verdict.submission, verdict.chapter or "",
                             *[int(verdict.exercises.get(key, False)) for key in exercises], verdict.score,
                             "no: " + verdict.problem if verdict.problem else "yes"])
    details = path.with_suffix(".json")
    details.write_text(json.dumps([{**asdict(v), "score": v.score} for v in verdicts], indent=2,
                                  ensure_ascii=False), encoding="utf-8")
    return path, details
