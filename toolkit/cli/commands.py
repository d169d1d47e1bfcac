"""Command line: ``python -m toolkit compare|doctor|student|grade|execute|distribute`` (chapters 1-6)."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path


def _compare(args: argparse.Namespace) -> None:
    from toolkit.cli.compare import run_compare
    from toolkit.runtime import set_cpu_threads

    if args.cpu_threads:
        set_cpu_threads(args.cpu_threads)

    run_compare(args.out, seed=args.seed, samples=args.samples, epochs=args.epochs, dataset=args.dataset,
                verbose=1 if args.quiet else 2)


def _doctor(args: argparse.Namespace) -> None:
    from toolkit.cli.doctor import report

    print(report())


def _student(args: argparse.Namespace) -> None:
    from toolkit.course.learner import write_learner_versions

    for path in write_learner_versions():
        print(f"wrote {path}")


def _grade(args: argparse.Namespace) -> None:
    from toolkit.course.grading import grade_class, write_gradebook

    count = len(args.submissions)

    def progress(index: int, verdict) -> None:
        result = (f"not graded: {verdict.problem}" if verdict.problem
                  else f"{verdict.score} of {len(verdict.exercises)} exercises passed")
        print(f"[{index + 1}/{count}] {verdict.submission}: {result} ({verdict.seconds:.0f} s)", flush=True)

    verdicts = grade_class(args.submissions, chapter=args.chapter, cell_timeout=args.cell_timeout,
                           timeout=args.timeout, exercises_only=args.exercises_only, seed=args.seed, jobs=args.jobs,
                           on_verdict=progress)
    print()
    print("\n\n".join(v.report() for v in verdicts))
    if args.gradebook:
        table, details = write_gradebook(verdicts, args.gradebook)
        print(f"\nwrote {table} and {details}")
    ungraded = [v.submission for v in verdicts if v.problem or v.environment or not v.exercises]
    if ungraded:
        print(f"\nNot everything was graded ({len(ungraded)} of {count}: {', '.join(ungraded)}).", file=sys.stderr)
        raise SystemExit(3)
    if not args.gradebook and not all(v.passed for v in verdicts):
        raise SystemExit(1)


def _positive(kind: type) -> Callable[[str], float]:
    """An argparse type: a finite number above zero, else a one-line error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be above zero, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _execute(args: argparse.Namespace) -> None:
    from toolkit.course.notebooks import execute

    for path in args.notebooks:
        execute(path)
        print(f"executed {path}")


def _distribute(args: argparse.Namespace, worker_args: list[str]) -> None:
    from toolkit.distributed.launch import launch

    job = launch(args.workers, worker_args, args.out, timeout=args.timeout)
    print(job.report(), flush=True)
    raise SystemExit(job.returncode)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m toolkit`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m toolkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser("compare", help="train one model four ways and compare (the main job)")
    compare.add_argument("--out", default="compare_out", help="folder for compare.json and compare.png")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--samples", type=int, default=12000, help="length of the online and drifting streams")
    compare.add_argument("--epochs", type=int, default=5, help="epochs of the batch and mini-batch runs")
    compare.add_argument("--dataset", choices=["auto", "subset", "full"], default="subset",
                         help="subset: the 5,000 digits shipped in data/ (offline); full: keras.datasets.mnist")
    compare.add_argument("--cpu-threads", type=int, default=None,
                         help="TensorFlow intra-op threads (1 speeds per-sample training a little on a CPU and "
                              "slows large batches; see README, Speed)")
    compare.add_argument("--quiet", action="store_true", help="print only the final table")
    compare.set_defaults(run=_compare)

    doctor = commands.add_parser("doctor", help="versions, devices, CUDA libraries and determinism settings")
    doctor.set_defaults(run=_doctor)

    student = commands.add_parser("student", help="write the learner versions of the chapter notebooks")
    student.set_defaults(run=_student)

    grade = commands.add_parser(
        "grade", help="grade submissions: their exercise cells, run inside the course's own notebook",
        description="Only the # EXERCISE cells of each submission are graded, inside the course's pristine learner "
                    "notebook of its chapter, its kernel in a sandbox. Exits 1 unless every exercise passes; with "
                    "--gradebook it writes the class's grades instead and exits 0. Exits 3 when any submission "
                    "could not be graded in full.")
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    grade.add_argument("--chapter", help="the chapter every submission must be (1 or 01_batch_vs_online); "
                                         "by default each submission's own")
    grade.add_argument("--gradebook", type=Path, metavar="FILE.csv",
                       help="write one row per submission (1/0 per exercise, a total) and FILE.json with the reasons")
    grade.add_argument("--cell-timeout", type=_positive(float), default=240.0, metavar="SECONDS",
                       help="time limit of one cell, above zero (default 240)")
    grade.add_argument("--timeout", type=_positive(float), default=1800.0, metavar="SECONDS",
                       help="time limit of one whole notebook, above zero (default 1800)")
    grade.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1, metavar="N",
                       help="submissions graded in parallel, each in its own sandbox (default: the CPU cores)")
    grade.add_argument("--seed", type=int, default=None, metavar="N",
                       help="the checks' seed (default: drawn afresh for each run; 0 is the one stored in the "
                            "notebooks). A fixed seed makes a re-grade repeat exactly, but a learner who knows it "
                            "can hard-code the inputs")
    grade.add_argument("--exercises-only", action="store_true",
                       help="run only each chapter's first cells and its Exercises section: a fast re-grade")
    grade.set_defaults(run=_grade)

    distribute = commands.add_parser(
        "distribute", help="run a MultiWorkerMirroredStrategy job as N local worker processes",
        description="Start N workers on 127.0.0.1 (one TF_CONFIG each). Other arguments go to every worker: "
                    "--epochs, --batch-size (global), --learning-rate, --samples, --seed, --resume.")
    distribute.add_argument("--workers", type=int, default=2)
    distribute.add_argument("--out", default="distribute_out")
    distribute.add_argument("--timeout", type=float, default=600.0, help="seconds before every worker is stopped")
    distribute.set_defaults(run=_distribute, passes_unknown=True)

    execute = commands.add_parser("execute", help="re-run notebooks and store their outputs (instructors)")
    execute.add_argument("notebooks", nargs="+", type=Path)
    execute.set_defaults(run=_execute)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m toolkit``: quiets TensorFlow's C++ start-up log, shows the toolkit's
    INFO logs, and runs the command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    toolkit_log = logging.getLogger("toolkit")
    if not toolkit_log.handlers:
        toolkit_log.addHandler(logging.StreamHandler(sys.stdout))
        toolkit_log.setLevel(logging.INFO)
    args, unknown = build_parser().parse_known_args(argv)
    if getattr(args, "passes_unknown", False):
        args.run(args, unknown)
    elif unknown:
        build_parser().parse_args(argv)  # reports the unknown arguments and exits
    else:
        args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
