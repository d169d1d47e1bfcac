"""``tk.grade()``: grade the notebook you are working in, in Colab, Jupyter or VS Code (chapters 1-6).

In Colab the open notebook is not a file on disk: it is fetched from the browser with
``google.colab._message.blocking_request("get_ipynb")``. In Jupyter and VS Code it is the saved file
of the open notebook (save first). Anywhere, ``tk.grade("path.ipynb")`` grades a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from toolkit.course.grading import CELL_TIMEOUT_S, Verdict, grade_submission
from toolkit.errors import SubmissionError


def open_notebook() -> Mapping | Path:
    """The notebook this code runs in: Colab's open notebook as a dict, or the path of the file that
    Jupyter (``JPY_SESSION_NAME``) or VS Code (``__vsc_ipynb_file__``) has open."""
    if "google.colab" in sys.modules:
        from google.colab import _message  # Colab's own bridge to the browser

        reply = _message.blocking_request("get_ipynb", timeout_sec=60)
        if not reply or "ipynb" not in reply:
            raise SubmissionError("Colab did not hand over the open notebook (the request timed out). Run the "
                                  "cell again; if it keeps failing, File > Download .ipynb and grade that file.")
        return reply["ipynb"]
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    shell = sys.modules.get("IPython")
    user_ns = getattr(shell.get_ipython(), "user_ns", {}) if shell and shell.get_ipython() else {}
    if str(user_ns.get("__vsc_ipynb_file__", "")).endswith(".ipynb"):
        return Path(user_ns["__vsc_ipynb_file__"])
    raise SubmissionError("Cannot tell which notebook is open here. Save it and pass its path: "
                          'tk.grade("chapters/learner/01_batch_vs_online.ipynb").')


def grade(notebook: str | Path | Mapping | None = None, *, chapter: str | None = None,
          cell_timeout: float = CELL_TIMEOUT_S, exercises_only: bool = False) -> Verdict:
    """Grade a notebook and print the verdict per exercise (chapters 1-6).

    With no argument it grades the open notebook (in Colab, as it is in the browser; elsewhere, its
    saved file). Only the ``# EXERCISE`` cells are taken from it; they run inside the course's own
    copy of the chapter, whose check cells and expected outputs decide. Takes a few minutes: the
    whole chapter runs. ``exercises_only=True`` runs only the chapter's first cells and exercises.
    """
    source = open_notebook() if notebook is None else notebook
    where = "the open notebook" if isinstance(source, Mapping) else Path(source).name
    print(f"Grading {where}: running the chapter with your exercise cells (a few minutes)...", flush=True)

    def show(done: int, total: int) -> None:
        print(f"\r  {done} of {total} cells run", end="", flush=True)

    verdict = grade_submission(source, chapter=chapter, cell_timeout=cell_timeout, exercises_only=exercises_only,
                               progress=show)
    print("\n" + verdict.report(), flush=True)
    return verdict
