"""Which exercise stopped the kernel (chapters 1-6): the cell that died, and the exercise behind it when a
thread or a timer started earlier killed the kernel while a later, right exercise ran. Used by
``toolkit.course.grading.grade_notebook``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import nbformat

from toolkit.course import notebooks
from toolkit.course.runner import CellOutcome, Run

NOT_RUN = 'raise RuntimeError("not run: this exercise stopped the kernel in an earlier run")'


def killer(outcomes: dict[int, CellOutcome]) -> int | None:
    """The cell that stopped the kernel, if one did: the cell that died, or else the one run just before
    the first cell that found the kernel dead (``exit()``, or a hang that no interrupt could stop)."""
    for cell in sorted(outcomes):
        reason = outcomes[cell].reason
        if reason.startswith(("kernel died", "timed out")):  # nbval runs nothing after a timeout, either
            return cell
        if reason == "not run: the kernel had died":
            earlier = [c for c in sorted(outcomes) if c < cell and not outcomes[c].skipped]
            return earlier[-1] if earlier else None
    return None


def disabled(nb: nbformat.NotebookNode, keep: set[str], titles: Mapping[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which every exercise cell not in ``keep`` raises instead of running."""
    trial = copy.deepcopy(nb)
    for exercise, cells in notebooks.exercise_cells(trial).items():
        if exercise not in keep:
            for cell in cells:
                cell.source = f"# EXERCISE {exercise}: {titles[exercise]}\n{NOT_RUN}"
    return trial


def dies(run: Run, cells: Sequence[int]) -> bool:
    """Whether ``run``'s kernel was stopped by one of ``cells``."""
    found = killer(run.outcomes)
    return found is not None and found in cells


def culprit(nb: nbformat.NotebookNode, suspect: str, exercises: Sequence[notebooks.Exercise],
             stopped: Mapping[str, str], run: Callable[[nbformat.NotebookNode], Run],
             titles: Mapping[str, str]) -> tuple[str, str | None]:
    """The exercise that stopped the kernel while ``suspect`` ran, and its reason (``None``: the suspect's own)."""
    cells = next(ex.cells for ex in exercises if ex.id == suspect)
    earlier = [ex.id for ex in exercises if ex.id != suspect and ex.id not in stopped and min(ex.cells) < min(cells)]
    if not earlier or dies(run(disabled(nb, {suspect}, titles)), cells):
        return suspect, None
    for other in reversed(earlier):  # the nearest first: a timer is usually started just before
        if dies(run(disabled(nb, {other, suspect}, titles)), cells):
            return other, (f"the exercise cell started something (a thread or a timer) that stopped the kernel "
                           f"later, while exercise {suspect} ran (kernel died; confirmed by running the two alone)")
    return suspect, None
