"""What check cells use in the kernel: the check seed, and a friendly word for an exercise not done yet
(chapters 1-6).

Check cells draw their inputs from ``check_seed()``: the grading run's own seed, unknown before it
starts, or ``DEFAULT_SEED`` outside grading, which gives the outputs stored under each check cell. A
check cell's body sits in ``with exercise_check("2"):``, so a learner who runs every cell before
finishing exercise 2 reads "Exercise 2 is not done yet" where the check's verdict would be, and the
notebook goes on; graders count it as a FAIL (it is not the expected output). That line is the check
cell's own output, so it goes to stdout, like every verdict a check prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator

SEED_ENV = "TOOLKIT_CHECK_SEED"
DEFAULT_SEED = 0  # the check seed of the stored outputs: what a learner sees in Colab
STUB = re.compile(r"Exercise (\w+): replace this line")  # also wrapped by tf.function or a Keras layer


def check_seed() -> int:
    """The seed a check cell draws its inputs from (the grading run's, else ``DEFAULT_SEED``).

    >>> check_seed() if SEED_ENV not in os.environ else 0
    0
    """
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


@contextlib.contextmanager
def exercise_check(exercise: str) -> Iterator[None]:
    """Run a check cell's body; if it reaches an exercise's stub, print which exercise is not done yet
    instead of stopping the notebook. Other errors go through.

    >>> with exercise_check("2"):
    ...     raise NotImplementedError("Exercise 2: replace this line with your code.")
    Exercise 2 is not done yet: write it in its # EXERCISE 2 cell, run that cell, then run this check again.
    """
    try:
        yield
    except NotImplementedError as error:
        found = STUB.search(str(error))
        if not found:
            raise
        uses = "" if found.group(1) == exercise else f" (check {exercise} uses exercise {found.group(1)})"
        sys.stdout.write(f"Exercise {found.group(1)} is not done yet: write it in its # EXERCISE {found.group(1)} "
                         f"cell, run that cell, then run this check again.{uses}\n")
