"""``python -m toolkit student``: write the learner versions of the chapter notebooks (chapters 1-6).

A learner version is its solution notebook with every solution block replaced by a stub
that keeps the block's hints and raises ``NotImplementedError``, and with the exercise
cells' outputs cleared. Check cells keep their expected outputs: the learner version is the
grading key, and ``tk.grade`` runs a submission's exercise cells inside it. Badges point at
the learner file itself, and a last "Grade my work" cell calls ``tk.grade()``.

It is an author's tool. A learner who works in ``chapters/learner/`` keeps their answers in those
files, so a learner notebook whose exercise cells differ from the stubs is never replaced unless
``force=True`` (``python -m toolkit student --force``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from toolkit.course import notebooks
from toolkit.errors import ArgumentError, OverwriteRefusedError

SOLUTION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n(?P<body>.*?)^[ \t]*### END SOLUTION[ \t]*\n?",
                      re.MULTILINE | re.DOTALL)
LEARNER_NOTE = ("**Learner version.** Write your answers in the cells marked `# EXERCISE`: only those cells are "
                "graded, inside the course's own copy of this chapter, so keep all your code in them. Run the "
                "notebook top to bottom, then run the last cell, *Grade my work* (or, from a terminal, "
                "`python -m toolkit grade {path}`). The solutions are in `{source}`.")


def stub(cell_source: str) -> str:
    """Replace each solution block with a hinted stub at the block's indentation."""
    exercise = notebooks.EXERCISE.search(cell_source)
    label = f"Exercise {exercise.group(1)}" if exercise else "This exercise"

    def replace(found: re.Match) -> str:
        indent = found.group("indent")
        return (f"{indent}# YOUR CODE HERE\n"
                f'{indent}raise NotImplementedError("{label}: replace this line with your code.")\n')

    replaced, count = SOLUTION.subn(replace, cell_source)
    if not count:
        raise ArgumentError(f"{label} has no ### BEGIN SOLUTION / ### END SOLUTION block.")
    return replaced


def learner_path(source: Path) -> Path:
    """Where the learner version of a solution notebook lives."""
    return notebooks.LEARNER_DIR / Path(source).name


def learner_version(source: Path) -> nbformat.NotebookNode:
    """The learner notebook for a solution notebook (not written)."""
    nb = copy.deepcopy(notebooks.read(source))
    target = learner_path(source)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and notebooks.BADGE_MARK in cell.source:
            cell.source = notebooks.badge_markdown(target)
        elif cell.cell_type == "code" and notebooks.EXERCISE.search(cell.source):
            cell.source = stub(cell.source)
            cell.outputs = []
    badge = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and notebooks.BADGE_MARK in c.source)
    note = LEARNER_NOTE.format(path=target.relative_to(notebooks.ROOT).as_posix(),
                               source=source.relative_to(notebooks.ROOT).as_posix())
    nb.cells.insert(badge + 1, nbformat.v4.new_markdown_cell(note))
    nb.cells.append(nbformat.v4.new_code_cell(notebooks.grade_code(target)))
    return notebooks.normalise(nb)


def changed_exercises(existing: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """The exercises whose cells in ``existing`` differ from the stubs of ``fresh``: someone's answers, or
    stubs whose hints have changed since ``existing`` was written."""
    mine, stubs = notebooks.exercise_cells(existing), notebooks.exercise_cells(fresh)
    names = [*stubs, *(name for name in mine if name not in stubs)]
    return [name for name in names
            if [cell.source for cell in mine.get(name, [])] != [cell.source for cell in stubs.get(name, [])]]


def _holding_work(target: Path, fresh: nbformat.NotebookNode) -> list[str]:
    if not target.exists():
        return []
    try:
        return changed_exercises(notebooks.read(target), fresh)
    except Exception:  # nbformat raises several kinds for a file it cannot read; someone may still need it
        return ["(the file is not a readable notebook)"]


def write_learner_versions(sources: list[Path] | None = None, *, force: bool = False) -> list[Path]:
    """Write ``chapters/learner/*.ipynb`` from the solution notebooks; returns the paths written (authors).

    Unless ``force``, nothing is written when any learner notebook's exercise cells differ from the
    stubs: ``OverwriteRefusedError`` names the files and exercises.
    """
    versions = {learner_path(source): learner_version(source) for source in sources or notebooks.chapter_notebooks()}
    refused = {} if force else {target: changed for target, fresh in versions.items()
                                if (changed := _holding_work(target, fresh))}
    if refused:
        held = "; ".join(f"{_shown(target)} (exercise {', '.join(changed)})" for target, changed in refused.items())
        raise OverwriteRefusedError(
            f"these learner notebooks hold code other than the stubs in their exercise cells, someone's answers "
            f"or changed hints: {held}. Nothing was written. Copy the answers elsewhere first, or run "
            "`python -m toolkit student --force` to overwrite them.")
    for target, version in versions.items():
        notebooks.write(version, target)
    return list(versions)


def _shown(path: Path) -> str:
    """``path`` relative to the course, when it is inside it."""
    try:
        return path.resolve().relative_to(notebooks.ROOT).as_posix()
    except ValueError:
        return str(path)
