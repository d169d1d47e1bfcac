"""Chapter notebooks: normalised reading and writing, cell markers, sections and the Colab header.

Every chapter (1-6) is a *solution* notebook in ``chapters/``. An exercise cell starts with
``# EXERCISE <n>: <title>`` and keeps its solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; a check cell starts with ``# NBVAL_CHECK_OUTPUT`` and names its exercise
with ``# CHECK <n>``. The repository URL and the oldest supported TensorFlow/Keras pair live
here, once: badges and set-up cells derive from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPOSITORY = "keras-course/training-strategies"
BRANCH = "main"
ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
LEARNER_DIR = CHAPTERS / "learner"

# The oldest pair the course runs on, proven by `.ci/colab-stack` (Colab announced TF 2.19 / Keras 3.10 in 2025).
OLDEST_SUPPORTED = {"tensorflow": "2.19", "keras": "3.10"}

EXERCISE = re.compile(r"^# EXERCISE (\w+): (.+)$", re.MULTILINE)
CHECK = re.compile(r"^# CHECK (\w+)\s*$", re.MULTILINE)
BADGE_MARK = "colab-badge"
SETUP_MARK = "# Colab set-up"
SKIP_MARK = "# NBVAL_SKIP"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
GRADE_MARK = "# Grade my work"
EXERCISES_HEADING = "## Exercises"


def colab_url(path: Path) -> str:
    """The "Open in Colab" address of a notebook in this repository."""
    relative = Path(path).resolve().relative_to(ROOT).as_posix()
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{relative}"


def badge_markdown(path: Path) -> str:
    """The badge cell's markdown for ``path`` (its link must match the file's own path)."""
    return (f'<a href="{colab_url(path)}" target="_parent">'
            f'<img src="https://colab.research.google.com/assets/{BADGE_MARK}.svg" alt="Open In Colab"/></a>')


def setup_code() -> str:
    """The Colab-only set-up cell: clone the course, install the toolkit without touching Colab's
    TensorFlow, add only what Colab lacks, and say in one line if Colab's TensorFlow or Keras is
    older than the course supports. It does nothing outside Colab."""
    tf_min, keras_min = OLDEST_SUPPORTED["tensorflow"], OLDEST_SUPPORTED["keras"]
    return f'''{SETUP_MARK}: installs the course toolkit in Colab; does nothing anywhere else.
import importlib.metadata
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules:
    course = "/content/course"
    subprocess.run(["git", "clone", "--depth", "1", "https://github.com/{REPOSITORY}", course], check=False)
    # --no-deps: keep Colab's own TensorFlow and Keras; never downgrade them.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", course], check=True)
    missing = [pip for module, pip in (("keras_tuner", "keras-tuner"), ("nbval", "nbval"))
               if importlib.util.find_spec(module) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
    sys.path.insert(0, course)
    found = {{name: importlib.metadata.version(name) for name in ("tensorflow", "keras")}}
    oldest = {{"tensorflow": "{tf_min}", "keras": "{keras_min}"}}
    if any(tuple(map(int, found[n].split(".")[:2])) < tuple(map(int, oldest[n].split("."))) for n in oldest):
        print(f"This Colab has TensorFlow {{found['tensorflow']}} / Keras {{found['keras']}}, older than the course's "
              f"oldest supported pair (TensorFlow {tf_min} / Keras {keras_min}): run "
              "`!pip install -U tensorflow keras`, then Runtime > Restart session.")'''


def grade_code(path: Path) -> str:
    """The learner notebook's last cell: grade this notebook (in Colab, the open one)."""
    name = Path(path).name
    return f'''{SKIP_MARK}
{GRADE_MARK}: runs your exercise cells inside the course's own copy of this chapter and prints a verdict
# per exercise. In Colab it grades this open notebook. In Jupyter, save first (Ctrl+S); if it cannot tell
# which file is open, pass the path: tk.grade("{name}").
import toolkit as tk

verdict = tk.grade()'''


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Stable JSON: fixed metadata, cell ids and execution counts by position, no timings or stderr.

    Code cells are numbered 1, 2, ... in order (nbval refuses stored outputs without a count).
    stderr holds TensorFlow's machine-specific logs (timestamps, paths, CUDA probes); grading
    ignores it, and keeping it would change the file on every run.
    """
    count = 0
    nb.metadata = nbformat.NotebookNode({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"
        cell.metadata = nbformat.NotebookNode({k: v for k, v in cell.metadata.items() if k not in ("execution",)})
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write a normalised notebook (nbformat sorts keys, so diffs stay readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(normalise(nb), str(path))


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its id, title and the code-cell indices (nbval's "Cell N") it owns."""

    id: str
    title: str
    cells: tuple[int, ...]


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells, in order: nbval's "Cell N" is the N-th of these."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a notebook, in order, with their exercise and check cells."""
    titles: dict[str, str] = {}
    cells: dict[str, list[int]] = {}
    for index, cell in enumerate(code_cells(nb)):
        if found := EXERCISE.search(cell.source):
            titles[found.group(1)] = found.group(2).strip()
            cells.setdefault(found.group(1), []).append(index)
        elif found := CHECK.search(cell.source):
            cells.setdefault(found.group(1), []).append(index)
    return [Exercise(key, titles.get(key, "(untitled)"), tuple(cells[key])) for key in cells]


def exercise_cells(nb: nbformat.NotebookNode) -> dict[str, list[nbformat.NotebookNode]]:
    """``{exercise id: [its # EXERCISE cells, in order]}``: the cells a learner writes."""
    found: dict[str, list[nbformat.NotebookNode]] = {}
    for cell in code_cells(nb):
        if marker := EXERCISE.search(cell.source):
            found.setdefault(marker.group(1), []).append(cell)
    return found


def chapter_title(nb: nbformat.NotebookNode) -> str | None:
    """The notebook's ``# Chapter ...`` heading, or ``None``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# Chapter"):
            return cell.source.splitlines()[0]
    return None


def section_of_cells(nb: nbformat.NotebookNode) -> list[str]:
    """For each code cell, the ``## `` heading it sits under ("" before the first heading)."""
    heading, sections = "", []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            heading = cell.source.splitlines()[0][3:].strip()
        elif cell.cell_type == "code":
            sections.append(heading)
    return sections


def narrative_between(nb: nbformat.NotebookNode) -> list[int]:
    """Indices (in ``nb.cells``) of the code cells between the preamble (before the first ``## ``
    heading) and the Exercises section: the chapter's narrative, which no exercise may rely on."""
    inside, found = False, []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            inside = not cell.source.startswith(EXERCISES_HEADING)
        elif cell.cell_type == "code" and inside:
            found.append(index)
    return found


def chapter_notebooks() -> list[Path]:
    """The solution notebooks, in chapter order."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, *, timeout: int = 600, accept: bool = False) -> Path:
    """Run a notebook top to bottom in its folder and store its outputs, normalised (instructors).

    Cells marked ``# NBVAL_SKIP`` (GPU or network only) are skipped here as nbval skips them, and
    keep no outputs. The fresh run replaces the stored notebook only if every claim (``tk.claim``)
    still holds and every graded check cell printed what it printed before; otherwise the run is
    written to a scratch file and ``NotebookRegressionError`` names the cells. ``accept=True``
    stores changed check outputs on purpose; a false claim is never stored. Returns the path written.
    """
    import tempfile

    from nbclient import NotebookClient

    from toolkit.course import claims
    from toolkit.errors import NotebookRegressionError

    path = Path(path)
    stored = read(path)
    nb = read(path)
    skipped = [cell for cell in nb.cells if cell.cell_type == "code" and SKIP_MARK in cell.source]
    for cell in skipped:
        cell.outputs = []
        cell.metadata["tags"] = [*cell.metadata.get("tags", []), "skip-execution"]
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   skip_cells_with_tag="skip-execution",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in skipped:
        cell.metadata["tags"] = [tag for tag in cell.metadata["tags"] if tag != "skip-execution"]
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    problems = claims.regressions(stored, nb)
    refused = [p for p in problems if p.kind == "claim" or not accept]
    if refused:
        scratch = Path(tempfile.mkdtemp(prefix="refused-")) / path.name
        write(nb, scratch)
        advice = {"claim": "Fix the claim's code or its text; a false claim is never stored.",
                  "check": "If a check's new output is right, store it on purpose with --accept."}
        raise NotebookRegressionError(
            f"{path} was not stored; the fresh run is in {scratch}. Look at:\n  "
            + "\n  ".join(map(str, problems)) + "\n" + " ".join(advice[k] for k in sorted({p.kind for p in refused})))
    write(nb, path)
    return path
