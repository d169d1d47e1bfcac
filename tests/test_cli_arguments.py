"""The command line's edges: every bad value stops the command before any work with one line and exit
code 2, every command and option explains itself, learners' answers survive ``student``, and
TensorFlow's start-up log stays hidden unless ``--verbose`` asks for it."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from tests.helpers import run_python, subprocess_env
from toolkit.cli import main
from toolkit.cli.parser import build_parser
from toolkit.course import notebooks


@pytest.fixture(autouse=True)
def toolkit_log_restored():
    """``main`` sends the toolkit's log to stdout; put the logger back as it was after each test."""
    import logging

    log = logging.getLogger("toolkit")
    handlers, level = list(log.handlers), log.level
    yield
    log.handlers[:], log.level = handlers, level


BAD_INPUTS = [
    (["compare", "--out", "/proc/forbidden"], "argument --out: cannot write to /proc/forbidden"),
    (["compare", "--out", "{file}"], "is a file: pass a folder"),
    (["compare", "--epochs", "0"], "argument --epochs: expected a whole number of at least 1, got '0'"),
    (["compare", "--epochs", "-1"], "argument --epochs: expected a whole number of at least 1, got '-1'"),
    (["compare", "--samples", "0"], "argument --samples: expected a whole number of at least 1000"),
    (["compare", "--samples", "-5"], "argument --samples: expected a whole number of at least 1000"),
    (["compare", "--cpu-threads", "-1"], "argument --cpu-threads: expected a whole number of at least 1"),
    (["compare", "--seed", "-1"], "argument --seed: expected a whole number from 0 to 4294967295"),
    (["compare", "--dataset", "everything"], "argument --dataset: invalid choice"),
    (["distribute", "--workers", "0"], "argument --workers: expected a whole number from 1 to 64, got '0'"),
    (["distribute", "--out", "/proc/forbidden"], "argument --out: cannot write to /proc/forbidden"),
    (["distribute", "--epochs", "0"], "argument --epochs: expected a whole number of at least 1"),
    (["distribute", "--timeout", "0"], "argument --timeout: expected a number above 0"),
    (["execute", "missing.ipynb"], "missing.ipynb does not exist: pass the path of a saved notebook file"),
    (["grade", "missing.ipynb"], "missing.ipynb does not exist"),
    (["grade", "{file}", "--gradebook", "grades.json"], "argument --gradebook: grades.json should end in .csv"),
    (["grade", "{file}", "--chapter", "9"], "argument --chapter: There is no chapter '9'"),
    (["grade", "{file}", "--cell-timeout", "-3"], "argument --cell-timeout: expected a number above 0"),
    (["student", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_INPUTS, ids=lambda value: " ".join(value)
                         if isinstance(value, list) else "")
def test_each_bad_input_gives_one_line_and_exit_code_2(argv, expected, tmp_path, capsys):
    file = tmp_path / "notes.txt"
    file.write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        main([arg.replace("{file}", str(file)) for arg in argv])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m toolkit") and ": error: " in lines[0], lines
    assert expected in lines[0]


def test_full_mnist_offline_is_one_line_naming_the_subset(tmp_path, monkeypatch, capsys):
    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (_ for _ in ()).throw(Exception("offline")))
    with pytest.raises(SystemExit) as stopped:
        main(["compare", "--dataset", "full", "--out", str(tmp_path)])
    printed = capsys.readouterr()
    assert stopped.value.code == 2 and printed.out == ""
    assert printed.err.splitlines() == [
        "python -m toolkit compare: error: argument --dataset: the full MNIST cannot be downloaded here (offline?) "
        "and is not cached in ~/.keras/datasets: use --dataset subset (the 5,000 digits in data/)"]


def test_bad_input_from_the_real_entry_point_never_reaches_tensorflow():
    run = run_python("-m", "toolkit", "compare", "--cpu-threads", "-1", timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr  # it used to abort in TensorFlow (exit 134)
    assert run.stderr.strip().splitlines() == [
        "python -m toolkit compare: error: argument --cpu-threads: expected a whole number of at least 1, got '-1'"]


def test_every_command_and_option_explains_itself():
    parser = build_parser()
    assert "``" not in parser.description and ":func:" not in parser.description
    commands = next(action for action in parser._actions if action.choices and isinstance(action.choices, dict))
    for name, command in commands.choices.items():
        assert command.description, f"{name} has no description"
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    assert "authors" in helps["student"] and "authors" in commands.choices["student"].description


def test_distribute_checks_the_workers_options_and_passes_them_on():
    from toolkit.cli.worker import worker_argv

    args = build_parser().parse_args(["distribute", "--workers", "3", "--epochs", "1", "--resume", "--seed", "4"])
    argv = worker_argv(args, args.worker_options)
    assert argv[argv.index("--epochs") + 1] == "1" and argv[argv.index("--seed") + 1] == "4" and "--resume" in argv
    assert "--workers" not in argv and "--out" not in argv


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder with chapter 1's solution notebook, as ``student`` sees it."""
    (tmp_path / "chapters" / "learner").mkdir(parents=True)
    source = shutil.copy(notebooks.CHAPTERS / "01_batch_vs_online.ipynb", tmp_path / "chapters")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "CHAPTERS", tmp_path / "chapters")
    monkeypatch.setattr(notebooks, "LEARNER_DIR", tmp_path / "chapters" / "learner")
    return tmp_path / "chapters" / "learner" / "01_batch_vs_online.ipynb", source


def test_a_learner_notebook_with_answers_survives_student(course, capsys):
    learner, _ = course
    main(["student"])  # no learner version yet: written
    main(["student"])  # stubs only: rewritten without asking
    nb = notebooks.read(learner)
    cell = notebooks.exercise_cells(nb)["1"][0]
    cell.source = cell.source.replace('raise NotImplementedError("Exercise 1: replace this line with your code.")',
                                      "answer = 42  # my own work")
    nbformat.write(nb, str(learner))
    before = learner.read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["student"])
    assert stopped.value.code == 1 and learner.read_bytes() == before
    refusal = capsys.readouterr().err.splitlines()
    assert len(refusal) == 1 and "chapters/learner/01_batch_vs_online.ipynb (exercise 1)" in refusal[0]
    assert "Nothing was written" in refusal[0] and "--force" in refusal[0]
    main(["student", "--force"])
    assert "my own work" not in learner.read_text()


@pytest.mark.slow
def test_start_up_output_on_a_cpu_machine_has_no_error_lines():
    env = subprocess_env()
    del env["TF_CPP_MIN_LOG_LEVEL"]
    quiet = run_python("-m", "toolkit", "doctor", env=env, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    error_level = re.compile(r"^(E|F)\d{4} |\bERROR\b|Traceback", re.MULTILINE)
    assert not error_level.search(quiet.stdout + quiet.stderr), quiet.stderr
    assert quiet.stderr == ""  # nothing at all: no oneDNN notes, no CUDA probes
    loud = run_python("-m", "toolkit", "doctor", "--verbose", env=env, timeout=300)
    assert loud.returncode == 0 and loud.stderr.strip()  # --verbose shows TensorFlow's log again


def test_student_outside_the_course_repository_says_it_is_for_authors(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(notebooks, "CHAPTERS", tmp_path)  # as in a regular install: no solution notebooks
    with pytest.raises(SystemExit) as stopped:
        main(["student"])
    lines = capsys.readouterr().err.splitlines()
    assert stopped.value.code == 2 and len(lines) == 1 and "student is an author's command" in lines[0]
