"""Cheats typed into exercise cells: the kernel cannot read the key, the solutions or the course, cannot
write the results channel or the toolkit it imports, leaves no process behind, and a submission graded
after a cheating one is graded as if alone (issue 20). Checks that draw their inputs from the run's seed
fail answers hard-coded for the stored inputs.

A tiny two-exercise course keeps each grading to seconds; ``test_chapters.py`` grades the real chapters.
"""

from __future__ import annotations

import hashlib
import os
import time

import nbformat
import psutil
import pytest

from tests.test_grading import install_tiny_key, submit
from toolkit.course import grading, notebooks, sandbox, submission, tampering
from toolkit.course.grading import Grading, grade_class, grade_submission
from toolkit.errors import ArgumentError

needs_bubblewrap = pytest.mark.skipif(not sandbox.bubblewrap_works(), reason="bubblewrap cannot run here")
MARKER = "toolkit-sandbox-test-orphan"


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    """The tiny chapter as the only grading key, with no solution notebook (checks use the stored outputs).
    The grader's reading of the source (``toolkit.course.tampering``) is turned off: these cheats reach for
    the environment and the course on purpose, and what is tested is that the sandbox holds by itself."""
    key = install_tiny_key(tmp_path, monkeypatch)
    monkeypatch.setattr(submission, "solution_dir", lambda: tmp_path / "no-solutions")
    monkeypatch.setattr(tampering, "reaches", lambda source: [])
    return key


def _tree_hashes() -> dict[str, str]:
    files = [p for folder in ("toolkit", "data", "chapters", "tests") for p in (notebooks.ROOT / folder).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def probe(key) -> str:
    """Exercise code that tries every way out of the box and raises with the list of what worked."""
    secrets_ = [str(key), str(notebooks.LEARNER_DIR), str(notebooks.CHAPTERS / "01_batch_vs_online.ipynb"),
                str(notebooks.ROOT / "toolkit" / "course" / "grading.py"), os.getcwd()]
    return f"""import glob, os, sys
found = []
for path in {secrets_!r}:
    try:
        # a folder on the way to Python (a course cloned with its venv inside) shows only that way
        shown = [open(path).read()] if os.path.isfile(path) else [
            name for name in os.listdir(path) if not sys.prefix.startswith(os.path.join(path, name))]
        if shown:
            found.append("read:" + os.path.basename(path))
    except OSError:
        pass
for name, value in os.environ.items():
    if "RESULTS" in name or {str(notebooks.ROOT)!r} in value:
        found.append("env:" + name)
if any(glob.glob(p) for p in ("*.ipynb", "../*.ipynb", "../*/*.ipynb")):
    found.append("notebook-nearby")
for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if b"--toolkit-results" in open(cmdline, "rb").read():
            found.append("proc:results")
    except OSError:
        pass
import toolkit
for target in (os.path.join(os.path.dirname(toolkit.__file__), "course", "nbval_plugin.py"),
               {str(notebooks.ROOT / "toolkit" / "course" / "nbval_plugin.py")!r}):
    try:
        with open(target, "a") as out:
            out.write("# vandalised")
        found.append("write:" + target)
    except OSError:
        pass
if {os.geteuid() == 0!r} and os.getuid() == 0:
    found.append("uid:root")
raise RuntimeError("probe " + ",".join(found or ["contained"]))"""


CHEAT = f"""import os, subprocess, sys, threading
# a detached process that outlives the kernel, and a thread that keeps trying to report passes
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)  # {MARKER}"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def report():
    for name in [v for k, v in os.environ.items() if "RESULTS" in k]:
        for cell in range(10):
            open(name, "a").write('{{"cell": %d, "passed": true, "skipped": false, "reason": ""}}\\n' % cell)
threading.Thread(target=report, daemon=True).start()
y = 0"""


@needs_bubblewrap
@pytest.mark.slow
def test_the_kernel_cannot_reach_the_key_the_course_or_the_results(tiny_course, tmp_path):
    verdict = grade_submission(submit(tmp_path / "probe.ipynb", second=probe(tiny_course)))
    assert verdict.exercises == {"1": True, "2": False}, verdict.report()
    assert verdict.reasons["2"] == "the exercise cell: raised RuntimeError: probe contained", verdict.reasons


@needs_bubblewrap
@pytest.mark.slow
def test_a_cheat_fails_leaves_nothing_behind_and_the_next_submission_is_graded_as_alone(tiny_course, tmp_path):
    before = _tree_hashes()
    cheat, honest_wrong = grade_class([submit(tmp_path / "cheat.ipynb", first=CHEAT),
                                       submit(tmp_path / "next.ipynb", first="y = x + 1")], jobs=1)
    assert cheat.exercises == {"1": False, "2": True}, cheat.report()
    assert cheat.reasons["1"] == "check 1, line 1: expected '40', got '0'"
    assert honest_wrong.exercises == {"1": False, "2": True}, honest_wrong.report()
    assert honest_wrong.reasons["1"] == "check 1, line 1: expected '40', got '21'"
    time.sleep(1)
    orphans = [p for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]
    assert not orphans, "a process started by the kernel outlived it"
    assert _tree_hashes() == before


SEEDED_CHECK = """# NBVAL_CHECK_OUTPUT
# CHECK 1
from toolkit.course.checks import check_seed
import random
inputs = random.Random(check_seed()).sample(range(1000), 3)
print([double(v) for v in inputs])"""


@pytest.fixture
def seeded_course(tmp_path, monkeypatch):
    """A one-exercise chapter whose check draws its inputs from the check seed, with its solution."""
    def chapter(answer: str, stored: str) -> nbformat.NotebookNode:
        cells = [nbformat.v4.new_markdown_cell("# Chapter 98 · Seeded"), nbformat.v4.new_code_cell("x = 1"),
                 nbformat.v4.new_markdown_cell("## Exercises"),
                 nbformat.v4.new_code_cell(f"# EXERCISE 1: Double\ndef double(v):\n    {answer}"),
                 nbformat.v4.new_code_cell(SEEDED_CHECK)]
        cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        return notebooks.normalise(nbformat.v4.new_notebook(cells=cells))

    import random
    stored = f"{[2 * v for v in random.Random(0).sample(range(1000), 3)]}\n"
    for folder, answer in (("keys", 'raise NotImplementedError("Exercise 1")'),
                           ("solutions", "### BEGIN SOLUTION\n    return 2 * v\n    ### END SOLUTION")):
        (tmp_path / folder).mkdir()
        nbformat.write(chapter(answer, stored), str(tmp_path / folder / "98_seeded.ipynb"))
    monkeypatch.setattr(submission, "key_dir", lambda: tmp_path / "keys")
    monkeypatch.setattr(submission, "solution_dir", lambda: tmp_path / "solutions")
    monkeypatch.setattr(tampering, "reaches", lambda source: [])  # the check seed must hold on its own

    def submit_(name: str, body: str):
        nb = chapter(body, stored)
        nbformat.write(nb, str(tmp_path / name))
        return tmp_path / name

    return submit_, stored


@pytest.mark.slow
def test_an_answer_hard_coded_for_the_stored_inputs_fails_at_the_runs_own_seed(seeded_course):
    submit_, stored = seeded_course
    import random
    table = {v: 2 * v for v in random.Random(0).sample(range(1000), 3)}
    printer = (f"return 0\nimport builtins, sys\nbuiltins.print = lambda *a, **k: sys.stdout.write({stored!r})"
               "  # every print shows the stored text")
    right, written_differently, hard_coded, lying_print = grade_class(
        [submit_("right.ipynb", "return 2 * v"), submit_("other.ipynb", "return v + v"),
         submit_("cheat.ipynb", f"return {table!r}.get(v, 0)"), submit_("print.ipynb", printer)], seed=12345, jobs=2)
    assert right.passed and written_differently.passed, (right.report(), written_differently.report())
    for cheat in (hard_coded, lying_print):
        assert not cheat.exercises["1"] and cheat.reasons["1"].startswith("check 1, line 1: expected "), cheat.report()
    at_stored_seed = grade_submission(submit_("cheat.ipynb", f"return {table!r}.get(v, 0)"), seed=0)
    assert at_stored_seed.passed  # what a self-check at the stored seed sees: only the run's seed catches it


@pytest.mark.parametrize("options", [{"cell_timeout": 0}, {"cell_timeout": -1}, {"timeout": 0},
                                     {"timeout": float("nan")}, {"seed": -3}])
def test_time_limits_must_be_positive(options):
    with pytest.raises(ArgumentError, match="must be a"):
        Grading(**options)


def test_jobs_must_be_positive():
    with pytest.raises(ArgumentError, match="jobs must be a positive"):
        grade_class([], jobs=0)


def test_each_run_draws_its_own_check_seed():
    assert len({Grading().seed for _ in range(20)}) > 15 and all(Grading().seed > 0 for _ in range(5))


def test_without_bubblewrap_the_kernel_runs_unboxed_with_one_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    with pytest.warns(sandbox.SandboxWarning, match="grading without a sandbox"):
        box = sandbox.make_sandbox(tmp_path, 7)
    argv = box.kernel_argv()
    assert "bwrap" not in argv and str(box.scratch) in argv
    assert box.environment()[sandbox.SEED_ENV] == "7" and "TOOLKIT_GRADE_RESULTS" not in box.environment()
    assert grading.DEFAULT_SEED == sandbox.DEFAULT_SEED == 0


@pytest.mark.parametrize("option", [["--cell-timeout", "0"], ["--cell-timeout", "-1"], ["--timeout", "0"],
                                    ["--jobs", "0"], ["--timeout", "nan"]])
def test_the_command_refuses_limits_that_are_not_positive(option, capsys):
    from toolkit.cli.commands import main

    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(notebooks.chapter_notebooks()[0]), *option])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {option[0]}: expected a" in error and option[1] in error


def test_the_command_exits_non_zero_when_a_submission_was_not_graded(tmp_path, capsys):
    from toolkit.cli.commands import main

    broken = tmp_path / "broken.ipynb"
    broken.write_text("not a notebook")
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(broken), "--gradebook", str(tmp_path / "grades.csv")])
    assert exit_.value.code == 3 and "Not everything was graded (1 of 1: broken.ipynb)" in capsys.readouterr().err


@pytest.mark.slow
def test_without_bubblewrap_grading_still_grades_with_a_warning(tiny_course, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    with pytest.warns(sandbox.SandboxWarning):
        verdict = grade_submission(submit(tmp_path / "mine.ipynb", second="z = 0"))
    assert verdict.exercises == {"1": True, "2": False}, verdict.report()


def test_a_python_that_lives_under_tmp_is_not_hidden_by_the_private_tmp(tmp_path, monkeypatch):
    """CI clones the course into a temporary folder, virtual environment included: the box's private /tmp
    must be mounted before Python is bound into it, or the kernel finds no Python (every cell fails)."""
    monkeypatch.setattr(sandbox.sys, "prefix", "/tmp/clone/.venv")
    monkeypatch.setattr(sandbox, "sandbox_user", lambda: None)
    argv = sandbox.Sandbox(tmp_path / "course", tmp_path / "scratch", seed=1, boxed=True).kernel_argv()
    private_tmp = next(i for i in range(len(argv) - 1) if argv[i:i + 2] == ["--tmpfs", "/tmp"])
    bound = next(i for i in range(len(argv) - 2) if argv[i:i + 3] == ["--ro-bind", "/tmp/clone/.venv",
                                                                      "/tmp/clone/.venv"])
    assert private_tmp < bound
