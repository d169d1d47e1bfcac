"""``python -m toolkit student``: write the learner versions of the chapter notebooks (chapters 1-6).

A learner version is its solution notebook with every solution block replaced by a stub
that keeps the block's hints and raises ``NotImplementedError``, and with the exercise
cells' outputs cleared. Check cells keep their expected outputs: the learner version is the
grading key, and ``tk.grade`` runs a submission's exercise cells inside it. Badges point at
the learner file itself, and a last "Grade my work" cell calls ``tk.grade()``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from toolkit.course import notebooks
from toolkit.errors import ArgumentError

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


def write_learner_versions(sources: list[Path] | None = None) -> list[Path]:
    """Write ``chapters/learner/*.ipynb`` from the solution notebooks; returns the paths written."""
    written = []
    for source in sources or notebooks.chapter_notebooks():
        target = learner_path(source)
        notebooks.write(learner_version(source), target)
        written.append(target)
    return written
