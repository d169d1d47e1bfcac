"""``python -m toolkit grade NOTEBOOK...``: run nbval on notebooks and give a verdict per exercise.

It is ``pytest --nbval-lax`` with the course's hooks and sanitize file (``toolkit.nbval_plugin``),
plus a reading of the results: each code cell belongs to an exercise (its ``# EXERCISE n`` or
``# CHECK n`` cell) or to the chapter's narrative. An exercise passes when all its cells run
and its check cells print exactly the expected output. Used for every chapter (1-6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from toolkit import notebooks

CELL = re.compile(r"::Cell (\d+)$")


@dataclass
class NotebookVerdict:
    """Grading of one notebook: exercise id -> passed, and the narrative cells that failed."""

    path: Path
    titles: dict[str, str]
    exercises: dict[str, bool]
    reasons: dict[str, str] = field(default_factory=dict)
    failed_other_cells: list[int] = field(default_factory=list)
    cells_run: int = 0

    @property
    def passed(self) -> bool:
        """Every exercise passed and every other cell ran."""
        return all(self.exercises.values()) and not self.failed_other_cells and self.cells_run > 0

    def report(self) -> str:
        """The verdict as text, one line per exercise."""
        lines = [str(self.path)]
        for key, ok in self.exercises.items():
            why = f"  ({self.reasons[key]})" if key in self.reasons else ""
            lines.append(f"  Exercise {key:<3} {self.titles[key][:48]:<48} {'PASS' if ok else 'FAIL'}{why}")
        done = sum(self.exercises.values())
        lines.append(f"  {done} of {len(self.exercises)} exercises passed")
        if self.failed_other_cells:
            lines.append(f"  narrative cells that failed (fix these first): {self.failed_other_cells}")
        return "\n".join(lines)


class _Outcomes:
    """A pytest plugin object that records each notebook cell's outcome."""

    def __init__(self):
        self.results: dict[tuple[str, int], tuple[bool, str]] = {}
        self._paths: dict[str, str] = {}

    def pytest_itemcollected(self, item):
        self._paths[item.nodeid] = str(Path(item.path).resolve())

    def pytest_runtest_logreport(self, report):
        found = CELL.search(report.nodeid)
        if not found or report.nodeid not in self._paths or (report.when != "call" and report.passed):
            return
        reason = ""
        if report.failed:
            text = str(report.longrepr)
            reason = "output differs from the expected output" if "outputs differ" in text else "raised an error"
            for name in ("NotImplementedError", "NameError", "AssertionError", "ValueError", "TypeError"):
                if name in text and "raised" in reason:
                    reason = f"raised {name}"
                    break
        self.results[(self._paths[report.nodeid], int(found.group(1)))] = (not report.failed, reason)


def grade(paths: list[Path], *, quiet: bool = True) -> list[NotebookVerdict]:
    """Execute and grade notebooks; returns one verdict per notebook (chapters 1-6)."""
    paths = [Path(p).resolve() for p in paths]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"No notebook at {path}.")
    outcomes = _Outcomes()
    args = ["-o", "addopts=", "-p", "toolkit.nbval_plugin", "-p", "no:cacheprovider", "--nbval-lax",
            "-q" if quiet else "-v", "-W", "ignore::DeprecationWarning", *map(str, paths)]
    pytest.main(args, plugins=[outcomes])
    verdicts = []
    for path in paths:
        nb = notebooks.read(path)
        owned = {cell: ex.id for ex in notebooks.exercises(nb) for cell in ex.cells}
        verdict = NotebookVerdict(path, {ex.id: ex.title for ex in notebooks.exercises(nb)},
                                  {ex.id: True for ex in notebooks.exercises(nb)})
        for (cell_path, cell), (ok, reason) in sorted(outcomes.results.items()):
            if cell_path != str(path):
                continue
            verdict.cells_run += 1
            if ok:
                continue
            if cell in owned:
                verdict.exercises[owned[cell]] = False
                verdict.reasons.setdefault(owned[cell], f"cell {cell} {reason}")
            else:
                verdict.failed_other_cells.append(cell)
        verdicts.append(verdict)
    return verdicts
