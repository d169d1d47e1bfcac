"""Claims: a measured result that a chapter's text states, printed as one uniform verdict (chapters 1-6).

A narrative cell that backs a sentence calls ``tk.claim(text, holds)``. It prints one line,
``claim: <text>: True`` or ``claim: <text>: False``. Printing is this
helper's whole job: the verdict sits under the cell, where the reader and the tests see it.

>>> claim("two is more than one", 2 > 1)
claim: two is more than one: True

The tests and ``python -m toolkit execute`` read the verdicts back from a notebook's stored
outputs (:func:`claims`), so a claim that turns false on a fresh run cannot be stored unnoticed.
Graded check cells (``# NBVAL_CHECK_OUTPUT``) are not claims: nbval compares their whole output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

from toolkit.course.notebooks import CHECK_MARK, EXERCISE
from toolkit.errors import ArgumentError

PREFIX = "claim: "
VERDICT = re.compile(r"^claim: (?P<text>.+): (?P<holds>True|False)$")
# A line that reads like a verdict but is not a claim: "some statement: True" printed by hand.
LOOSE_VERDICT = re.compile(r"^(?!claim: )\S.*: (True|False)\s*$")


def claim(text: str, holds: object) -> None:
    """Print ``claim: <text>: <verdict>`` (every chapter's narrative cells).

    ``text`` states the result as the chapter's prose does ("batch 128 moves more samples per second
    than batch 8"); ``holds`` is the measured truth of it. A timing or memory claim should be a ratio
    within one run, from the median of repeats and with a margin, so that it holds on a busy CPU and
    on a GPU alike. It returns nothing, so a claim on a cell's last line is shown once.
    """
    if "\n" in text or not text.strip():
        raise ArgumentError("a claim is one non-empty line of text")
    print(f"{PREFIX}{text}: {bool(holds)}")


@dataclass(frozen=True)
class Claim:
    """One verdict read back from a notebook: the cell (index in ``nb.cells``), its text and truth."""

    cell: int
    text: str
    holds: bool


def stdout_of(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed to stdout (its stored stream outputs, joined)."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def is_check(cell: nbformat.NotebookNode) -> bool:
    """A graded check cell (``# NBVAL_CHECK_OUTPUT``)."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARK)


def is_exercise(cell: nbformat.NotebookNode) -> bool:
    """A learner's exercise cell (``# EXERCISE <n>: ...``)."""
    return cell.cell_type == "code" and EXERCISE.search(cell.source) is not None


def claims(nb: nbformat.NotebookNode) -> list[Claim]:
    """Every claim verdict in a notebook's stored outputs, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in stdout_of(cell).splitlines():
            if match := VERDICT.match(line):
                found.append(Claim(index, match.group("text"), match.group("holds") == "True"))
    return found


def loose_verdicts(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Lines of narrative cells that read like a verdict (``...: True``) without ``tk.claim``.

    Check cells and exercise cells are left out: their outputs are graded, not claimed.
    """
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_check(cell) or is_exercise(cell):
            continue
        found += [(index, line) for line in stdout_of(cell).splitlines() if LOOSE_VERDICT.match(line)]
    return found


def check_outputs(nb: nbformat.NotebookNode) -> dict[int, str | None]:
    """``{cell index: stored stdout}`` of every graded check cell (``None`` if it was never run)."""
    return {index: stdout_of(cell) if cell.get("outputs") else None
            for index, cell in enumerate(nb.cells) if is_check(cell)}


@dataclass(frozen=True)
class Regression:
    """Why a fresh run must not be stored: a false claim (``kind="claim"``) or a changed graded check
    (``kind="check"``), in cell ``cell`` (index in ``nb.cells``; ``None`` for the notebook as a whole)."""

    kind: str
    cell: int | None
    detail: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "notebook"
        what = "claim is false" if self.kind == "claim" else "graded check output changed"
        return f"{where}: {what}: {self.detail}"


def regressions(before: nbformat.NotebookNode, after: nbformat.NotebookNode) -> list[Regression]:
    """Why a freshly executed notebook (``after``) must not replace the stored one (``before``).

    Every claim of ``after`` that is false, and every graded check cell whose output differs from the
    stored one (check cells are paired in order; a changed count is reported too; a check never run
    before has nothing to compare with).
    """
    found = [Regression("claim", c.cell, c.text) for c in claims(after) if not c.holds]
    old, new = check_outputs(before), check_outputs(after)
    if len(old) != len(new):
        found.append(Regression("check", None, f"{len(old)} check cells before, {len(new)} now"))
    for stored, (index, text) in zip(old.values(), new.items()):
        if stored is not None and stored != text:
            first = next((f"{a!r} -> {b!r}" for a, b in zip([*stored.splitlines(), ""], [*text.splitlines(), ""])
                          if a != b), "(whitespace only)")
            found.append(Regression("check", index, first))
    return found
