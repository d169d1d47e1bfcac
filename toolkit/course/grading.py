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
  its exercise with "kernel died" (after a rerun confirms the culprit: a timer started by an earlier
  exercise is blamed on that one), and the notebook is run again without that exercise, so every
  other exercise is still graded on its own cells;
- a failing check is named by its exercise and first differing line ("check 3, line 2: expected ...,
  got ..."); when its output is what a known mistake (``toolkit.course.mistakes``) prints at the same
  seed, the verdict holds that mistake's diagnosis. An exercise cell that calls a name its chapter's
  ``FORBIDDEN`` lists fails, read off the source outside the kernel.

An exercise passes when its exercise and check cells run and every check prints the expected output.
A failing narrative cell is reported apart, as a problem of the environment. ``grade_class`` grades
a class, ``jobs`` submissions at a time.
"""

from __future__ import annotations

import copy
import csv
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from toolkit.course import mistakes as known
from toolkit.course import notebooks, submission
from toolkit.course.checks import DEFAULT_SEED
from toolkit.course.nbval_plugin import _stdout, close
from toolkit.course.runner import CellOutcome, Run, run_notebook
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
    diagnoses: dict[str, str] = field(default_factory=dict)  # exercise -> the known mistake its check output shows
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
            if key in self.diagnoses:
                lines.append(f"      Looks like a known mistake: {self.diagnoses[key]}")
        lines.append(f"  {self.score} of {len(self.exercises)} exercises passed")
        if self.environment:
            lines.append("  The chapter's own cells failed. This is a problem of the environment, not of your "
                         "exercises (check the TensorFlow/Keras versions, or rerun):")
            lines += [f"    {problem}" for problem in self.environment]
        return "\n".join(lines)


POSITION = "toolkit_position"  # a cell's position in the whole key (all cells), kept through trimming


def _cell_label(nb: nbformat.NotebookNode, cell: int) -> str:
    """A narrative cell as a learner finds it: its first line, its section and its place among all cells."""
    section = notebooks.section_of_cells(nb)[cell]
    code = notebooks.code_cells(nb)[cell]
    first = code.source.strip().splitlines()[:1] or [""]
    position = code.metadata.get(POSITION, nb.cells.index(code)) + 1
    return (f"the cell that starts {first[0][:50]!r}" + (f" in section \"{section}\"" if section else "")
            + f" (cell {position} of the notebook, counting text cells)")


def _where(nb: nbformat.NotebookNode, cell: int, exercise: str) -> str:
    """"the exercise cell" or "check N" (with its place when the exercise has several of either)."""
    code = notebooks.code_cells(nb)
    mine = [c for c in notebooks.exercises(nb) if c.id == exercise][0].cells
    checks = [c for c in mine if notebooks.CHECK.search(code[c].source)]
    if cell in checks:
        return f"check {exercise}" + (f" (cell {checks.index(cell) + 1} of {len(checks)})" if len(checks) > 1 else "")
    cells = [c for c in mine if c not in checks]
    return "the exercise cell" + (f" ({cells.index(cell) + 1} of {len(cells)})" if len(cells) > 1 else "")


def first_difference(got: str, want: str) -> str:
    """"line N: expected '...', got '...'" for the first line where two check outputs differ by value.

    >>> first_difference("a 1\\nb 2\\n", "a 1\\nb 3\\n")
    "line 2: expected 'b 3', got 'b 2'"
    """
    mine, theirs = got.splitlines(), want.splitlines()
    for line in range(max(len(mine), len(theirs))):
        a = mine[line] if line < len(mine) else None
        b = theirs[line] if line < len(theirs) else None
        if a is None or b is None or not close(a, b):
            shown = (lambda text: "(nothing)" if text is None else repr(text[:100]))
            return f"line {line + 1}: expected {shown(b)}, got {shown(a)}"
    return "the outputs differ"


def _content(nb: nbformat.NotebookNode, seed: int) -> str:
    """What a run depends on: every cell's kind and source, the expected outputs, and the seed."""
    cells = [[c.cell_type, c.source, [dict(o) for o in c.get("outputs", [])]] for c in nb.cells]
    return hashlib.sha256(json.dumps([cells, seed], sort_keys=True, default=str).encode()).hexdigest()


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
    _runs: dict = field(default_factory=dict, repr=False)  # content -> _Slot: one run per distinct notebook
    _mistakes: dict = field(default_factory=dict, repr=False)  # chapter -> _Slot of its mistakes' check outputs
    runs_started: int = field(default=0, repr=False)  # sandboxed runs this grading paid for (the cache's misses)
    reuse_runs: bool = True  # False: every submission runs, even one identical to an earlier (repeat tests)

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
            return run_notebook(nb, cell_timeout=self.cell_timeout, timeout=self.timeout, seed=seed, record=True,
                                progress=progress)

        if not self.reuse_runs:
            return compute()
        return copy.deepcopy(self._once(self._runs, _content(nb, seed), compute))

    def mistake_outputs(self, key_name: str) -> dict[str, list[tuple[known.Mistake, list[str | None] | None]]]:
        """``{exercise: [(mistake, what its check cells print at this run's seed), ...]}`` in the order of
        ``toolkit.course.mistakes``: round k runs the solution with every exercise's k-th mistake in place, in
        the sandbox, like any submission. Computed once per grading and chapter, when first asked."""

        def compute():
            found = known.mistakes(key_name)
            if not found or key_name not in submission.solutions():
                return {}
            key, seed = self.expected_key(key_name)
            result: dict[str, list] = {exercise: [] for exercise in found}
            for k, answers in enumerate(known.rounds(key_name)):
                answered = known.substitute(notebooks.read(submission.solutions()[key_name]), answers)
                # exercises only, whatever this grading runs: every exercise needs only the first cells (a test
                # proves it), and a mistake's check output is the same without the narrative
                assembled = dataclasses.replace(self, exercises_only=True).trim(
                    submission.assemble(key, answered, f"mistake round {k}"))
                texts = check_outputs(assembled, self.run(assembled, seed))
                for exercise in answers:
                    result[exercise].append((found[exercise][k], texts.get(exercise)))
            return result

        return self._once(self._mistakes, key_name, compute)

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


@dataclass
class _Slot:
    """One cached result, being computed or done."""

    value: object = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def check_outputs(nb: nbformat.NotebookNode, run: Run) -> dict[str, list[str | None]]:
    """``{exercise: [what each of its check cells printed in ``run`` (None: nothing recorded)]}``."""
    code = notebooks.code_cells(nb)

    def printed(cell: int) -> str | None:
        outcome = run.outcomes.get(cell)
        if outcome is not None and not outcome.passed and outcome.reason.startswith("raised "):
            return f"({outcome.reason})"  # a check that raised: the error is what it shows
        return _stdout(run.outputs[cell]) if cell in run.outputs else None

    return {ex.id: [printed(c) for c in ex.cells if notebooks.CHECK.search(code[c].source)]
            for ex in notebooks.exercises(nb)}


def matching_mistake(printed: list[str | None] | None,
                     candidates: Sequence[tuple[known.Mistake, list[str | None] | None]]) -> known.Mistake | None:
    """The first mistake whose check outputs all agree with ``printed`` by value (``close``), or ``None``.

    >>> m = known.Mistake("Off by one.", "")
    >>> matching_mistake(["loss 0.25001\\n"], [(m, ["loss 0.25\\n"])]).diagnosis
    'Off by one.'
    >>> matching_mistake(["loss 0.3\\n"], [(m, ["loss 0.25\\n"])]) is None
    True
    """
    if not printed or None in printed:
        return None
    for mistake, texts in candidates:
        if texts and len(texts) == len(printed) and None not in texts and all(map(close, printed, texts)):
            return mistake
    return None


def _disabled(nb: nbformat.NotebookNode, keep: set[str], titles: Mapping[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which every exercise cell not in ``keep`` raises instead of running."""
    trial = copy.deepcopy(nb)
    for exercise, cells in notebooks.exercise_cells(trial).items():
        if exercise not in keep:
            for cell in cells:
                cell.source = f"# EXERCISE {exercise}: {titles[exercise]}\n{NOT_RUN}"
    return trial


def _dies(run: Run, cells: Sequence[int]) -> bool:
    killer = _killer(run.outcomes)
    return killer is not None and killer in cells


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
        killer = _killer(outcomes)
        if killer is None or killer not in owner or owner[killer] in stopped:
            break
        suspect = owner[killer]
        culprit, reason = _culprit(nb, suspect, exercises, stopped, run, verdict.titles)
        stopped[culprit] = reason or f"{_where(nb, killer, suspect)}: {outcomes[killer].reason or 'kernel died'}"
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
            where = _where(nb, cell, exercise)
            got = _stdout(result.outputs[cell]) if cell in result.outputs else None
            if outcome.reason.startswith("output differs") and got is not None and expected.get(cell) is not None:
                differs.add(exercise)
                reason = f"{where}, {first_difference(got, expected[cell])}"
            else:
                reason = f"{where}: {outcome.reason}"
                if cell in expected and outcome.reason.startswith("raised "):
                    differs.add(exercise)  # a check that raised can match a known mistake that raises the same
            verdict.reasons.setdefault(exercise, reason)
        elif not outcome.reason.startswith("not run: the kernel had died"):
            verdict.environment.append(f"{_cell_label(nb, cell)}: {outcome.reason}")
    for exercise, reason in stopped.items():
        verdict.exercises[exercise] = False
        verdict.reasons[exercise] = reason
    verdict._printed = check_outputs(nb, result)  # for the diagnoses; not part of the verdict's data
    verdict._differs = differs - set(stopped)
    return verdict


def _culprit(nb: nbformat.NotebookNode, suspect: str, exercises: Sequence[notebooks.Exercise],
             stopped: Mapping[str, str], run: Callable[[nbformat.NotebookNode], Run],
             titles: Mapping[str, str]) -> tuple[str, str | None]:
    """The exercise that stopped the kernel while ``suspect`` ran, and its reason (``None``: the suspect's own)."""
    cells = next(ex.cells for ex in exercises if ex.id == suspect)
    earlier = [ex.id for ex in exercises if ex.id != suspect and ex.id not in stopped and min(ex.cells) < min(cells)]
    if not earlier or _dies(run(_disabled(nb, {suspect}, titles)), cells):
        return suspect, None
    for other in reversed(earlier):  # the nearest first: a timer is usually started just before
        if _dies(run(_disabled(nb, {other, suspect}, titles)), cells):
            return other, (f"the exercise cell started something (a thread or a timer) that stopped the kernel "
                           f"later, while exercise {suspect} ran (kernel died; confirmed by running the two alone)")
    return suspect, None


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
    banned = known.forbidden(key_name)
    for exercise, cells in notebooks.exercise_cells(nb).items():  # the learner's own cells, read, never run here
        if exercise in banned and (calls := known.forbidden_calls("\n".join(c.source for c in cells),
                                                                  banned[exercise])):
            shown = calls[0] if calls[0].startswith(("keras.", "tf.", "np.")) else f"tk.{calls[0]}"
            verdict.exercises[exercise] = False
            verdict.reasons[exercise] = f"the exercise cell calls {shown}, which this exercise asks you to write"
            verdict.diagnoses[exercise] = known.FORBIDDEN_DIAGNOSIS.format(exercise=exercise, name=shown)
    if differing := [e for e in sorted(getattr(verdict, "_differs", ())) if e not in verdict.diagnoses]:
        try:
            outputs = grading.mistake_outputs(key_name)
        except Exception as error:  # no diagnoses is still a grade
            logger.warning("the known mistakes of %s could not be run: %s", key_name, error)
            outputs = {}
        for exercise in differing:
            if found := matching_mistake(verdict._printed.get(exercise), outputs.get(exercise, ())):
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
    time limits, ``exercises_only`` and ``seed``.
    """
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if not isinstance(jobs, int) or jobs < 1:
        raise ArgumentError(f"jobs must be a positive number of parallel gradings, not {jobs!r}.")
    grading = grading or Grading(cell_timeout, timeout, exercises_only, seed)

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
        writer.writerow(["submission", "chapter", *[f"exercise {key}" for key in exercises], "total", "graded",
                         "diagnoses"])
        for verdict in verdicts:
            writer.writerow([verdict.submission, verdict.chapter or "",
                             *[int(verdict.exercises.get(key, False)) for key in exercises], verdict.score,
                             "no: " + verdict.problem if verdict.problem else "yes",
                             " | ".join(f"{key}: {text}" for key, text in verdict.diagnoses.items())])
    details = path.with_suffix(".json")
    details.write_text(json.dumps([{**asdict(v), "score": v.score} for v in verdicts], indent=2,
                                  ensure_ascii=False), encoding="utf-8")
    return path, details
