"""A learner's submission, read and checked, and put into the course's pristine notebook (chapters 1-6).

Grading keeps the nbgrader / otter-grader promise: the check cells are the instructor's. Only the
submission's ``# EXERCISE n`` cells are taken; they replace the matching cells of the course's own
learner notebook (the *key*, with the expected outputs), and that notebook is what runs. Edits to
check cells, narrative cells or stored outputs in the submission change nothing.

>>> key = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter 9 · Test"),
...     nbformat.v4.new_code_cell("# EXERCISE 1: Double\\ny = None"), nbformat.v4.new_code_cell("print(y)")])
>>> mine = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter 9 · Test"),
...     nbformat.v4.new_code_cell("# EXERCISE 1: Double\\ny = 2 * 21"), nbformat.v4.new_code_cell("print('42')")])
>>> [cell.source for cell in assemble(key, mine).cells[1:]]
['# EXERCISE 1: Double\\ny = 2 * 21', 'print(y)']
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path

import nbformat

from toolkit.course import notebooks
from toolkit.errors import SubmissionError

BADGE_PATH = re.compile(r"colab\.research\.google\.com/github/[^\s\"']*?/(\d\d_[\w-]+)\.ipynb")
CHAPTER_NUMBER = re.compile(r"^# Chapter (\d+)\b")


PACKAGED_KEYS = Path(__file__).resolve().parent / "keys"  # where a wheel ships them (setup.py)


def key_dir() -> Path:
    """The folder of grading keys: the learner notebooks of the installed course, never the solutions.
    A regular install ships them in the package (``toolkit/course/keys``); a repository checkout or an
    editable install reads ``chapters/learner``."""
    return PACKAGED_KEYS if PACKAGED_KEYS.is_dir() else notebooks.LEARNER_DIR


def solution_dir() -> Path:
    """The folder of the instructor's solution notebooks (``chapters/``): the grader runs them for the
    expected outputs at each run's check seed; learners' kernels never see it."""
    return notebooks.CHAPTERS


def solutions() -> dict[str, Path]:
    """``{"01_batch_vs_online": path}`` for every chapter whose solution notebook is here."""
    return {path.stem: path for path in sorted(solution_dir().glob("[0-9][0-9]_*.ipynb"))}


def keys() -> dict[str, Path]:
    """``{"01_batch_vs_online": path}`` for every chapter's grading key."""
    return {path.stem: path for path in sorted(key_dir().glob("[0-9][0-9]_*.ipynb"))}


def load(source: str | Path | Mapping) -> tuple[nbformat.NotebookNode, str]:
    """Read a submission (a path, or the notebook as a dict, as Colab hands it over); returns it and its name."""
    if isinstance(source, Mapping):
        raw, name = dict(source), "the open notebook"
    else:
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise SubmissionError(f"{path} does not exist (or is a folder): pass the path of a saved .ipynb file.")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SubmissionError(f"{name} is not a Jupyter notebook (not valid notebook JSON: {error}). Submit the "
                                  ".ipynb file itself (in Colab: File > Download > Download .ipynb).") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise SubmissionError(f"{name} is not a Jupyter notebook: it has no list of cells. Submit the .ipynb file.")
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        for cell in nb.cells:
            cell.source = "".join(cell.source) if isinstance(cell.source, list) else str(cell.source)
    except Exception as error:  # nbformat raises several kinds for malformed files
        raise SubmissionError(f"{name} is not a readable Jupyter notebook ({type(error).__name__}: {error}).") from None
    return nb, name


def identify(nb: nbformat.NotebookNode, name: str, chapter: str | None = None) -> str:
    """The chapter a submission belongs to (a key of ``keys()``), from its Colab badge, its title or
    its file name. With ``chapter`` (``"1"``, ``"01"`` or ``"01_batch_vs_online"``), a submission of
    another chapter is refused."""
    available = keys()
    if not available:
        raise SubmissionError(f"No grading keys found in {key_dir()}: reinstall the course (pip install .).")
    found = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (badge := BADGE_PATH.search(cell.source)) and badge.group(1) in available:
            found = badge.group(1)
            break
    if found is None and (title := notebooks.chapter_title(nb)) and (number := CHAPTER_NUMBER.match(title)):
        found = next((key for key in available if int(key[:2]) == int(number.group(1))), None)
    if found is None:
        found = next((key for key in available if key in name), None)
    wanted = None if chapter is None else _chapter_key(chapter, available)
    if found is None and wanted is None:
        raise SubmissionError(f"Cannot tell which chapter {name} is (no Colab badge, chapter title or chapter file "
                              f"name). Pass it: --chapter 1 (chapters: {', '.join(available)}).")
    if wanted is not None and found is not None and found != wanted:
        raise SubmissionError(f"{name} is chapter {found}, not chapter {wanted}: this is the wrong notebook. "
                              f"Submit your {wanted}.ipynb.")
    return wanted or found


def chapter_key(chapter: str) -> str:
    """The grading key's name for a chapter given as ``"1"``, ``"01"`` or ``"01_batch_vs_online"`` (the
    ``--chapter`` of ``python -m toolkit grade``); raises ``SubmissionError`` naming the chapters."""
    return _chapter_key(chapter, keys())


def _chapter_key(chapter: str, available: dict[str, Path]) -> str:
    matches = [key for key in available if key == chapter or (chapter.isdigit() and int(key[:2]) == int(chapter))]
    if len(matches) != 1:
        raise SubmissionError(f"There is no chapter {chapter!r}; the chapters are {', '.join(available)}.")
    return matches[0]


def assemble(key: nbformat.NotebookNode, submission: nbformat.NotebookNode, name: str = "the submission"
             ) -> nbformat.NotebookNode:
    """The key notebook with its ``# EXERCISE`` cells replaced by the submission's (outputs dropped).

    Every exercise of the key must appear in the submission once, with the same title; a missing,
    duplicated, renamed or extra exercise cell raises ``SubmissionError`` naming it.
    """
    expected, given = notebooks.exercise_cells(key), notebooks.exercise_cells(submission)
    titles = {ex.id: ex.title for ex in notebooks.exercises(key)}
    problems = []
    for exercise, cells in expected.items():
        mine = given.get(exercise, [])
        if not mine:
            problems.append(f"exercise {exercise} ({titles[exercise]}) is missing: restore its `# EXERCISE "
                            f"{exercise}: {titles[exercise]}` cell")
        elif len(mine) != len(cells):
            problems.append(f"the cell `# EXERCISE {exercise}` appears {len(mine)} times, expected {len(cells)}: "
                            "keep one and delete the copies")
        elif (title := notebooks.EXERCISE.search(mine[0].source).group(2).strip()) != titles[exercise]:
            problems.append(f"exercise {exercise} is titled {title!r} here but {titles[exercise]!r} in the course: "
                            "is this another chapter, or an older copy of it?")
    extra = sorted(given.keys() - expected.keys())
    if extra:
        problems.append(f"exercise cells {extra} are not part of this chapter")
    if problems:
        raise SubmissionError(f"{name} cannot be graded: " + "; ".join(problems) + ".")
    merged = copy.deepcopy(key)
    replacements = {id(cell): mine for exercise, cells in expected.items()
                    for cell, mine in zip(cells, given[exercise])}
    for index, cell in enumerate(key.cells):
        if id(cell) in replacements:
            merged.cells[index].source = replacements[id(cell)].source
            merged.cells[index].outputs = []
    return merged
