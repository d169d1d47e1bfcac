"""The notebook workflow: learner versions, Colab headers, and grading with nbval.

CI executes and grades every chapter notebook here: each solution passes, each learner
version fails on exactly its unsolved exercises, a wrong answer fails its check, and the
verdicts repeat run after run.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from toolkit import notebooks, student
from toolkit.grading import grade

CHAPTERS = notebooks.chapter_notebooks()
LEARNERS = [student.learner_path(path) for path in CHAPTERS]
ALL_NOTEBOOKS = CHAPTERS + LEARNERS


def test_every_chapter_has_a_learner_version():
    assert CHAPTERS, "no chapter notebooks found"
    assert sorted(notebooks.LEARNER_DIR.glob("*.ipynb")) == sorted(LEARNERS)


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_learner_versions_are_in_sync_with_their_sources(source):
    expected = nbformat.writes(student.learner_version(source))
    on_disk = nbformat.writes(notebooks.normalise(notebooks.read(student.learner_path(source))))
    assert on_disk == expected, f"{student.learner_path(source)} is stale: run `python -m toolkit student`"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(notebooks.ROOT)))
def test_badge_and_setup_cell_agree_with_the_one_repository_url(path):
    nb = notebooks.read(path)
    badges = [c for c in nb.cells if c.cell_type == "markdown" and notebooks.BADGE_MARK in c.source]
    setups = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(notebooks.SETUP_MARK)]
    assert [c.source for c in badges] == [notebooks.badge_markdown(path)]
    assert [c.source for c in setups] == [notebooks.setup_code()]
    assert notebooks.colab_url(path).endswith(str(path.relative_to(notebooks.ROOT)))
    assert f"github.com/{notebooks.REPOSITORY}" in setups[0].source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_layout_follows_the_course_conventions(path):
    nb = notebooks.read(path)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# Chapter")
    assert notebooks.BADGE_MARK in cells[1].source
    assert cells[2].source.startswith(notebooks.SETUP_MARK)
    assert "keras.__version__" in cells[3].source  # version checks
    assert "tk.seed_everything(" in cells[4].source  # seeds
    headings = [c.source.splitlines()[0] for c in cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert headings[-2:] == ["## Summary", "## Exercises"]
    found = notebooks.exercises(nb)
    assert 3 <= len(found) <= 5
    code = [c for c in cells if c.cell_type == "code"]
    for exercise in found:
        checks = [code[i] for i in exercise.cells if "NBVAL_CHECK_OUTPUT" in code[i].source]
        assert checks and all(c.outputs for c in checks), f"exercise {exercise.id} needs a check cell with output"
    assert "Seed 0" in "".join(c.source for c in cells if c.cell_type == "markdown")  # quotes the seeds


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(notebooks.ROOT)))
def test_notebooks_are_stored_normalised(path):
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(notebooks.normalise(notebooks.read(path))) + "\n"
    assert '"name": "stderr"' not in text


def test_stub_keeps_indentation_and_raises_with_the_exercise_number():
    source = ("# EXERCISE 7: Something\ndef f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
              "    ### END SOLUTION\n\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n")
    stubbed = student.stub(source)
    assert "return x + 1" not in stubbed and "y = 2" not in stubbed
    assert '    raise NotImplementedError("Exercise 7: replace this line with your code.")\n' in stubbed
    assert stubbed.count("# YOUR CODE HERE") == 2 and '"""Doc."""' in stubbed
    with pytest.raises(ValueError, match="no ### BEGIN SOLUTION"):
        student.stub("# EXERCISE 1: x\nprint(1)\n")


def _verdicts(results):
    return [(v.path.name, dict(v.exercises), list(v.failed_other_cells)) for v in results]


@pytest.mark.slow
def test_chapter_1_grades_the_same_three_runs_in_a_row():
    """Solution: every exercise passes. Learner version: exactly its (all unsolved) exercises fail,
    and every other cell runs. The same verdicts three times in a row."""
    source, learner = CHAPTERS[0], LEARNERS[0]
    runs = [_verdicts(grade([source, learner])) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    (_, solved, solved_other), (_, unsolved, unsolved_other) = runs[0]
    assert solved and all(solved.values()) and not solved_other
    assert unsolved.keys() == solved.keys() and not any(unsolved.values()) and not unsolved_other


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS[1:], ids=lambda p: p.name)
def test_every_other_chapter_passes_and_its_learner_version_fails_exactly_its_exercises(source):
    solved, unsolved = grade([source, student.learner_path(source)])
    assert solved.passed, solved.report()
    assert not any(unsolved.exercises.values()) and not unsolved.failed_other_cells, unsolved.report()


@pytest.mark.slow
def test_a_wrong_answer_fails_its_own_check_only(tmp_path):
    nb = notebooks.read(CHAPTERS[0])
    exercise_1 = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# EXERCISE 1:"))
    exercise_1.source = re.sub(r"return -\(-n_samples // batch_size\)", "return n_samples // batch_size",
                               exercise_1.source)  # forgets the last, smaller batch
    assert "return n_samples // batch_size" in exercise_1.source
    wrong = tmp_path / CHAPTERS[0].name
    nbformat.write(nb, str(wrong))
    (verdict,) = grade([wrong])
    assert verdict.exercises == {"1": False, "2": True, "3": True, "4": True, "5": True}
    assert "output differs" in verdict.reasons["1"]
    assert not verdict.failed_other_cells


def _tiny_notebook(path, answer: str) -> None:
    """Two exercises: the first with the given answer, the second always right."""
    cells = [
        nbformat.v4.new_code_cell("x = 20"),
        nbformat.v4.new_code_cell(f"# EXERCISE 1: Double x\n### BEGIN SOLUTION\ny = {answer}\n### END SOLUTION"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# CHECK 1\nprint(y)",),
        nbformat.v4.new_code_cell("# EXERCISE 2: Halve x\n### BEGIN SOLUTION\nz = x // 2\n### END SOLUTION"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# CHECK 2\nprint(z)"),
    ]
    cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="40\n")]
    cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="10\n")]
    notebooks.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.mark.slow
def test_grade_command_prints_a_verdict_per_exercise_and_its_exit_status(tmp_path):
    import os
    import subprocess
    import sys

    _tiny_notebook(tmp_path / "right.ipynb", "2 * x")
    _tiny_notebook(tmp_path / "wrong.ipynb", "x + 2")
    env = {**os.environ, "PYTHONPATH": str(notebooks.ROOT)}

    def run(name):
        return subprocess.run([sys.executable, "-m", "toolkit", "grade", str(tmp_path / name)], env=env,
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)

    right, wrong = run("right.ipynb"), run("wrong.ipynb")
    assert right.returncode == 0, right.stdout[-2000:] + right.stderr[-2000:]
    assert re.search(r"Exercise 1 +Double x +PASS", right.stdout) and "2 of 2 exercises passed" in right.stdout
    assert wrong.returncode == 1
    assert re.search(r"Exercise 1 +Double x +FAIL  \(cell 2 output differs", wrong.stdout)
    assert re.search(r"Exercise 2 +Halve x +PASS", wrong.stdout) and "1 of 2 exercises passed" in wrong.stdout


def test_readme_colab_links_point_at_real_notebooks_through_the_one_repository_url():
    readme = (notebooks.ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"]+", readme)
    assert len(links) == len(ALL_NOTEBOOKS)
    assert sorted(links) == sorted(notebooks.colab_url(path) for path in ALL_NOTEBOOKS)
