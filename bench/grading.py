"""Grading throughput: a class of chapter 1 graded one submission at a time, then with ``--jobs``.

    python bench/grading.py                  # a class of 20, --exercises-only; about 15 minutes on 2 cores
    python bench/grading.py --class-size 4   # a smoke run

Both rows grade the same class at the same check seed, each in a fresh grading run, so each also pays
the one solution run that gives the expected outputs at that seed (the first row: what an instructor
gets with ``--jobs 1``). Half the class hands in the solutions, half the learner version with one
exercise done. Printed: submissions per minute for each row and the speed-up of ``--jobs`` over one
at a time, from this one run on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from toolkit.course import learner, notebooks
from toolkit.course.grading import grade_class

CHAPTER = notebooks.CHAPTERS / "01_batch_vs_online.ipynb"


def make_class(folder: Path, size: int) -> list[Path]:
    """``size`` submissions of chapter 1: solutions, and learner versions with exercise 2 done."""
    solution, stubs = notebooks.read(CHAPTER), notebooks.read(learner.learner_path(CHAPTER))
    done = {ex: cells[0].source for ex, cells in notebooks.exercise_cells(solution).items()}
    for cell in notebooks.exercise_cells(stubs)["2"]:
        cell.source = re.sub(r"### (BEGIN|END) SOLUTION\n", "", done["2"])
    paths = []
    for index in range(size):
        path = folder / f"learner{index:02d}.ipynb"
        notebooks.write(solution if index % 2 == 0 else stubs, path)
        paths.append(path)
    return paths


def main() -> None:
    """Grade the class twice and print submissions per minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=12345, help="the check seed of both rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        submissions = make_class(Path(folder), args.class_size)
        rows = []
        for jobs in (1, args.jobs):
            started = time.perf_counter()
            verdicts = grade_class(submissions, exercises_only=True, seed=args.seed, jobs=jobs)
            minutes = (time.perf_counter() - started) / 60
            graded = sum(v.problem is None for v in verdicts)
            rows.append((f"--jobs {jobs}" + (" (one at a time)" if jobs == 1 else ""), graded / minutes, graded))
    print(f"chapter 1, --exercises-only, a class of {args.class_size}, check seed {args.seed}")
    print(f"{'grading':<24} {'submissions/min':>16} {'graded':>7}")
    for name, rate, graded in rows:
        print(f"{name:<24} {rate:>16.2f} {graded:>7}")
    print(f"--jobs {args.jobs} against one at a time: {rows[1][1] / rows[0][1]:.2f}x")


if __name__ == "__main__":
    main()
