"""What check cells use in the kernel: the check seed, and a friendly word for an exercise not done yet
(chapters 1-6).

Check cells draw their inputs from ``check_seed()``: the grading run's own seed, unknown before it
starts, or ``DEFAULT_SEED`` outside grading, which gives the outputs stored under each check cell. A
check cell's body sits in ``with exercise_check("2"):``, so a learner who runs every cell before
finishing exercise 2 reads "Exercise 2 is not done yet" where the check's verdict would be, and the
notebook goes on; graders count it as a FAIL (it is not the expected output). That line is the check
cell's own output, so it goes to stdout, like every verdict a check prints.

A check prints through Python's own ``print`` and the kernel's output stream: ``exercise_check`` raises
``CheckTamperedError`` before and after the body when code run earlier (or by the body) replaced either
(the grader also reads every exercise cell for such code: ``toolkit.course.tampering``).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import sys
import types
from collections.abc import Iterator

from toolkit.errors import CheckTamperedError

SEED_ENV = "TOOLKIT_CHECK_SEED"
DEFAULT_SEED = 0  # the check seed of the stored outputs: what a learner sees in Colab
STUB = re.compile(r"Exercise (\w+): replace this line")  # also wrapped by tf.function or a Keras layer


def check_seed() -> int:
    """The seed a check cell draws its inputs from (the grading run's, else ``DEFAULT_SEED``).

    >>> check_seed() if SEED_ENV not in os.environ else 0
    0
    """
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


def replaced_output() -> str | None:
    """What was replaced of the way a check prints, in a few words, or ``None``: ``print`` must be Python's
    built-in, not a name of the notebook's own, and the output stream's ``write`` must not be notebook code.

    >>> replaced_output() is None
    True
    """
    if not (isinstance(builtins.print, types.BuiltinFunctionType) and builtins.print.__self__ is builtins
            and builtins.print.__name__ == "print"):
        return "builtins.print was replaced"
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and "print" in shell.user_ns:
        return "the notebook defines a print of its own"
    for what, write in (("sys.stdout.write was replaced", getattr(sys.stdout, "write", None)),
                        ("sys.stdout was replaced", getattr(type(sys.stdout), "write", None))):
        if getattr(write, "__module__", None) == "__main__":  # made by notebook code (IPython's tee is not)
            return what
    return None


def _refuse_if_replaced(exercise: str) -> None:
    if what := replaced_output():
        raise CheckTamperedError(
            f"Check {exercise} cannot run: {what}, so what the check prints would not be the "
            f"check's own. Remove that change from your exercise cell, restart the kernel (in Colab: Runtime > "
            f"Restart session) and run the notebook again.")


@contextlib.contextmanager
def exercise_check(exercise: str) -> Iterator[None]:
    """Run a check cell's body; if it reaches an exercise's stub, print which exercise is not done yet
    instead of stopping the notebook. Other errors go through; a replaced ``print`` or output stream
    raises ``CheckTamperedError``.

    >>> with exercise_check("2"):
    ...     raise NotImplementedError("Exercise 2: replace this line with your code.")
    Exercise 2 is not done yet: write it in its # EXERCISE 2 cell, run that cell, then run this check again.
    """
    _refuse_if_replaced(exercise)
    try:
        yield
    except NotImplementedError as error:
        found = STUB.search(str(error))
        if not found:
            raise
        uses = "" if found.group(1) == exercise else f" (check {exercise} uses exercise {found.group(1)})"
        sys.stdout.write(f"Exercise {found.group(1)} is not done yet: write it in its # EXERCISE {found.group(1)} "
                         f"cell, run that cell, then run this check again.{uses}\n")
        return
    _refuse_if_replaced(exercise)
