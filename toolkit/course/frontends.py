"""``tk.grade()``: grade the notebook you are working in, in Colab, Jupyter or VS Code (chapters 1-6).

In Colab the open notebook is not a file on disk: it is fetched from the browser with
``google.colab._message.blocking_request("get_ipynb")``. In Jupyter and VS Code it is the saved file
of the open notebook (save first), found the way Jupyter knows it:

1. the running Jupyter server's sessions API, which follows File > Rename and Save As, asked through
   the ``ipynbname`` library (which reads VS Code's ``__vsc_ipynb_file__`` first, where it is set);
2. VS Code's ``__vsc_ipynb_file__``;
3. ``JPY_SESSION_NAME``, which the server sets once, when the kernel starts (stale after a rename).

Anywhere, ``tk.grade("path.ipynb")`` grades a file; a relative path starts from the notebook's folder.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from toolkit.course.grading import CELL_TIMEOUT_S, grade_submission
from toolkit.course.verdicts import Verdict
from toolkit.errors import SubmissionError

log = logging.getLogger(__name__)


def _colab_notebook() -> Mapping:
    from google.colab import _message  # Colab's own bridge to the browser

    reply = _message.blocking_request("get_ipynb", timeout_sec=60)
    if not reply or "ipynb" not in reply:
        raise SubmissionError("Colab did not hand over the open notebook (the request timed out). Run the "
                              "cell again; if it keeps failing, File > Download .ipynb and grade that file.")
    return reply["ipynb"]


def _server_notebook() -> Path | None:
    """The notebook the running Jupyter server's sessions API says this kernel has open (via ``ipynbname``)."""
    try:
        import ipynbname

        return Path(ipynbname.path())
    except Exception as error:  # no server knows this kernel, no kernel at all, or ipynbname missing
        log.debug("ipynbname found no notebook: %s: %s", type(error).__name__, error)
        return None


def _vscode_notebook() -> Path | None:
    shell = sys.modules.get("IPython")
    ipython = shell.get_ipython() if shell else None
    found = str(getattr(ipython, "user_ns", {}).get("__vsc_ipynb_file__", ""))
    return Path(found) if found.endswith(".ipynb") else None


def _session_name_notebook() -> Path | None:
    session = os.environ.get("JPY_SESSION_NAME", "")
    return Path(session) if session.endswith(".ipynb") and Path(session).is_file() else None


def _cannot_tell() -> SubmissionError:
    here = Path.cwd()
    names = sorted(path.name for path in here.glob("*.ipynb"))
    example = names[0] if len(names) == 1 else "my_notebook.ipynb"
    listed = f" (notebooks in this folder: {', '.join(names[:8])})" if len(names) > 1 else ""
    return SubmissionError(f"Cannot tell which notebook is open here. Save it (Ctrl+S) and pass its path from this "
                           f"notebook's folder, {here}: tk.grade(\"{example}\"){listed}.")


def open_notebook() -> Mapping | Path:
    """The notebook this code runs in: Colab's open notebook as a dict, or the path of the saved file
    that the Jupyter server's sessions API, VS Code (``__vsc_ipynb_file__``) or ``JPY_SESSION_NAME``
    names, asked in that order."""
    if "google.colab" in sys.modules:
        return _colab_notebook()
    served = _server_notebook()
    if served is not None:
        if not served.is_file():
            raise SubmissionError(f"Jupyter has {served.name} open, but there is no such file yet: save the "
                                  "notebook (Ctrl+S), then run this cell again.")
        return served
    for found in (_vscode_notebook(), _session_name_notebook()):
        if found is not None and found.is_file():
            return found
    raise _cannot_tell()


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
