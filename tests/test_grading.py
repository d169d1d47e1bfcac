"""Grading that can be trusted: only the exercise cells of a submission count, run inside the course's
own notebook, at arm's length (time limits, dying kernels, a sandbox), one submission or a class.

Most tests grade a tiny two-exercise course (seconds per run); the real chapters are graded in
``test_chapters.py``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import types

import nbformat
import pytest

from toolkit.course import frontends, grading, notebooks, runner, submission, tampering, verdicts
from toolkit.course.grading import grade_class, grade_submission
from toolkit.course.nbval_plugin import failure_reason
from toolkit.course.submission import SubmissionError
from toolkit.course.verdicts import Verdict, write_gradebook
from toolkit.errors import ArgumentError

STUB = 'raise NotImplementedError("replace this line")'


def tiny_key() -> nbformat.NotebookNode:
    """A chapter with a preamble, one narrative section and two exercises, as `toolkit student` writes it."""
    cells = [
        nbformat.v4.new_markdown_cell("# Chapter 99 · A tiny course"),
        nbformat.v4.new_code_cell("x = 20"),
        nbformat.v4.new_markdown_cell("## 1. Narrative"),
        nbformat.v4.new_code_cell("narrative = x + 1\nprint(narrative)"),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_code_cell(f"# EXERCISE 1: Double x\n{STUB}"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# CHECK 1\nprint(y)"),
        nbformat.v4.new_code_cell(f"# EXERCISE 2: Halve x\n{STUB}"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# CHECK 2\nprint(z)"),
        nbformat.v4.new_code_cell(notebooks.grade_code(notebooks.LEARNER_DIR / "99_tiny.ipynb")),
    ]
    cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="21\n")]
    cells[6].outputs = [nbformat.v4.new_output("stream", name="stdout", text="40\n")]
    cells[8].outputs = [nbformat.v4.new_output("stream", name="stdout", text="10\n")]
    return notebooks.normalise(nbformat.v4.new_notebook(cells=cells))


def install_tiny_key(tmp_path, monkeypatch):
    """Install the tiny chapter as the only grading key; returns its path."""
    keys = tmp_path / "keys"
    keys.mkdir()
    nbformat.write(tiny_key(), str(keys / "99_tiny.ipynb"))
    monkeypatch.setattr(submission, "key_dir", lambda: keys)
    return keys / "99_tiny.ipynb"


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    """The tiny chapter installed as the only grading key; returns its path."""
    return install_tiny_key(tmp_path, monkeypatch)


def submit(path, first: str = "y = 2 * x", second: str = "z = x // 2", *, check_1: str | None = None,
           saved_output: str | None = None):
    """A learner's file: the key with answers filled in, optionally a check cell rewritten and an output saved."""
    nb = tiny_key()
    code = notebooks.code_cells(nb)
    code[2].source = f"# EXERCISE 1: Double x\n{first}"
    code[4].source = f"# EXERCISE 2: Halve x\n{second}"
    if check_1 is not None:
        code[3].source = check_1
    if saved_output is not None:  # the learner ran the check cell and saved: their own output is stored
        code[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text=saved_output)]
    nbformat.write(nb, str(path))
    return path


# --- what is taken from a submission ---------------------------------------------------------------------


def test_assemble_takes_only_the_exercise_cells(tiny_course, tmp_path):
    nb, _ = submission.load(submit(tmp_path / "mine.ipynb", first="y = 0", check_1="print(40)", saved_output="0\n"))
    merged = submission.assemble(notebooks.read(tiny_course), nb)
    code = notebooks.code_cells(merged)
    assert code[2].source == "# EXERCISE 1: Double x\ny = 0" and code[2].outputs == []
    assert code[3].source == "# NBVAL_CHECK_OUTPUT\n# CHECK 1\nprint(y)"  # the course's check, not the learner's
    assert code[3].outputs[0].text == "40\n"  # the course's expected output, not the saved one


@pytest.mark.parametrize(("edit", "message"), [
    (lambda code: code.pop(2), "exercise 1 (Double x) is missing"),
    (lambda code: code.insert(2, code[2]), "appears 2 times, expected 1"),
    (lambda code: setattr(code[4], "source", "# EXERCISE 2: Something else\nz = 1"), "titled 'Something else'"),
    (lambda code: code.append(nbformat.v4.new_code_cell("# EXERCISE 7: Extra\npass")), "['7'] are not part"),
])
def test_a_missing_duplicated_renamed_or_extra_exercise_is_named(tiny_course, tmp_path, edit, message):
    nb = nbformat.read(str(submit(tmp_path / "mine.ipynb")), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    edit(code)
    nb.cells = [nb.cells[0], *code]
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        submission.assemble(notebooks.read(tiny_course), nb, "mine.ipynb")


@pytest.mark.parametrize(("content", "message"), [
    (b"print('hello')\n", "is not a Jupyter notebook \\(not valid notebook JSON"),
    (b'{"metadata": {}}', "has no list of cells"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a Jupyter notebook"),
])
def test_a_file_that_is_not_a_notebook_is_refused_clearly(tiny_course, tmp_path, content, message):
    path = tmp_path / "homework.ipynb"
    path.write_bytes(content)
    verdict = grade_submission(path)
    assert verdict.problem and verdict.exercises == {}
    assert verdict.problem.startswith("homework.ipynb ") and __import__("re").search(message, verdict.problem)
    assert "NOT GRADED" in verdict.report()


def test_a_missing_file_or_folder_is_refused_clearly(tiny_course, tmp_path):
    assert "does not exist" in grade_submission(tmp_path / "nope.ipynb").problem
    assert "does not exist (or is a folder)" in grade_submission(tmp_path).problem


def test_the_chapter_comes_from_the_badge_the_title_or_the_name_and_the_wrong_one_is_refused():
    available = submission.keys()
    first, second = list(available)[:2]
    learner = notebooks.read(available[first])
    assert submission.identify(learner, "Copy of homework.ipynb") == first  # the Colab badge
    learner.cells = [c for c in learner.cells if notebooks.BADGE_MARK not in c.source]
    assert submission.identify(learner, "homework.ipynb") == first  # the "# Chapter 1" title
    assert submission.identify(nbformat.v4.new_notebook(), f"{second}.ipynb") == second  # the file name
    assert submission.identify(learner, "x.ipynb", chapter="1") == first
    with pytest.raises(SubmissionError, match=f"is chapter {first}, not chapter {second}: this is the wrong notebook"):
        submission.identify(learner, "x.ipynb", chapter=second[:2])
    with pytest.raises(SubmissionError, match="Cannot tell which chapter"):
        submission.identify(nbformat.v4.new_notebook(), "homework.ipynb")
    with pytest.raises(SubmissionError, match="There is no chapter '42'"):
        submission.identify(learner, "x.ipynb", chapter="42")


# nbval's reports of two check cells whose outputs differ, as pytest 9 prints them (ANSI colours removed)
NBVAL_DIFF_FROM_THE_TOP = """Cell 1: Cell outputs differ
Input:
# NBVAL_CHECK_OUTPUT
print(f"nearest centroid on 600 digits: {score:.4g}")
Traceback:
 mismatch 'stdout'

 assert reference_output == test_output failed:

  'nearest cent...der: 0.7317\\n' == 'nearest cent...der: 0.8767\\n'

  - nearest centroid on 600 digits: 0.865
  ?                                   ^^^
  + nearest centroid on 600 digits: 0.7333
  ?                                   ^^^^
  - on the first 20: 1.0
  ?                  ^ ^...

  ...Full output truncated, use '-vv' to show
"""
NBVAL_DIFF_PART_WAY = """Cell 0: Cell outputs differ
Traceback:
 mismatch 'stdout'

 assert reference_output == test_output failed:

  'one tensor p... | calls: 8\\n' == 'one tensor p... | calls: 8\\n'

  Skipping 51 identical leading characters in diff, use -v to show
  - gradient: False
  ?           ^^^^
  + gradient: True
  ?           ^^^
    batch sizes the model saw: [32, 32, 32, 32, 32, 32, 32, 32] | calls: 8
"""


@pytest.mark.parametrize(("report", "reason"), [
    (NBVAL_DIFF_FROM_THE_TOP, "output differs from the expected output: expected 'nearest centroid on 600 digits: "
                              "0.7333', got 'nearest centroid on 600 digits: 0.865'"),
    (NBVAL_DIFF_PART_WAY, "output differs from the expected output: expected 'gradient: True', got 'gradient: False'"),
    ("Timeout of 20 seconds exceeded executing cell", "timed out after 20 s"),
    ("KernelDiedError: The kernel died while running this cell (...)", "kernel died"),
    ("RuntimeError: Kernel dead on test start", "not run: the kernel had died"),
    ("Traceback...\nNotImplementedError: Exercise 1: replace this line with your code.",
     "raised NotImplementedError: Exercise 1: replace this line with your code."),
    ("Traceback...\nTypeError: in user code:\n\n    File \"<ipython-input-3>\", line 9, in call  *\n"
     "        for i in range(images.shape[0]):\n\n"
     "    TypeError: 'NoneType' object cannot be interpreted as an integer\n",
     "raised TypeError: 'NoneType' object cannot be interpreted as an integer"),
    ("Traceback...\nValueError: Exception encountered when calling Sequential.call().\n\n\x1b[1mInput 0 of layer "
     "\"reshape\" is incompatible with the layer: expected shape=(None, 21, 32, 1)\x1b[0m\n\nArguments received by "
     "Sequential.call():\n  • inputs=tf.Tensor(shape=(64, 672), dtype=float32)\n",
     "raised ValueError: Input 0 of layer \"reshape\" is incompatible with the layer: "
     "expected shape=(None, 21, 32, 1)"),
])
def test_failure_reasons_are_one_readable_line(report, reason):
    assert failure_reason(report).startswith(reason)


# --- grading at arm's length ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_wrong_answer_that_prints_a_lot_is_graded_without_waiting_for_the_limit(tiny_course, tmp_path, monkeypatch):
    """nbval's report of this cell is larger than a pipe holds; the grader must still see pytest finish
    (before, it read pytest's output only at the end, so pytest blocked and was stopped at the limit)."""
    stopped = []
    monkeypatch.setattr(runner, "_stop", lambda process: stopped.append(process) or process.kill())
    verdict = grade_submission(submit(tmp_path / "loud.ipynb", first="raise ValueError('x' * 300_000)"), timeout=120)
    assert verdict.exercises == {"1": False, "2": True}, verdict.report()
    assert verdict.reasons["1"].startswith("the exercise cell: raised ValueError: xxx")
    assert not stopped, "pytest had to be stopped: its output was not drained"


@pytest.mark.slow
def test_a_right_answer_passes_and_a_wrong_one_saved_with_its_own_output_fails(tiny_course, tmp_path):
    right = grade_submission(submit(tmp_path / "right.ipynb"))
    assert right.passed and right.exercises == {"1": True, "2": True}, right.report()
    wrong = grade_submission(submit(tmp_path / "wrong.ipynb", first="y = 0", saved_output="0\n"))
    assert wrong.exercises == {"1": False, "2": True} and not wrong.environment
    assert wrong.reasons["1"] == "check 1, line 1: expected '40', got '0'"


@pytest.mark.slow
def test_a_carriage_return_cannot_erase_what_a_check_printed(tiny_course, tmp_path):
    """nbval lets "\\r" erase the line before it (progress bars); in a check cell it is text, so a value whose
    name or text holds "\\r" and the expected line prints as itself (a tester's exception class did this)."""
    verdict = grade_submission(submit(tmp_path / "cr.ipynb", first='y = "junk\\r40"', second='z = "5\\b10"'))
    assert verdict.exercises == {"1": False, "2": False}, verdict.report()
    assert verdict.reasons["1"] == "check 1, line 1: expected '40', got 'junk\\\\r40'", verdict.reasons


@pytest.mark.slow
def test_a_check_cell_rewritten_to_print_the_expected_text_fails(tiny_course, tmp_path):
    cheat = grade_submission(submit(tmp_path / "cheat.ipynb", first="y = 0", check_1="print(40)",
                                    saved_output="40\n"))
    assert cheat.exercises == {"1": False, "2": True}


@pytest.mark.slow
@pytest.mark.parametrize(("second", "passes"), [("z = x // 2", True), ("z = x", False), (STUB, False)])
def test_an_endless_loop_fails_by_its_time_limit_and_the_rest_is_still_graded(tiny_course, tmp_path, second, passes):
    """nbval marks every cell after a timeout "expected to fail" (reported as skipped): the grader does not take
    that for a pass; it fails the exercise that hung and grades the others on a run without it (found by a
    tester: a `time.sleep` in exercise 1 passed every later stub)."""
    verdict = grade_submission(submit(tmp_path / "loop.ipynb", first="import time\ntime.sleep(10 ** 6)",
                                      second=second), cell_timeout=4)
    assert verdict.exercises == {"1": False, "2": passes} and not verdict.environment, verdict.report()
    assert verdict.reasons["1"] == "the exercise cell: timed out after 4 s"


@pytest.mark.slow
@pytest.mark.parametrize(("killer", "reason"), [
    ("import os\nos._exit(1)", "the exercise cell: kernel died"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "the exercise cell: kernel died"),
    ("exit()", "check 2: raised NameError"),  # ipykernel only asks the front end to stop it: nbval does not
])
def test_a_cell_that_stops_the_kernel_fails_its_exercise_only(tiny_course, tmp_path, killer, reason):
    verdict = grade_submission(submit(tmp_path / "killer.ipynb", second=killer), cell_timeout=30)
    assert verdict.exercises == {"1": True, "2": False} and not verdict.environment, verdict.report()
    assert verdict.reasons["2"].startswith(reason)


@pytest.mark.slow
def test_sys_exit_is_an_error_of_its_exercise(tiny_course, tmp_path):
    verdict = grade_submission(submit(tmp_path / "exit.ipynb", first="import sys\nsys.exit(3)"))
    assert verdict.exercises == {"1": False, "2": True}
    assert verdict.reasons["1"].startswith("the exercise cell: raised SystemExit")


def _tree_hashes() -> dict[str, str]:
    files = [p for folder in ("toolkit", "data", "chapters") for p in (notebooks.ROOT / folder).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


VANDAL = f"""import pathlib
import toolkit
import toolkit.data
from toolkit.course import notebooks


def vandalise(path, text=""):
    try:
        pathlib.Path(path).write_text(text)
    except OSError:  # the kernel's toolkit copy is read-only, and the course is not in its box at all
        pass


course = pathlib.Path({str(notebooks.ROOT)!r})
for path in [*pathlib.Path(toolkit.__file__).parent.rglob("*.py"), *course.rglob("*.py")]:
    vandalise(path, "raise SystemExit('vandalised')")
vandalise(toolkit.data.data_dir() / "mnist_subset.npz")
for path in [*notebooks.CHAPTERS.rglob("*.ipynb"), *pathlib.Path({str(notebooks.CHAPTERS)!r}).rglob("*.ipynb")]:
    vandalise(path, "{{}}")
y = 2 * x"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="without the sandbox this submission really overwrites every "
                    ".py file under the checkout, its .venv included (.ci/run installs bubblewrap)")
def test_grading_never_writes_into_the_course_tree(tiny_course, tmp_path, monkeypatch):
    monkeypatch.setattr(tampering, "reaches", lambda source: [])  # the sandbox alone, without the source scan
    before = _tree_hashes()
    verdict = grade_submission(submit(tmp_path / "vandal.ipynb", first=VANDAL))
    assert verdict.exercises == {"1": True, "2": True}  # its writes all failed, or landed in the box's copies
    assert _tree_hashes() == before


@pytest.mark.slow
def test_colab_grades_the_open_notebook_through_its_message_bridge(tiny_course, tmp_path, monkeypatch, capsys):
    nb = json.loads(submit(tmp_path / "open.ipynb", first="y = 0").read_text())
    requests = []

    def blocking_request(request_type, request="", timeout_sec=5, parent=None):
        requests.append(request_type)
        return {"ipynb": nb}

    colab = types.ModuleType("google.colab")
    colab._message = types.SimpleNamespace(blocking_request=blocking_request)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab._message", colab._message)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    verdict = frontends.grade()
    assert requests == ["get_ipynb"]
    assert verdict.submission == "the open notebook" and verdict.chapter == "99_tiny"
    assert verdict.exercises == {"1": False, "2": True}
    printed = capsys.readouterr().out
    assert "Exercise 1   Double x" in printed and "FAIL" in printed and "1 of 2 exercises passed" in printed


def test_outside_colab_and_jupyter_grade_asks_for_a_path(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(SubmissionError, match=r"pass its path from this notebook's folder, .*: tk.grade\(\""):
        frontends.open_notebook()


def test_in_jupyter_grade_finds_the_saved_file_of_the_open_notebook(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path = tmp_path / "open.ipynb"
    path.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    assert frontends.open_notebook() == path


@pytest.mark.slow
def test_a_mixed_class_gives_the_right_gradebook(tiny_course, tmp_path):
    (tmp_path / "dora.ipynb").write_text("not a notebook")
    class_ = [submit(tmp_path / "ada.ipynb"), submit(tmp_path / "bob.ipynb", first="y = x + 2"),
              submit(tmp_path / "cyd.ipynb", first="import os\nos._exit(0)", second="z = 2"),
              tmp_path / "dora.ipynb"]
    seen = []
    verdicts = grade_class(class_, cell_timeout=30, on_verdict=lambda i, v: seen.append((i, v.submission)))
    assert sorted(seen) == [(0, "ada.ipynb"), (1, "bob.ipynb"), (2, "cyd.ipynb"), (3, "dora.ipynb")]  # as each ends
    table, details = write_gradebook(verdicts, tmp_path / "out" / "grades.csv")
    rows = list(csv.reader(table.open()))
    assert rows == [
        ["submission", "chapter", "exercise 1", "exercise 2", "total", "graded", "diagnoses"],
        ["ada.ipynb", "99_tiny", "1", "1", "2", "yes", ""],
        ["bob.ipynb", "99_tiny", "0", "1", "1", "yes", ""],
        ["cyd.ipynb", "99_tiny", "0", "0", "0", "yes", ""],
        ["dora.ipynb", "", "0", "0", "0", rows[4][5], ""],
    ]
    assert rows[4][5].startswith("no: dora.ipynb is not a Jupyter notebook")
    saved = {row["submission"]: row for row in json.loads(details.read_text())}
    assert "kernel died" in saved["cyd.ipynb"]["reasons"]["1"]
    assert saved["cyd.ipynb"]["reasons"]["2"] == "check 2, line 1: expected '10', got '2'"
    assert "expected '40', got '22'" in saved["bob.ipynb"]["reasons"]["1"]


def test_the_gradebook_lists_every_exercise_seen(tmp_path):
    verdicts = [Verdict("a.ipynb", "01_x", exercises={"1": True, "2": False}),
                Verdict("b.ipynb", problem="b.ipynb is not a Jupyter notebook.")]
    table, details = write_gradebook(verdicts, tmp_path / "g.csv")
    assert table.read_text().splitlines() == [
        "submission,chapter,exercise 1,exercise 2,total,graded,diagnoses", "a.ipynb,01_x,1,0,1,yes,",
        "b.ipynb,,0,0,0,no: b.ipynb is not a Jupyter notebook.,"]
    assert json.loads(details.read_text())[0]["score"] == 1


def test_grading_exits_with_the_class_still_graded_when_one_submission_crashes_the_grader(monkeypatch, tmp_path):
    def crash(source, **kwargs):
        if "bad" in str(source):
            raise OSError("disk full")
        return Verdict(str(source), "01_x", exercises={"1": True})

    monkeypatch.setattr(grading, "grade_submission", crash)
    verdicts = grade_class(["bad.ipynb", "good.ipynb"])
    assert verdicts[0].problem == "grading failed: OSError: disk full" and verdicts[1].passed


# --- where a failure is, and which known mistake it looks like ---------------------------------------------


def test_the_first_differing_line_is_found_by_value():
    assert verdicts.first_difference("a 0.25001\nb 2\n", "a 0.25\nb 3\n") == "line 2: expected 'b 3', got 'b 2'"
    assert verdicts.first_difference("a 1\n", "a 1\nb 2\n") == "line 2: expected 'b 2', got (nothing)"
    assert verdicts.first_difference("Exercise 1 is not done yet\n", "40\n").startswith(
        "line 1: expected '40', got 'Exercise 1 is not done yet'")


def test_a_failure_names_the_check_or_the_exercise_cell_and_a_narrative_cell_its_section_and_place():
    nb = tiny_key()
    for index, cell in enumerate(nb.cells):
        cell.metadata[verdicts.POSITION] = index
    assert verdicts.where(nb, 3, "1") == "check 1" and verdicts.where(nb, 2, "1") == "the exercise cell"
    assert verdicts.cell_label(nb, 1) == ("the cell that starts 'narrative = x + 1' in section \"1. Narrative\" "
                                          "(cell 4 of the notebook, counting text cells)")


def test_a_failing_check_output_is_matched_to_the_first_known_mistake_that_prints_it():
    first, second = (grading.known.Mistake(f"Mistake {n}.", "") for n in (1, 2))
    candidates = [(first, ["value 0.5\n", "ok\n"]), (second, ["value 0.5\n", "ok\n"])]
    assert verdicts.matching_mistake(["value 0.50004\n", "ok\n"], candidates) is first  # within the tolerance
    assert verdicts.matching_mistake(["value 0.51\n", "ok\n"], candidates) is None
    assert verdicts.matching_mistake(["value 0.5\n", None], candidates) is None  # a check that printed nothing
    assert verdicts.matching_mistake(["value 0.5\n", "ok\n"], [(first, None)]) is None  # the mistake's run died


def test_forbidden_names_are_found_however_they_are_reached():
    from toolkit.course.mistakes import forbidden_calls

    entry = ("transfer.unfreeze",)
    for source in ["return tk.transfer.unfreeze(features)", "import toolkit\ntoolkit.transfer.unfreeze(f)",
                   "from toolkit.transfer import unfreeze\nunfreeze(f)",
                   "from toolkit import transfer as t\nt.unfreeze(f)", "getattr(tk.transfer, 'unfreeze')(f)",
                   "import importlib\nimportlib.import_module('toolkit.transfer').unfreeze(f)",
                   "%time x = 1\nf = tk.transfer.unfreeze"]:
        assert forbidden_calls(source, entry) == list(entry), source
    for source in ["def unfreeze(m):\n    return m\nunfreeze(f)", "features.trainable = True", "this is ( not python"]:
        assert forbidden_calls(source, entry) == [], source
    assert forbidden_calls("from keras import layers\nlayers.RandomFlip()", ("keras.layers.RandomFlip",))


def tiny_solution(tmp_path):
    """The tiny chapter's solution notebook: both exercises solved between solution markers."""
    nb = tiny_key()
    code = notebooks.code_cells(nb)
    code[2].source = "# EXERCISE 1: Double x\n### BEGIN SOLUTION\ny = 2 * x\n### END SOLUTION"
    code[4].source = "# EXERCISE 2: Halve x\n### BEGIN SOLUTION\nz = x // 2\n### END SOLUTION"
    path = tmp_path / "solutions" / "99_tiny.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def tiny_mistakes(tiny_course, tmp_path, monkeypatch):
    """The tiny chapter with a solution and known mistakes (two of exercise 1 print the same), and a forbidden name."""
    from toolkit.course import mistakes as known

    solution = tiny_solution(tmp_path)
    monkeypatch.setattr(submission, "solutions", lambda: {"99_tiny": solution})
    found = {"1": (known.Mistake("Adds two instead of doubling.", "y = x + 2"),
                   known.Mistake("Forgets to double.", "y = x"), known.Mistake("Also forgets.", "y = x * 1")),
             "2": (known.Mistake("Calls unfreeze.", "z = x // 3\nf = tk.transfer.unfreeze", lazy=True),)}
    monkeypatch.setattr(known, "mistakes", lambda chapter: found if chapter == "99_tiny" else {})
    monkeypatch.setattr(known, "forbidden", lambda chapter: {"2": ("transfer.unfreeze",)})
    return found


class _Runs:
    """A stand-in for ``run_notebook`` that takes a while and counts how many runs overlap."""

    def __init__(self):
        import threading

        self.lock, self.now, self.most, self.count = threading.Lock(), 0, 0, 0

    def __call__(self, nb, **options):
        import time

        with self.lock:
            self.now += 1
            self.count += 1
            self.most = max(self.most, self.now)
        time.sleep(0.2)
        with self.lock:
            self.now -= 1
        return runner.Run({}, {})


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_the_mistake_rounds_a_diagnosis_needs_run_jobs_at_a_time(tiny_mistakes, monkeypatch, jobs):
    """Every round at once, never more than ``jobs`` sandboxed runs together (the solution's first)."""
    runs = _Runs()
    monkeypatch.setattr(grading, "run_notebook", runs)
    shared = grading.Grading(seed=7, exercises_only=True, jobs=jobs)
    found = shared.mistake_outputs("99_tiny")
    assert {exercise: [m for m, _ in pairs] for exercise, pairs in found.items()} == {
        exercise: list(known) for exercise, known in tiny_mistakes.items()}
    assert runs.count == 1 + 3 and runs.most == min(jobs, 3)  # the solution at the seed, then three rounds


def test_a_class_never_runs_more_than_its_jobs_at_once(tiny_course, tmp_path, monkeypatch):
    runs = _Runs()
    monkeypatch.setattr(grading, "run_notebook", runs)
    paths = [submit(tmp_path / f"{k}.ipynb", first=f"y = x * 2 + {k} - {k}") for k in range(5)]
    grade_class(paths, grading=grading.Grading(seed=0, jobs=2))
    assert runs.count == 5 and runs.most == 2
    with pytest.raises(ArgumentError, match="give jobs to the Grading"):
        grade_class(paths, grading=grading.Grading(seed=0), jobs=2)
    for jobs in (0, True, 1.5):
        with pytest.raises(ArgumentError, match="jobs must be a positive"):
            grading.Grading(jobs=jobs)


@pytest.mark.slow
def test_a_known_mistake_shows_its_diagnosis_and_an_unknown_one_the_plain_reason(tiny_mistakes, tmp_path):
    shared = grading.Grading(seed=7, exercises_only=True, jobs=2)
    paths = [submit(tmp_path / "plus.ipynb", first="y = x + 2"), submit(tmp_path / "same.ipynb", first="y = x * 1"),
             submit(tmp_path / "other.ipynb", first="y = 3 * x"),
             submit(tmp_path / "lazy.ipynb", second="z = x // 2\ntk.transfer.unfreeze"),
             submit(tmp_path / "third.ipynb", second="z = x // 3")]
    plus, same, other, lazy, third = grade_class(paths, grading=shared)
    assert plus.exercises == {"1": False, "2": True} and plus.diagnoses == {"1": "Adds two instead of doubling."}
    assert plus.reasons["1"] == "check 1, line 1: expected '40', got '22'"
    assert "Looks like a known mistake: Adds two instead of doubling." in plus.report()
    assert same.diagnoses == {"1": "Forgets to double."}  # two mistakes print the same: the first is named
    assert other.diagnoses == {} and other.reasons["1"] == "check 1, line 1: expected '40', got '60'"
    assert lazy.exercises == {"1": True, "2": False}
    assert lazy.diagnoses == {"2": "Exercise 2 calls tk.transfer.unfreeze, which the exercise asks you to do "
                                   "without."}
    # it prints what the mistake that calls unfreeze prints, but calls nothing: that diagnosis would be false
    assert third.exercises == {"1": True, "2": False} and third.diagnoses == {}, third.report()
    outputs = shared.mistake_outputs("99_tiny")["1"]
    assert [texts for _, texts in outputs] == [["22\n"], ["20\n"], ["20\n"]]
    # the solution's run, the five submissions, and the two mistake rounds not already run as one (round 2 is same's)
    assert shared.runs_started == 1 + 5 + 2


TIMER = "import os, threading\nthreading.Timer(4, lambda: os._exit(1)).start()\ny = 2 * x"


@pytest.mark.slow
def test_a_timer_that_kills_the_kernel_later_fails_the_exercise_that_started_it(tiny_course, tmp_path):
    """Exercise 1 starts a timer that kills the kernel while exercise 2 (right, but slow) runs: the grader
    confirms the culprit by running each alone, so exercise 1 fails and exercise 2 passes."""
    verdict = grade_submission(submit(tmp_path / "timer.ipynb", first=TIMER, second="import time\ntime.sleep(8)\n"
                                      "z = x // 2"), cell_timeout=60)
    assert verdict.exercises == {"1": False, "2": True}, verdict.report()
    assert "stopped the kernel later, while exercise 2 ran" in verdict.reasons["1"]


def test_a_check_that_raised_is_compared_by_its_error():
    nb = tiny_key()
    run = runner.Run({3: runner.CellOutcome(False, "raised TypeError: no"), 5: runner.CellOutcome(True)},
                     {5: [{"output_type": "stream", "name": "stdout", "text": "10\n"}]})
    assert verdicts.check_outputs(nb, run) == {"1": ["(raised TypeError: no)"], "2": ["10\n"]}
