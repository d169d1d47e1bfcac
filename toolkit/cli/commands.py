"""Command line: ``python -m toolkit compare|doctor|student|grade|execute|distribute`` (chapters 1-6).

Every argument is checked before any work (``toolkit.cli.parser``): a bad one gives one line and exit
code 2. TensorFlow starts quietly unless ``--verbose`` is given (``toolkit.runtime.start_tensorflow``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
from collections.abc import Callable

from toolkit.cli.arguments import check_output_file, check_output_folder, stdout_is_terminal
from toolkit.cli.parser import build_parser


def _compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.cli.compare import run_compare
    from toolkit.data import load_mnist
    from toolkit.errors import DatasetUnavailableError
    from toolkit.runtime import set_cpu_threads

    if args.cpu_threads:
        set_cpu_threads(args.cpu_threads)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keras.datasets prints "Downloading data from ..."
            data = load_mnist(args.dataset)
    except DatasetUnavailableError as error:
        if args.dataset == "full":
            parser.error("argument --dataset: the full MNIST cannot be downloaded here (offline?) and is not "
                         "cached in ~/.keras/datasets: use --dataset subset (the 5,000 digits in data/)")
        parser.error(str(error).splitlines()[0])
    run_compare(args.out, seed=args.seed, samples=args.samples, epochs=args.epochs, dataset=args.dataset,
                verbose=1 if args.quiet else 2, plain_progress=not stdout_is_terminal(), data=data)


def _doctor(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.cli.doctor import report

    print(report())


def _student(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.course import notebooks
    from toolkit.course.learner import write_learner_versions
    from toolkit.errors import OverwriteRefusedError

    if not notebooks.chapter_notebooks():
        parser.error(f"there are no solution notebooks in {notebooks.CHAPTERS}: student is an author's command; "
                     "run it in a clone of the course repository")
    try:
        written = write_learner_versions(force=args.force)
    except OverwriteRefusedError as error:
        print(f"{parser.prog}: refused: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    for path in written:
        print(f"wrote {path}")


def _grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.course.grading import grade_class
    from toolkit.course.verdicts import write_gradebook

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


def _execute(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.course.notebooks import execute
    from toolkit.errors import NotebookRegressionError

    refused = 0
    for path in args.notebooks:
        try:
            execute(path, accept=args.accept)
            print(f"executed {path}")
        except NotebookRegressionError as error:
            refused += 1
            print(error, file=sys.stderr)
    if refused:
        raise SystemExit(f"{refused} notebook(s) not stored")


def _distribute(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from toolkit.cli.worker import launch_workers, worker_argv

    job = launch_workers(args.workers, worker_argv(args, args.worker_options), args.out, timeout=args.timeout)
    print(job.report(), flush=True)
    raise SystemExit(job.returncode)


HANDLERS: dict[str, Callable[[argparse.Namespace, argparse.ArgumentParser], None]] = {
    "compare": _compare, "doctor": _doctor, "student": _student, "grade": _grade, "execute": _execute,
    "distribute": _distribute,
}


def _check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The checks that need the file system, right after parsing and before any work."""
    command = args.command_parser
    if args.command in ("compare", "distribute"):
        check_output_folder(command, "--out", args.out)
    if args.command == "grade" and args.gradebook:
        check_output_file(command, "--gradebook", args.gradebook, ".csv")
    if args.command == "grade" and args.chapter:
        from toolkit.course.submission import chapter_key
        from toolkit.errors import SubmissionError

        try:
            chapter_key(args.chapter)
        except SubmissionError as error:
            command.error(f"argument --chapter: {error}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m toolkit``: check every argument, start TensorFlow quietly (unless
    ``--verbose``) for the commands that use it, show the toolkit's INFO logs, and run the command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_paths(parser, args)
    toolkit_log = logging.getLogger("toolkit")
    if not toolkit_log.handlers:
        toolkit_log.addHandler(logging.StreamHandler(sys.stdout))
        toolkit_log.setLevel(logging.INFO)
    if args.needs_tensorflow:
        from toolkit.runtime import start_tensorflow

        start_tensorflow(verbose=args.verbose)
    HANDLERS[args.handler](args, args.command_parser)


if __name__ == "__main__":
    main(sys.argv[1:])
