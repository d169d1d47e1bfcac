"""The chapter notebooks: learner versions in sync, Colab headers, layout, and every chapter graded.

CI grades every chapter here: each solution passes, each learner version fails exactly its exercises
(and nothing else), a learner's saved wrong answer and an edited check cell fail, the exercises need
nothing from the narrative sections, and chapter 1 gives the same verdicts three runs in a row.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from toolkit.course import mistakes
from toolkit.course import learner, notebooks, submission
from toolkit.course.grading import DEFAULT_SEED, Grading, grade_class, grade_submission

CHAPTERS = notebooks.chapter_notebooks()
LEARNERS = [learner.learner_path(path) for path in CHAPTERS]
ALL_NOTEBOOKS = CHAPTERS + LEARNERS
# Every exercise's first two known mistakes (graded as two submissions), the rest (one more submission per
# round), and right answers written differently: all from the course's one list, ``toolkit.course.mistakes``.
WRONG = {c.stem: {e: tuple(m.answer for m in ms[:2]) for e, ms in mistakes.mistakes(c.stem).items()} for c in CHAPTERS}
MORE_WRONG = {c.stem: {e: tuple(m.answer for m in ms[2:]) for e, ms in mistakes.mistakes(c.stem).items() if ms[2:]}
              for c in CHAPTERS}
MORE_WRONG = {chapter: more for chapter, more in MORE_WRONG.items() if more}
RIGHT = {c.stem: mistakes.right_answers(c.stem) for c in CHAPTERS}


def test_every_chapter_has_a_learner_version_and_it_is_the_grading_key():
    assert CHAPTERS, "no chapter notebooks found"
    assert sorted(notebooks.LEARNER_DIR.glob("*.ipynb")) == sorted(LEARNERS)
    assert list(submission.keys().values()) == LEARNERS


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_learner_versions_are_in_sync_with_their_sources(source):
    expected = nbformat.writes(learner.learner_version(source))
    on_disk = nbformat.writes(notebooks.normalise(notebooks.read(learner.learner_path(source))))
    assert on_disk == expected, f"{learner.learner_path(source)} is stale: run `python -m toolkit student`"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(notebooks.ROOT)))
def test_badge_and_setup_cell_agree_with_the_one_repository_url(path):
    nb = notebooks.read(path)
    badges = [c for c in nb.cells if c.cell_type == "markdown" and notebooks.BADGE_MARK in c.source]
    setups = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(notebooks.SETUP_MARK)]
    assert [c.source for c in badges] == [notebooks.badge_markdown(path)]
    assert [c.source for c in setups] == [notebooks.setup_code()]
    assert notebooks.colab_url(path).endswith(str(path.relative_to(notebooks.ROOT)))
    assert f"github.com/{notebooks.REPOSITORY}" in setups[0].source


def test_the_setup_cell_says_in_one_line_when_colab_is_older_than_the_course_supports(monkeypatch, capsys):
    import importlib.metadata
    import subprocess
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: None)
    versions = {"tensorflow": "2.18.0", "keras": "3.10.0"}
    monkeypatch.setattr(importlib.metadata, "version", lambda name: versions[name])
    exec(notebooks.setup_code(), {})
    old = capsys.readouterr().out.splitlines()
    assert len(old) == 1 and old[0].startswith("This Colab has TensorFlow 2.18.0 / Keras 3.10.0, older than")
    versions.update(tensorflow="2.19.1", keras="3.10.0")
    exec(notebooks.setup_code(), {})
    assert capsys.readouterr().out == ""
    sys.path.remove("/content/course")


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
    assert 3 <= len(found) <= 6
    code = notebooks.code_cells(nb)
    for exercise in found:
        checks = [code[i] for i in exercise.cells if notebooks.CHECK_MARK in code[i].source]
        assert checks and all(c.outputs for c in checks), f"exercise {exercise.id} needs a check cell with output"
    assert "Seed 0" in "".join(c.source for c in cells if c.cell_type == "markdown")  # quotes the seeds


@pytest.mark.parametrize("path", LEARNERS, ids=lambda p: p.name)
def test_every_learner_version_ends_with_a_grade_my_work_cell(path):
    last = notebooks.read(path).cells[-1]
    assert last.cell_type == "code" and last.source.startswith(notebooks.SKIP_MARK)
    assert notebooks.GRADE_MARK in last.source and "tk.grade()" in last.source and path.name in last.source


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(notebooks.ROOT)))
def test_notebooks_are_stored_normalised(path):
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(notebooks.normalise(notebooks.read(path))) + "\n"
    assert '"name": "stderr"' not in text


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_graded_narrative_checks_never_compare_timings_or_memory(path):
    code = notebooks.code_cells(notebooks.read(path))
    for cell in code:
        if notebooks.CHECK_MARK in cell.source:
            assert not re.search(r"\.mib\b|samples_per_second|throughput|steady\(|seconds|\brates?\[", cell.source), \
                cell.source


def test_stub_keeps_indentation_and_raises_with_the_exercise_number():
    source = ("# EXERCISE 7: Something\ndef f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
              "    ### END SOLUTION\n\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n")
    stubbed = learner.stub(source)
    assert "return x + 1" not in stubbed and "y = 2" not in stubbed
    assert '    raise NotImplementedError("Exercise 7: replace this line with your code.")\n' in stubbed
    assert stubbed.count("# YOUR CODE HERE") == 2 and '"""Doc."""' in stubbed
    with pytest.raises(ValueError, match="no ### BEGIN SOLUTION"):
        learner.stub("# EXERCISE 1: x\nprint(1)\n")


def test_readme_colab_links_point_at_real_notebooks_through_the_one_repository_url():
    readme = (notebooks.ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"]+", readme)
    assert len(links) == len(ALL_NOTEBOOKS)
    assert sorted(links) == sorted(notebooks.colab_url(path) for path in ALL_NOTEBOOKS)


def _verdict(path, **options):
    verdict = grade_submission(path, **options)
    return verdict.exercises, verdict.environment, verdict.problem


@pytest.mark.slow
def test_chapter_1_grades_the_same_three_runs_in_a_row():
    """The whole solution notebook, narrative included, graded three times: every exercise passes, every
    narrative cell runs, and the verdicts are identical."""
    grading = Grading()  # one check seed drawn for the three runs: the solution runs once at it
    runs = [_verdict(CHAPTERS[0], grading=grading) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    exercises, environment, problem = runs[0]
    assert exercises and all(exercises.values()) and not environment and problem is None


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS[1:], ids=lambda p: p.name)
def test_every_other_chapter_passes_with_its_solutions(source):
    """At the stored seed: the stored expected outputs are what a fresh run of the solution prints."""
    verdict = grade_submission(source, seed=DEFAULT_SEED)
    assert verdict.passed, verdict.report()


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_exercises_need_nothing_from_the_narrative_sections(source):
    """The solutions pass with the narrative sections left out: each exercise depends only on the chapter's
    first cells and its own cells, which is what makes `--exercises-only` a valid fast re-grade (and what the
    tests below rely on)."""
    verdict = grade_submission(source, exercises_only=True, seed=DEFAULT_SEED)
    assert verdict.passed, verdict.report()


@pytest.mark.slow
@pytest.mark.parametrize("learner_version", LEARNERS, ids=lambda p: p.name)
def test_every_learner_version_fails_exactly_its_exercises(learner_version):
    """Graded as it ships, each learner version fails every exercise, each check saying "Exercise N is not done
    yet" instead of raising (so Run All goes on), and nothing else fails (its narrative is the solution's,
    which runs in full above)."""
    verdict = grade_submission(learner_version, exercises_only=True, seed=DEFAULT_SEED)
    assert verdict.exercises and not any(verdict.exercises.values()) and not verdict.environment, verdict.report()
    assert all(f"got 'Exercise {exercise} is not done yet" in reason
               for exercise, reason in verdict.reasons.items()), verdict.reasons  # and Run All went on


@pytest.mark.slow
def test_a_learner_who_runs_a_wrong_answer_and_saves_fails(tmp_path):
    """The bug this grader exists for: `return 0`, run and saved (so the check cell stores "[0, 0, 0] 0 0"),
    and a check cell rewritten to print the expected text, both in chapter 1's learner version."""
    nb = notebooks.read(LEARNERS[0])
    code = notebooks.code_cells(nb)
    first = next(i for i, c in enumerate(code) if c.source.startswith("# EXERCISE 1:"))
    code[first].source = re.sub(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(.*\)", "return 0",
                                code[first].source)
    expected = code[first + 1].outputs[0].text
    code[first + 1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="[0, 0, 0] 0 0\n")]
    second = next(i for i, c in enumerate(code) if c.source.startswith("# EXERCISE 2:"))
    code[second + 1].source = "# NBVAL_CHECK_OUTPUT\n# CHECK 2\nprint(" + repr(code[second + 1].outputs[0].text) + \
        ", end='')"
    path = tmp_path / "01_batch_vs_online.ipynb"
    nbformat.write(nb, str(path))
    verdict = grade_submission(path, exercises_only=True, seed=DEFAULT_SEED)  # even against the stored outputs
    assert not verdict.exercises["1"] and not verdict.exercises["2"], verdict.report()
    assert f"expected {expected!r}"[:40] in verdict.reasons["1"] or "output differs" in verdict.reasons["1"]


def _answered(source, which: int, path, answers=WRONG):
    """The solution notebook with every exercise's solution blocks replaced by answer `which` of `answers`
    (exercises with fewer answers keep their solution)."""
    nb = notebooks.read(source)
    for exercise, cells in notebooks.exercise_cells(nb).items():
        if len(answers.get(source.stem, {}).get(exercise, ())) <= which:
            continue
        answer = answers[source.stem][exercise][which]
        bodies = iter(answer if isinstance(answer, tuple) else (answer,))

        def wrong(found, bodies=bodies):
            indent = found.group("indent")
            return "".join(f"{indent}{line}\n" for line in next(bodies).splitlines())

        for cell in cells:
            cell.source = learner.SOLUTION.sub(wrong, cell.source)
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_two_plausible_wrong_answers(source, tmp_path):
    nb = notebooks.read(source)
    assert WRONG[source.stem].keys() == notebooks.exercise_cells(nb).keys()
    for exercise, answers in WRONG[source.stem].items():
        assert len(answers) == 2 and answers[0] != answers[1], exercise
    for which in (0, 1):
        answered = notebooks.read(_answered(source, which, tmp_path / f"{which}.ipynb"))
        for exercise, cells in notebooks.exercise_cells(answered).items():
            assert "### BEGIN SOLUTION" not in cells[0].source and "\n" in cells[0].source, exercise


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_check_fails_plausible_wrong_answers(source, tmp_path):
    """The first and the second wrong answers of every exercise, graded as one class (one check seed drawn
    for the run, the solution run once at it)."""
    paths = [_answered(source, which, tmp_path / f"wrong{which}_{source.name}") for which in (0, 1)]
    for verdict in grade_class(paths, exercises_only=True, jobs=2):
        assert verdict.exercises and not any(verdict.exercises.values()), verdict.report()
        assert not verdict.environment, verdict.report()


@pytest.mark.slow
@pytest.mark.parametrize("source", [c for c in CHAPTERS if c.stem in MORE_WRONG], ids=lambda p: p.name)
def test_the_wrong_answers_that_passed_before_fail_and_right_ones_written_differently_pass(source, tmp_path):
    """Issue 20's cases, graded at a check seed drawn for the run, against the solution's outputs at that seed."""
    more = MORE_WRONG[source.stem]
    rounds = max(len(answers) for answers in more.values())
    paths = [_answered(source, which, tmp_path / f"wrong{which}_{source.name}", MORE_WRONG) for which in range(rounds)]
    paths.append(_answered(source, 0, tmp_path / f"right_{source.name}", RIGHT))
    verdicts = grade_class(paths, exercises_only=True, jobs=2)
    for which, verdict in enumerate(verdicts[:-1]):
        wrong = {exercise for exercise, answers in more.items() if len(answers) > which}
        assert {e for e, ok in verdict.exercises.items() if not ok} == wrong, verdict.report()
    assert verdicts[-1].passed, verdicts[-1].report()


@pytest.mark.slow
def test_a_transformer_that_prints_every_stored_check_output_fails_chapter_1(tmp_path):
    """The cheat that passed every exercise of every chapter with stubs: an IPython input transformer, typed
    into an exercise cell, that swaps each check cell for a print of the output stored under it."""
    nb = notebooks.read(LEARNERS[0])
    code = notebooks.code_cells(nb)
    stored = {notebooks.CHECK.search(c.source).group(1): "".join(o.get("text", "") for o in c.outputs)
              for c in code if notebooks.CHECK.search(c.source)}
    first = next(c for c in code if c.source.startswith("# EXERCISE 1:"))
    first.source += f'''

STORED = {stored!r}


def _print_the_stored_output(lines):
    import re
    found = re.search(r"^# CHECK (\\w+)", "".join(lines), re.MULTILINE)
    return [f"print({{STORED[found.group(1)]!r}}, end='')\\n"] if found and found.group(1) in STORED else lines


get_ipython().input_transformers_cleanup.append(_print_the_stored_output)'''
    path = tmp_path / "01_batch_vs_online.ipynb"
    nbformat.write(nb, str(path))
    verdict = grade_submission(path, exercises_only=True)
    assert verdict.exercises and not any(verdict.exercises.values()), verdict.report()
