"""The known wrong answers of every chapter's exercises, each with the one sentence that names its
misconception, and right answers written differently from the solution (chapters 1-6).

One module per chapter (``batch_vs_online`` for ``01_batch_vs_online``) holds ``MISTAKES``
(``{exercise: (Mistake, ...)}``) and ``RIGHT`` (``{exercise: (answer, ...)}``). An answer replaces the
exercise cell's solution blocks (``### BEGIN SOLUTION`` ... ``### END SOLUTION``): a string for a cell
with one block, a tuple of strings for a cell with several. The grader uses ``MISTAKES`` to say which
mistake a failing check's output looks like; the tests grade every one of them (each must FAIL and show
its diagnosis) and every ``RIGHT`` answer (each must PASS). The learner's sandbox never holds this folder.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

Answer = str | tuple[str, ...]


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong (or lazy) answer to one exercise, and the sentence the grade report shows when a
    submission's check prints what this answer prints."""

    diagnosis: str
    answer: Answer
    lazy: bool = False  # a call to the toolkit's own implementation of what the exercise asks for


def _module(chapter: str):
    return importlib.import_module(f"{__name__}.{chapter.split('_', 1)[1]}")


def mistakes(chapter: str) -> dict[str, tuple[Mistake, ...]]:
    """``{exercise id: its known mistakes}`` for a chapter stem such as ``01_batch_vs_online``."""
    return _module(chapter).MISTAKES


def right_answers(chapter: str) -> dict[str, tuple[Answer, ...]]:
    """``{exercise id: right answers written differently from the solution}`` for a chapter stem."""
    return _module(chapter).RIGHT
