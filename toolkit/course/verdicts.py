"""A grade and where it went wrong (chapters 1-6): the ``Verdict`` of one submission, the place of a failure
in a learner's terms (the exercise's cell or its check, the first line that differed), the known mistake a
failing check's output matches, and the gradebook files. ``toolkit.course.grading`` builds verdicts."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from toolkit.course import mistakes as known
from toolkit.course import notebooks
from toolkit.course.nbval_plugin import _stdout, close
from toolkit.course.runner import Run


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


def cell_label(nb: nbformat.NotebookNode, cell: int) -> str:
    """A narrative cell as a learner finds it: its first line, its section and its place among all cells."""
    section = notebooks.section_of_cells(nb)[cell]
    code = notebooks.code_cells(nb)[cell]
    first = code.source.strip().splitlines()[:1] or [""]
    position = code.metadata.get(POSITION, nb.cells.index(code)) + 1
    return (f"the cell that starts {first[0][:50]!r}" + (f" in section \"{section}\"" if section else "")
            + f" (cell {position} of the notebook, counting text cells)")


def where(nb: nbformat.NotebookNode, cell: int, exercise: str) -> str:
    """"the exercise cell" or "check N" (with its place when the exercise has several of either)."""
    code = notebooks.code_cells(nb)
    mine = [c for c in notebooks.exercises(nb) if c.id == exercise][0].cells
    checks = [c for c in mine if notebooks.CHECK.search(code[c].source)]
    if cell in checks:
        return f"check {exercise}" + (f" (cell {checks.index(cell) + 1} of {len(checks)})" if len(checks) > 1 else "")
    cells = [c for c in mine if c not in checks]
    return "the exercise cell" + (f" ({cells.index(cell) + 1} of {len(cells)})" if len(cells) > 1 else "")


def _shown(text: str | None, start: int = 0) -> str:
    """Up to 100 characters of a line from ``start`` (marked with "..." where cut), or "(nothing)"."""
    if text is None:
        return "(nothing)"
    return ("..." if start else "") + repr(text[start:start + 100]) + ("..." if len(text) > start + 100 else "")


def _window(a: str, b: str) -> int:
    """Where to start showing two long lines so that their first differing character is in view."""
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return max(0, first - 40) if first >= 90 else 0


def first_difference(got: str, want: str) -> str:
    """"line N: expected '...', got '...'" for the first line where two check outputs differ by value.

    >>> first_difference("a 1\\nb 2\\n", "a 1\\nb 3\\n")
    "line 2: expected 'b 3', got 'b 2'"
    >>> first_difference("x" * 150 + " True", "x" * 150 + " False").count("False")  # the difference is in view
    1
    """
    mine, theirs = got.splitlines(), want.splitlines()
    for line in range(max(len(mine), len(theirs))):
        a = mine[line] if line < len(mine) else None
        b = theirs[line] if line < len(theirs) else None
        if a is None or b is None or not close(a, b):
            start = _window(a, b) if a is not None and b is not None else 0
            return f"line {line + 1}: expected {_shown(b, start)}, got {_shown(a, start)}"
    return "the outputs differ"


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
