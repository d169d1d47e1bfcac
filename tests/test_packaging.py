"""A regular install grades: a wheel carries the grading keys and the MNIST subset as package data
(``setup.py``), and a course installed from it into a fresh folder grades a submission there."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.helpers import ROOT
from toolkit.course import notebooks

PROJECT_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "requirements.txt", "README.md")


def _pip(*args: str, cwd) -> None:
    run = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The course built as a wheel from a copy of the repository and installed (no -e) into a fresh folder."""
    folder = tmp_path_factory.mktemp("packaging")
    source = folder / "source"
    for name in ("toolkit", "chapters", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, source / name)
    # Offline when this environment can build (setuptools and wheel installed); else pip fetches them.
    offline = ["--no-build-isolation"] if all(importlib.util.find_spec(m) for m in ("setuptools", "wheel")) else []
    _pip("wheel", str(source), "--no-deps", *offline, "-q", "-w", str(folder / "dist"), cwd=folder)
    wheel = next((folder / "dist").glob("*.whl"))
    _pip("install", "--no-deps", "-q", "--target", str(folder / "site"), str(wheel), cwd=folder)
    return folder / "site"


def _env(site) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.mark.slow
def test_the_wheel_ships_the_keys_and_the_data(installed):
    keys = sorted(path.name for path in (installed / "toolkit" / "course" / "keys").glob("*.ipynb"))
    assert keys == sorted(path.name for path in notebooks.chapter_notebooks())
    assert (installed / "toolkit" / "data" / "files" / "mnist_subset.npz").is_file()
    assert not (installed / "chapters").exists() and not (installed / "data").exists()  # nothing outside the package


@pytest.mark.slow
def test_a_course_installed_from_the_wheel_grades_a_submission_in_a_fresh_folder(installed, tmp_path):
    here = subprocess.run([sys.executable, "-c", "import toolkit; print(toolkit.__file__)"], cwd=tmp_path,
                          env=_env(installed), capture_output=True, text=True, timeout=120)
    assert here.stdout.strip().startswith(str(installed)), here  # the installed copy, not this checkout
    solution = notebooks.read(notebooks.CHAPTERS / "01_batch_vs_online.ipynb")
    learner = notebooks.read(notebooks.LEARNER_DIR / "01_batch_vs_online.ipynb")
    answers, cells = notebooks.exercise_cells(solution), notebooks.exercise_cells(learner)
    for exercise in ("1", "2"):  # two answers (the solutions); exercises 3-5 keep their stubs
        cells[exercise][0].source = answers[exercise][0].source
    nbformat.write(learner, str(tmp_path / "my_work.ipynb"))
    run = subprocess.run([sys.executable, "-m", "toolkit", "grade", "my_work.ipynb", "--exercises-only"],
                         cwd=tmp_path, env=_env(installed), capture_output=True, text=True, timeout=900)
    assert "No grading keys" not in run.stdout + run.stderr
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # not every exercise passes
    verdicts = {found.group(1): found.group(2) for line in run.stdout.splitlines()
                if (found := re.match(r"  Exercise (\w+) .*? (PASS|FAIL)\b", line))}
    assert verdicts == {
        "1": "PASS", "2": "PASS", "3": "FAIL", "4": "FAIL", "5": "FAIL"}, run.stdout[-3000:]
