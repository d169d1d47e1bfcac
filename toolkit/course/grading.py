"""Grading submissions against the course's own notebooks (chapters 1-6).

``grade_submission`` puts a learner's ``# EXERCISE`` cells (a file, or the open notebook in Colab) into the
course's pristine learner notebook (``toolkit.course.submission``) and runs it with nbval in another process:

- the kernel runs in a sandbox (``toolkit.course.sandbox``): it cannot read the key, the solutions or the
  course, cannot write the results, and every process it starts dies with it;
- every grading run (``Grading``) draws a check seed; check cells draw their inputs from it, and the expected
  outputs at that seed come from running the instructor's solution once per chapter, compared by value with a
  tolerance. Time limits per cell and per notebook; ``jobs`` sandboxed runs at once;
- a cell that hangs or kills the kernel fails its exercise (a rerun confirms the culprit: a timer started by an
  earlier exercise is blamed on that one), and the notebook runs again without it to grade the others;
- a failing check is named by its exercise and first differing line ("check 3, line 2: expected ..., got
  ..."); when its output is what a known mistake (``toolkit.course.mistakes``) prints at the same seed, the
  verdict holds that mistake's diagnosis. An exercise cell that calls a name its chapter's ``FORBIDDEN``
  lists, or reaches into what grading relies on (``toolkit.course.tampering``), fails, read off the source.

An exercise passes when its cells run and every check prints the expected output. A failing narrative cell
is reported apart, as a problem of the environment. ``grade_class`` grades a class.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from toolkit.course import kernel_deaths, notebooks, submission, tampering
from toolkit.course import mistakes as known
from toolkit.course.checks import DEFAULT_SEED
from toolkit.course.kernel_deaths import NOT_RUN
from toolkit.course.nbval_plugin import AFTER_TIMEOUT, _stdout
from toolkit.course.runner import Run, run_notebook
from toolkit.course.verdicts import (
    POSITION,
    Verdict,
    cell_label,
    check_outputs,
    first_difference,
    matching_mistake,
    where,
)
from toolkit.errors import ArgumentError, GradingError, SubmissionError

logger = logging.getLogger(__name__)
CELL_TIMEOUT_S = 240
NOTEBOOK_TIMEOUT_S = 1800


def _content(nb: nbformat.NotebookNode, seed: int) -> str:
    """What a run depends on: every cell's kind and source, the expected outputs, and the seed."""
    cells = [[c.cell_type, c.source, [dict(o) for o in c.get("outputs", [])]] for c in nb.cells]
    return hashlib.sha256(json.dumps([cells, seed], sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Grading:
    """One grading run's settings, shared by every submission it grades (chapters 1-6).

    ``seed`` is the check seed: drawn once per run unless given, so a learner cannot know the inputs
    the checks draw from it. Each chapter's expected outputs at that seed come from running the
    instructor's solution once, in the same sandbox (``expected_key``); with the stored seed
    (``DEFAULT_SEED``, what Colab self-checks use) the key's stored outputs are the expected ones.
    ``jobs`` is how many sandboxed runs go at once, whoever asks for them (a class's submissions, the
    mistake rounds a diagnosis needs). Time limits must be positive.
    """

    cell_timeout: float = CELL_TIMEOUT_S
    timeout: float = NOTEBOOK_TIMEOUT_S
    exercises_only: bool = False
    seed: int | None = None
    _keys: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _runs: dict = field(default_factory=dict, repr=False)  # content -> _Slot: one run per distinct notebook
    _mistakes: dict = field(default_factory=dict, repr=False)  # chapter -> _Slot of its mistakes' check outputs
    runs_started: int = field(default=0, repr=False)  # sandboxed runs this grading paid for (the cache's misses)
    reuse_runs: bool = True  # False: every submission runs, even one identical to an earlier (repeat tests)
    jobs: int | None = None  # default: one per CPU core
    _running: threading.Semaphore = field(init=False, repr=False)  # at most ``jobs`` sandboxed runs at once

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "timeout"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ArgumentError(f"{name} must be a positive number of seconds, not {value!r}.")
        if self.jobs is None:
            self.jobs = os.cpu_count() or 1
        if not isinstance(self.jobs, int) or isinstance(self.jobs, bool) or self.jobs < 1:
            raise ArgumentError(f"jobs must be a positive number of parallel gradings, not {self.jobs!r}.")
        self._running = threading.Semaphore(self.jobs)
        if self.seed is None:
            self.seed = secrets.randbelow(2**31 - 2) + 1
        elif not isinstance(self.seed, int) or self.seed < 0:
            raise ArgumentError(f"seed must be a non-negative integer, not {self.seed!r}.")

    def trim(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """``nb`` without its narrative sections when grading ``exercises_only``."""
        for index, cell in enumerate(nb.cells):
            cell.metadata[POSITION] = index  # for the report: where the cell is in the learner's notebook
        if self.exercises_only:
            skipped = set(notebooks.narrative_between(nb))
            nb.cells = [cell for index, cell in enumerate(nb.cells) if index not in skipped]
        return nb

    def _once(self, table: dict, key: str, compute: Callable[[], object]) -> object:
        """``compute()`` once per ``key`` for this grading, however many threads ask; later calls wait for it."""
        with self._lock:
            slot = table.get(key)
            mine = slot is None
            if mine:
                slot = table[key] = _Slot()
        if mine:
            try:
                slot.value = compute()
            except BaseException as error:
                slot.error = error
                with self._lock:
                    table.pop(key, None)  # not cached: the next caller tries again
            finally:
                slot.done.set()
        else:
            slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.value

    def run(self, nb: nbformat.NotebookNode, seed: int, progress: Callable[[int, int], None] | None = None) -> Run:
        """Run ``nb`` in the sandbox at ``seed``, recording its check cells' outputs; a notebook with the same
        content (cells, expected outputs, seed) is run once per grading: a submission identical to a mistake
        round, or to another submission, reuses the run."""

        def compute() -> Run:
            with self._lock:
                self.runs_started += 1
            return self._sandboxed(nb, seed, progress)

        if not self.reuse_runs:
            return compute()
        return copy.deepcopy(self._once(self._runs, _content(nb, seed), compute))

    def _sandboxed(self, nb: nbformat.NotebookNode, seed: int,
                   progress: Callable[[int, int], None] | None = None) -> Run:
        """``run_notebook`` with this grading's limits, waiting its turn: ``jobs`` runs at once."""
        with self._running:
            return run_notebook(nb, cell_timeout=self.cell_timeout, timeout=self.timeout, seed=seed, record=True,
                                progress=progress)

    def mistake_outputs(self, key_name: str) -> dict[str, list[tuple[known.Mistake, list[str | None] | None]]]:
        """``{exercise: [(mistake, what its check cells print at this run's seed), ...]}`` in the order of
        ``toolkit.course.mistakes``: round k runs the solution with every exercise's k-th mistake in place, in
        the sandbox, like any submission. Computed once per grading and chapter, when first asked."""

        def compute():
            found = known.mistakes(key_name)
            if not found or key_name not in submission.solutions():
                return {}
            key, seed = self.expected_key(key_name)
            # Exercises only, whatever this grading runs: every exercise needs only the first cells (a test proves
            # it), and a mistake's check output is the same without the narrative. Every round at once, jobs running.
            solution, trimmed, rounds = (notebooks.read(submission.solutions()[key_name]),
                                         dataclasses.replace(self, exercises_only=True), known.rounds(key_name))
            assembled = [trimmed.trim(submission.assemble(key, known.substitute(copy.deepcopy(solution), answers),
                                                          f"mistake round {k}")) for k, answers in enumerate(rounds)]
            with ThreadPoolExecutor(max_workers=len(assembled) or 1) as pool:
                texts = [check_outputs(nb, run) for nb, run in zip(assembled, pool.map(
                    lambda nb: self.run(nb, seed), assembled))]
            return {exercise: [(mistake, texts[k].get(exercise)) for k, mistake in enumerate(mistakes)]
                    for exercise, mistakes in found.items()}

        return self._once(self._mistakes, key_name, compute)

    def expected_key(self, key_name: str) -> tuple[nbformat.NotebookNode, int]:
        """The chapter's key with its exercise checks' expected outputs at this run's seed, and the seed the
        kernel must see (the stored one where the chapter has no solution to run)."""
        def compute() -> tuple[nbformat.NotebookNode, int] | GradingError:
            try:
                return self._expected_key(key_name)
            except GradingError as error:  # the solution failed: every submission of the run says so, at once
                return error

        found = self._once(self._keys, key_name, compute)
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
        run = self._sandboxed(reference, seed)
        owned = {cell for ex in notebooks.exercises(reference) for cell in ex.cells}
        failed = [f"cell {cell}: {outcome.reason}" for cell, outcome in sorted(run.outcomes.items())
                  if cell in owned and not (outcome.passed or outcome.skipped)]
        if failed:
            raise GradingError(f"The solution of {key_name} fails at check seed {seed}, so nothing can be graded "
                               f"against it: {'; '.join(failed)}")
        code = notebooks.code_cells(reference)
        return {found.group(1): _expected_outputs(outputs) for cell, outputs in run.outputs.items()
                if (found := notebooks.CHECK.search(code[cell].source))}


@dataclass
class _Slot:
    """One cached result, being computed or done."""

    value: object = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


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
                   progress: Callable[[int, int], None] | None = None,
                   run: Callable[[nbformat.NotebookNode], Run] | None = None) -> Verdict:
    """Grade an assembled notebook (the key with the learner's exercise cells) and build the verdict.

    ``run(notebook)`` runs a notebook in the sandbox, recording its check outputs (default: a fresh
    ``run_notebook``; ``Grading.run`` shares runs). When the kernel dies in an exercise, the grader confirms
    the culprit before failing it: the suspect is run with every earlier exercise left out; if it then
    survives, an earlier exercise (a thread or a timer it started) stopped the kernel, and it is found by
    running each earlier one, nearest first, with the suspect alone.
    """
    run = run or (lambda notebook: run_notebook(notebook, cell_timeout=cell_timeout, timeout=timeout, seed=seed,
                                                record=True, progress=progress))
    exercises = notebooks.exercises(nb)
    owner = {cell: ex.id for ex in exercises for cell in ex.cells}
    verdict = Verdict(name, chapter, {ex.id: ex.title for ex in exercises}, {ex.id: True for ex in exercises})
    code = notebooks.code_cells(nb)
    expected = {cell: _stdout(code[cell].outputs) for cell in owner if notebooks.CHECK.search(code[cell].source)}
    stopped: dict[str, str] = {}
    while True:
        result = run(nb)
        outcomes = result.outcomes
        killer = kernel_deaths.killer(outcomes)
        if killer is None or killer not in owner or owner[killer] in stopped:
            break
        suspect = owner[killer]
        culprit, reason = kernel_deaths.culprit(nb, suspect, exercises, stopped, run, verdict.titles)
        stopped[culprit] = reason or f"{where(nb, killer, suspect)}: {outcomes[killer].reason or 'kernel died'}"
        # Fail it, and run again without it so the others are graded.
        for cell in notebooks.exercise_cells(nb)[culprit]:
            cell.source = f"# EXERCISE {culprit}: {verdict.titles[culprit]}\n{NOT_RUN}"
    differs: set[str] = set()
    for cell, outcome in sorted(outcomes.items()):
        if outcome.passed or outcome.skipped:
            continue
        if cell in owner:
            exercise = owner[cell]
            verdict.exercises[exercise] = False
            if exercise in stopped:
                continue
            place = where(nb, cell, exercise)
            got = _stdout(result.outputs[cell]) if cell in result.outputs else None
            if outcome.reason.startswith("output differs") and got is not None and expected.get(cell) is not None:
                differs.add(exercise)
                reason = f"{place}, {first_difference(got, expected[cell])}"
            else:
                reason = f"{place}: {outcome.reason}"
                if cell in expected and outcome.reason.startswith("raised "):
                    differs.add(exercise)  # a check that raised can match a known mistake that raises the same
            verdict.reasons.setdefault(exercise, reason)
        elif not outcome.reason.startswith(("not run: the kernel had died", AFTER_TIMEOUT)):
            verdict.environment.append(f"{cell_label(nb, cell)}: {outcome.reason}")
    for exercise, reason in stopped.items():
        verdict.exercises[exercise] = False
        verdict.reasons[exercise] = reason
    verdict._printed = check_outputs(nb, result)  # for the diagnoses; not part of the verdict's data
    verdict._differs = differs - set(stopped)
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
                             seed=key_seed, progress=progress, run=lambda notebook: grading.run(notebook, key_seed,
                                                                                               progress))
    banned, tampered = known.forbidden(key_name), set()
    for exercise, cells in notebooks.exercise_cells(nb).items():  # the learner's own cells, read, never run here
        source = "\n".join(c.source for c in cells)
        if reached := tampering.reaches(source):  # what it printed may be forged: never matched to a mistake
            verdict.exercises[exercise] = False
            verdict.reasons[exercise] = tampering.REASON.format(what=reached[0])
            tampered.add(exercise)
        elif exercise in banned and (calls := known.forbidden_calls(source, banned[exercise])):
            shown = known.written_as(source, calls[0])
            verdict.exercises[exercise] = False
            verdict.reasons[exercise] = f"the exercise cell calls {shown}, which this exercise asks you to do without"
            verdict.diagnoses[exercise] = known.FORBIDDEN_DIAGNOSIS.format(exercise=exercise, name=shown)
    if differing := [e for e in sorted(getattr(verdict, "_differs", set()) - tampered) if e not in verdict.diagnoses]:
        try:
            outputs = grading.mistake_outputs(key_name)
        except Exception as error:  # no diagnoses is still a grade
            logger.warning("the known mistakes of %s could not be run: %s", key_name, error)
            outputs = {}
        for exercise in differing:  # a mistake that calls a forbidden name is diagnosed by the call, never here
            candidates = [(m, texts) for m, texts in outputs.get(exercise, ())
                          if not known.called_by(m, banned.get(exercise, ()))]
            if found := matching_mistake(verdict._printed.get(exercise), candidates):
                verdict.diagnoses[exercise] = found.diagnosis
    verdict.seconds = time.monotonic() - started
    return verdict


def grade_class(sources: Sequence[str | Path], *, chapter: str | None = None, cell_timeout: float = CELL_TIMEOUT_S,
                timeout: float = NOTEBOOK_TIMEOUT_S, exercises_only: bool = False, seed: int | None = None,
                jobs: int | None = None, on_verdict: Callable[[int, Verdict], None] | None = None,
                grading: Grading | None = None) -> list[Verdict]:
    """Grade many submissions, ``jobs`` at a time (default: one per CPU core), each in its own sandbox and
    all at one check seed; a broken one never stops the others (chapters 1-6).

    ``on_verdict(index, verdict)`` is called as each finishes, for a progress line. Returns the verdicts in
    the order of ``sources``. ``grading`` (one shared run, its seed, solution and mistake runs) replaces the
    time limits, ``exercises_only``, ``seed`` and ``jobs``.
    """
    if grading is None:
        grading = Grading(cell_timeout, timeout, exercises_only, seed, jobs=jobs)
    elif jobs is not None:
        raise ArgumentError("give jobs to the Grading (Grading(jobs=...)), not beside it.")
    jobs = grading.jobs

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
