"""Grading submissions against the course's own notebooks (chapters 1-6).

``grade_submission`` takes a learner's notebook (a file, or the open notebook in Colab), keeps only
its ``# EXERCISE`` cells, puts them into the course's pristine learner notebook
(``toolkit.course.submission``) and runs that with nbval (``--nbval-lax``, the course's sanitize
file) in a separate process, at arm's length:

- the kernel runs in a sandbox (``toolkit.course.sandbox``): it cannot read the key, the solutions or
  the course, cannot write the results, imports a fresh read-only toolkit copy, and every process it
  starts dies with it. nbval, the comparison and the results stay in the grader's own process;
- every grading run (``Grading``) draws a check seed; check cells draw their inputs from it
  (``tk.check_seed()``), and the expected outputs at that seed come from running the instructor's
  solution once per chapter. Outputs are compared by value, with a tolerance;
- with a time limit per cell (``cell_timeout``) and for the whole notebook (``timeout``);
- a cell that hangs fails its exercise with "timed out after N s"; one that kills the kernel fails
  its exercise with "kernel died", and the notebook is run again without that exercise, so every
  other exercise is still graded on its own cells.

An exercise passes when its exercise and check cells run and every check prints the expected output.
A failing narrative cell is reported apart, as a problem of the environment. ``grade_class`` grades
a class, ``jobs`` submissions at a time.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from toolkit.course import notebooks, submission
from toolkit.course.checks import DEFAULT_SEED
from toolkit.course.runner import CellOutcome, run_notebook
from toolkit.errors import ArgumentError, GradingError, SubmissionError

logger = logging.getLogger(__name__)
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


@dataclass
class Grading:
    """One grading run's settings, shared by every submission it grades (chapters 1-6).

    ``seed`` is the check seed: drawn once per run unless given, so a learner cannot know the inputs
    the checks draw from it. Each chapter's expected outputs at that seed come from running the
    instructor's solution once, in the same sandbox (``expected_key``); with the stored seed
    (``DEFAULT_SEED``, what Colab self-checks use) the key's stored outputs are the expected ones.
    Time limits must be positive.
    """

    cell_timeout: float = CELL_TIMEOUT_S
    timeout: float = NOTEBOOK_TIMEOUT_S
    exercises_only: bool = False
    seed: int | None = None
    _keys: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "timeout"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ArgumentError(f"{name} must be a positive number of seconds, not {value!r}.")
        if self.seed is None:
            self.seed = secrets.randbelow(2**31 - 2) + 1
        elif not isinstance(self.seed, int) or self.seed < 0:
            raise ArgumentError(f"seed must be a non-negative integer, not {self.seed!r}.")

    def trim(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """``nb`` without its narrative sections when grading ``exercises_only``."""
        if self.exercises_only:
            skipped = set(notebooks.narrative_between(nb))
            nb.cells = [cell for index, cell in enumerate(nb.cells) if index not in skipped]
        return nb

    def expected_key(self, key_name: str) -> tuple[nbformat.NotebookNode, int]:
        """The chapter's key with its exercise checks' expected outputs at this run's seed, and the seed the
        kernel must see (the stored one where the chapter has no solution to run)."""
        with self._lock:
            if key_name not in self._keys:
                try:
                    self._keys[key_name] = self._expected_key(key_name)
                except GradingError as error:  # the solution failed: every submission of the run says so, at once
                    self._keys[key_name] = error
            found = self._keys[key_name]
        if isinstance(found, GradingError):
            raise found
        key, seed = found
        return copy.deepcopy(key), seed

    def _expected_key(self, key_name: str) -> tuple[nbformat.NotebookNode, int]:
        key = notebooks.read(submission.keys()[key_name])
        if self.seed == DEFAULT_SEED or key_name not in submission.solutions():
            if key_name not in submission.solutions():
                logger.info("no solution notebook for %s: its checks use the stored outputs (seed %d)", key_name,
                            DEFAULT_SEED)
            return key, DEFAULT_SEED
        expected = self.solution_outputs(key, key_name, self.seed)
        for cell in notebooks.code_cells(key):
            if (found := notebooks.CHECK.search(cell.source)) and found.group(1) in expected:
                cell.outputs = expected[found.group(1)]
        return key, self.seed

    def solution_outputs(self, key: nbformat.NotebookNode, key_name: str, seed: int
                         ) -> dict[str, list[nbformat.NotebookNode]]:
        """``{exercise id: its check cell's outputs}`` from running the instructor's solution in the key at
        ``seed`` (in the sandbox, like any submission). Raises ``GradingError`` if the solution fails."""
        solution = submission.solutions()[key_name]
        reference = self.trim(submission.assemble(key, notebooks.read(solution), solution.name))
        for cell in notebooks.code_cells(reference):
            if notebooks.CHECK.search(cell.source):
                cell.outputs, cell.execution_count = [], None  # nothing stored: nbval runs it without comparing
        run = run_notebook(reference, cell_timeout=self.cell_timeout, timeout=self.timeout, seed=seed, record=True)
        owned = {cell for ex in notebooks.exercises(reference) for cell in ex.cells}
        failed = [f"cell {cell}: {outcome.reason}" for cell, outcome in sorted(run.outcomes.items())
                  if cell in owned and not (outcome.passed or outcome.skipped)]
        if failed:
            raise GradingError(f"The solution of {key_name} fails at check seed {seed}, so nothing can be graded "
                               f"against it: {'; '.join(failed)}")
        code = notebooks.code_cells(reference)
        return {found.group(1): _expected_outputs(outputs) for cell, outputs in run.outputs.items()
                if (found := notebooks.CHECK.search(code[cell].source))}


def _expected_outputs(outputs: list[dict]) -> list[nbformat.NotebookNode]:
    """A check cell's outputs as the key stores them: its stdout in one stream, then its plain-text results."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    stored = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
    for output in outputs:
        if output.get("output_type") == "execute_result" and "text/plain" in output.get("data", {}):
            stored.append(nbformat.v4.new_output("execute_result", data={"text/plain": output["data"]["text/plain"]},
                                                 execution_count=output.get("execution_count") or 1))
    return stored


def grade_notebook(nb: nbformat.NotebookNode, name: str, chapter: str, *, cell_timeout: float = CELL_TIMEOUT_S,
                   timeout: float = NOTEBOOK_TIMEOUT_S, seed: int = DEFAULT_SEED,
                   progress: Callable[[int, int], None] | None = None) -> Verdict:
    """Grade an assembled notebook (the key with the learner's exercise cells) and build the verdict."""
    exercises = notebooks.exercises(nb)
    owner = {cell: ex.id for ex in exercises for cell in ex.cells}
    verdict = Verdict(name, chapter, {ex.id: ex.title for ex in exercises}, {ex.id: True for ex in exercises})
    stopped: dict[str, str] = {}
    while True:
        outcomes = run_notebook(nb, cell_timeout=cell_timeout, timeout=timeout, seed=seed, progress=progress).outcomes
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
                     exercises_only: bool = False, seed: int | None = None, grading: Grading | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Verdict:
    """Grade one submission against the course's key for its chapter (chapters 1-6).

    ``source`` is a notebook file or a notebook dict. A submission that cannot be graded (not a
    notebook, the wrong chapter, missing or duplicated exercise cells) gives a verdict with
    ``problem`` set; nothing raises. ``exercises_only=True`` skips the chapter's narrative sections
    and runs only its first cells and its Exercises section: a fast re-grade, valid because every
    exercise depends only on those (a test proves it for every chapter). ``grading`` (shared by a
    class) replaces the time limits, ``exercises_only`` and ``seed``; without it a check seed is drawn.
    Bad time limits raise ``ArgumentError``.
    """
    grading = grading or Grading(cell_timeout, timeout, exercises_only, seed)
    started = time.monotonic()
    name = "the open notebook" if isinstance(source, Mapping) else Path(source).name
    try:
        nb, name = submission.load(source)
        key_name = submission.identify(nb, name, chapter)
        submission.assemble(notebooks.read(submission.keys()[key_name]), nb, name)  # refuse before the key runs
    except SubmissionError as error:
        return Verdict(name, problem=str(error), seconds=time.monotonic() - started)
    key, key_seed = grading.expected_key(key_name)
    assembled = grading.trim(submission.assemble(key, nb, name))
    verdict = grade_notebook(assembled, name, key_name, cell_timeout=grading.cell_timeout, timeout=grading.timeout,
                             seed=key_seed, progress=progress)
    verdict.seconds = time.monotonic() - started
    return verdict


def grade_class(sources: Sequence[str | Path], *, chapter: str | None = None, cell_timeout: float = CELL_TIMEOUT_S,
                timeout: float = NOTEBOOK_TIMEOUT_S, exercises_only: bool = False, seed: int | None = None,
                jobs: int | None = None, on_verdict: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
    """Grade many submissions, ``jobs`` at a time (default: one per CPU core), each in its own sandbox and
    all at one check seed; a broken one never stops the others (chapters 1-6).

    ``on_verdict(index, verdict)`` is called as each finishes, for a progress line. Returns the verdicts in
    the order of ``sources``.
    """
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if not isinstance(jobs, int) or jobs < 1:
        raise ArgumentError(f"jobs must be a positive number of parallel gradings, not {jobs!r}.")
    grading = Grading(cell_timeout, timeout, exercises_only, seed)

    def one(source: str | Path) -> Verdict:
        try:
            return grade_submission(source, chapter=chapter, grading=grading)
        except Exception as error:  # one broken submission (or a grading crash on it) never stops the class
            return Verdict(Path(source).name, problem=f"grading failed: {type(error).__name__}: {error}")

    verdicts: list[Verdict | None] = [None] * len(sources)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each grading is a subprocess: threads only wait
        futures = {pool.submit(one, source): index for index, source in enumerate(sources)}
        for future in as_completed(futures):
            verdicts[futures[future]] = future.result()
            if on_verdict:
                on_verdict(futures[future], verdicts[futures[future]])
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
