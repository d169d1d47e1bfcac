"""The chapter notebooks: learner versions in sync, Colab headers, layout, and every chapter graded.

CI grades every chapter here. Each chapter's exercise gradings run as one class, once per test session
(``graded``): its solution passes, its learner version fails exactly its exercises (and nothing else),
every known mistake (``toolkit.course.mistakes``) fails its exercise only and shows its diagnosis, every
right answer passes and every forbidden call fails. Apart: every narrative passes in full, a learner's
saved wrong answer and an edited check cell fail, and chapter 1 gives the same verdicts three runs in a row.
The sandboxed runs go two at a time (``Grading(jobs=2)``): the two cores.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from toolkit.course import learner, mistakes, notebooks, submission
from toolkit.course.grading import DEFAULT_SEED, Grading, grade_class, grade_submission
from toolkit.course.nbval_plugin import close

CHAPTERS = notebooks.chapter_notebooks()
LEARNERS = [learner.learner_path(path) for path in CHAPTERS]
ALL_NOTEBOOKS = CHAPTERS + LEARNERS


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


# The narratives go two at a time: on two cores, chapter 5's tuning cell (171 s alone) then takes longer than
# a learner's 240 s cell limit, so these runs get a longer one. They check what the cells print, not how fast.
NARRATIVE_CELL_TIMEOUT_S = 900


@functools.cache
def narrated() -> dict[str, object]:
    """Every chapter's whole solution notebook, narrative included, graded once at the stored seed (the stored
    outputs are the key: no solution run), two at a time, the longest first. ``{chapter stem: its verdict}``."""
    longest_first = sorted(CHAPTERS, key=lambda path: path.stem not in LONGEST_NARRATIVES)  # stable: then in order
    verdicts = grade_class(longest_first, grading=Grading(seed=DEFAULT_SEED, cell_timeout=NARRATIVE_CELL_TIMEOUT_S,
                                                          jobs=2))
    return {source.stem: verdict for source, verdict in zip(longest_first, verdicts)}


LONGEST_NARRATIVES = ("05_regularization_and_tuning", "06_pretraining_and_finetuning")  # 269 s and 205 s alone


@pytest.mark.slow
def test_chapter_1_grades_the_same_three_runs_in_a_row():
    """Chapter 1's solution graded three times at the stored seed, exercises only, each run its own
    (``reuse_runs=False``): every exercise passes and the verdicts are identical. (Its whole notebook is
    graded below with the others; each chapter's class grades its solution at a seed drawn for the session.)"""
    grading = Grading(seed=DEFAULT_SEED, exercises_only=True, reuse_runs=False, jobs=2)
    verdicts = grade_class([CHAPTERS[0]] * 3, grading=grading)
    runs = [(v.exercises, v.environment, v.problem) for v in verdicts]
    assert grading.runs_started == 3 and runs[0] == runs[1] == runs[2]
    exercises, environment, problem = runs[0]
    assert exercises and all(exercises.values()) and not environment and problem is None


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_passes_with_its_solutions(source):
    """The whole notebook at the stored seed: the stored expected outputs are what a fresh run of the solution
    prints, narrative included."""
    verdict = narrated()[source.stem]
    assert verdict.passed and not verdict.environment, verdict.report()


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


def _answered(source, answers: dict, path, extra: dict | None = None):
    """The solution notebook with the exercises in ``answers`` answered so (``toolkit.course.mistakes``'s
    format), and with ``extra[exercise]`` appended to those exercises' cells; written to ``path``."""
    nb = mistakes.substitute(notebooks.read(source), answers)
    for exercise, line in (extra or {}).items():
        for cell in notebooks.exercise_cells(nb)[exercise][-1:]:
            cell.source = cell.source.rstrip("\n") + "\n" + line
    nbformat.write(nb, str(path))
    return path


def _reference(name: str) -> str:
    """A line that names a forbidden entry without changing what the cell does."""
    return f"_forbidden = {mistakes.shown_name(name)}"


@dataclass
class Graded:
    """One chapter graded as one class, at a check seed drawn for the test session."""

    grading: Grading
    solution: object
    learner: object
    wrong: list  # round k: every exercise's k-th known mistake
    right: list  # round k: every exercise's k-th right answer
    forbidden: list  # the solution, with every exercise's first forbidden name used too


@functools.cache
def graded(stem: str) -> Graded:
    """Grade a chapter's solution, learner version, every mistake round, right round and forbidden round as one
    class (``--exercises-only``, two runs at a time, the mistake rounds too), with one ``Grading``: the solution
    runs once at the seed, and the mistake rounds the diagnoses need are the same runs as the wrong submissions
    (cached by content)."""
    source = next(c for c in CHAPTERS if c.stem == stem)
    folder = Path(tempfile.mkdtemp(prefix=f"graded-{stem}-"))
    rights = mistakes.right_answers(stem)
    banned = mistakes.forbidden(stem)
    wrong = [_answered(source, answers, folder / f"wrong{k}_{source.name}")
             for k, answers in enumerate(mistakes.rounds(stem))]
    right = [_answered(source, {e: a[k] for e, a in rights.items() if len(a) > k}, folder / f"right{k}_{source.name}")
             for k in range(max(map(len, rights.values()), default=0))]
    forbidden = [_answered(source, {}, folder / f"forbidden_{source.name}",
                           {e: _reference(names[0]) for e, names in banned.items()})] if banned else []
    grading = Grading(exercises_only=True, jobs=2)
    verdicts = grade_class([source, learner.learner_path(source), *wrong, *right, *forbidden], grading=grading)
    rest = iter(verdicts[2:])
    return Graded(grading, verdicts[0], verdicts[1], [next(rest) for _ in wrong], [next(rest) for _ in right],
                  [next(rest) for _ in forbidden])


def _failed(verdict) -> set[str]:
    return {exercise for exercise, ok in verdict.exercises.items() if not ok}


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_passes_at_a_check_seed_drawn_for_the_run(source):
    """The solutions pass with the narrative sections left out, at a fresh seed: each exercise depends only on
    the chapter's first cells and its own cells (what makes `--exercises-only` a valid fast re-grade), and a
    second run of the solution prints what the first printed."""
    verdict = graded(source.stem).solution
    assert verdict.passed and not verdict.diagnoses, verdict.report()


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_learner_version_fails_exactly_its_exercises(source):
    """Graded as it ships, each learner version fails every exercise, each check saying "Exercise N is not done
    yet" instead of raising (so Run All goes on), nothing else fails, and no known mistake is named: a wrong
    answer that matches none gets the plain reason."""
    verdict = graded(source.stem).learner
    assert verdict.exercises and not any(verdict.exercises.values()) and not verdict.environment, verdict.report()
    assert all(f"got 'Exercise {exercise} is not done yet" in reason
               for exercise, reason in verdict.reasons.items()), verdict.reasons  # and Run All went on
    assert not verdict.diagnoses, verdict.report()


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_two_plausible_wrong_answers(source, tmp_path):
    nb = notebooks.read(source)
    found = mistakes.mistakes(source.stem)
    assert found.keys() == notebooks.exercise_cells(nb).keys()
    for exercise, known in found.items():
        assert len(known) >= 2 and len({m.answer for m in known}) == len(known), exercise
        assert all(m.diagnosis.strip() and m.diagnosis.rstrip().endswith(".") for m in known), exercise
    assert set(mistakes.forbidden(source.stem)) <= set(found)
    for k, answers in enumerate(mistakes.rounds(source.stem)):
        answered = notebooks.read(_answered(source, answers, tmp_path / f"{k}.ipynb"))
        for exercise in answers:
            cells = notebooks.exercise_cells(answered)[exercise]
            assert "### BEGIN SOLUTION" not in cells[0].source and "\n" in cells[0].source, exercise


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_known_mistake_fails_its_exercise_only_and_shows_its_diagnosis(source):
    """Round k answers every exercise with its k-th known mistake: exactly those exercises fail, each showing
    that mistake's diagnosis (at a check seed drawn for the run, against the solution's outputs at that seed)."""
    found, rounds = mistakes.mistakes(source.stem), graded(source.stem).wrong
    banned, problems = mistakes.forbidden(source.stem), []
    for k, verdict in enumerate(rounds):
        wrong = {exercise for exercise, known in found.items() if len(known) > k}
        if _failed(verdict) != wrong or verdict.environment:
            problems.append(f"round {k}: failed {sorted(_failed(verdict))}, expected {sorted(wrong)}\n"
                            f"{verdict.report()}")
        for exercise in sorted(wrong & _failed(verdict)):
            calls = mistakes.called_by(found[exercise][k], banned.get(exercise, ()))
            if calls:  # a lazy answer that calls a forbidden name: the report says so, whatever it printed
                if "calls" not in verdict.diagnoses.get(exercise, "") or calls[0] not in verdict.diagnoses[exercise]:
                    problems.append(f"exercise {exercise}, mistake {k + 1} calls {calls[0]}, but the report shows "
                                    f"{verdict.diagnoses.get(exercise)!r}")
            elif verdict.diagnoses.get(exercise) != found[exercise][k].diagnosis:
                problems.append(f"exercise {exercise}, mistake {k + 1}: the report shows "
                                f"{verdict.diagnoses.get(exercise)!r}, not {found[exercise][k].diagnosis!r} "
                                f"({verdict.reasons.get(exercise)})")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_the_known_mistakes_of_an_exercise_print_different_outputs(source):
    """Each diagnosis must be identifiable: no two mistakes of one exercise print the same check output."""
    outputs, banned = graded(source.stem).grading.mistake_outputs(source.stem), mistakes.forbidden(source.stem)
    same = []
    for exercise, printed in outputs.items():
        for i, (first, a) in enumerate(printed):
            for j, (second, b) in enumerate(printed[i + 1:], i + 1):
                if any(mistakes.called_by(m, banned.get(exercise, ())) for m in (first, second)):
                    continue  # a forbidden call is diagnosed by the call, whatever it prints
                if a and b and len(a) == len(b) and None not in a + b and all(map(close, a, b)):
                    same.append(f"exercise {exercise}: mistakes {i + 1} ({first.diagnosis!r}) and {j + 1} "
                                f"({second.diagnosis!r}) both print {a!r}")
    assert not same, "\n".join(same)


@pytest.mark.slow
@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_every_right_answer_written_differently_passes(source):
    for k, verdict in enumerate(graded(source.stem).right):
        assert verdict.passed, f"right answers, round {k}:\n{verdict.report()}"


@pytest.mark.slow
@pytest.mark.parametrize("source", [c for c in CHAPTERS if mistakes.forbidden(c.stem)], ids=lambda p: p.name)
def test_a_forbidden_name_fails_an_otherwise_right_answer_with_its_diagnosis(source):
    """Graded: the solution with each exercise's first forbidden name in it fails those exercises only."""
    banned = mistakes.forbidden(source.stem)
    (verdict,) = graded(source.stem).forbidden
    assert _failed(verdict) == set(banned), verdict.report()
    for exercise, names in banned.items():
        assert verdict.diagnoses[exercise] == mistakes.FORBIDDEN_DIAGNOSIS.format(exercise=exercise,
                                                                                name=mistakes.shown_name(names[0]))


@pytest.mark.parametrize("source", [c for c in CHAPTERS if mistakes.forbidden(c.stem)], ids=lambda p: p.name)
def test_every_forbidden_name_is_found_in_an_otherwise_right_exercise_cell(source):
    """The scan the grader runs on the learner's cells (outside the kernel) finds each forbidden name, alone,
    beside the solution, and finds none in the solution itself."""
    cells = notebooks.exercise_cells(notebooks.read(source))
    for exercise, names in mistakes.forbidden(source.stem).items():
        solution = "\n".join(cell.source for cell in cells[exercise])
        assert mistakes.forbidden_calls(solution, names) == [], exercise
        for name in names:
            assert mistakes.forbidden_calls(solution + "\n" + _reference(name), names) == [name], (exercise, name)


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
    verdict = grade_submission(path, grading=graded(CHAPTERS[0].stem).grading)  # its solution run, reused
    assert verdict.exercises and not any(verdict.exercises.values()), verdict.report()
