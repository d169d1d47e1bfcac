"""The ``python -m toolkit`` argument parser: every subcommand and option with its help (chapters 1-6).

Values are checked as they are parsed (``toolkit.cli.arguments``), so a bad one stops the command
before any work, with one line and exit code 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from toolkit.cli.arguments import Parser, existing_file, notebook_file, positive, whole
from toolkit.cli.worker import add_worker_options

DESCRIPTION = """\
The course's command line (chapters 1-6).

Everyone: "compare" trains one network four ways and writes a table and a figure (the main job);
"doctor" reports versions, devices and determinism settings. Learners: "grade" grades a notebook.
Instructors and authors: "grade" with many submissions writes a gradebook, "execute" re-runs
chapter notebooks, "student" rewrites the learner versions. "distribute" runs a multi-worker job.
TensorFlow's start-up log is hidden unless --verbose is given."""

SEED_LIMIT = 2**32 - 1  # NumPy's seeds are 32-bit
COMPARE_MIN_SAMPLES = 1000  # two 500-sample windows: one before the drift, one after


def _verbose(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's start-up log (hidden by default: on a CPU-only machine it prints "
                             "CUDA lines that look like errors and are not)")


def _subcommand(commands, name: str, summary: str, description: str, run: str, *,
                tensorflow: bool) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=description)
    _verbose(parser)
    parser.set_defaults(command_parser=parser, needs_tensorflow=tensorflow, handler=run)
    return parser


def _compare(commands) -> None:
    compare = _subcommand(
        commands, "compare", "train one model four ways and compare them (the main job, chapter 1)",
        "Train the seed's MLP on MNIST four ways: batch model.fit, a mini-batch GradientTape loop, online "
        "per-sample updates, and online learning on a stream whose labels are permuted half-way (the online "
        "learner starts from the batch model's weights). Prints a table and lists the files it writes: "
        "batch_model.keras, compare.json and compare.png in --out.", "compare", tensorflow=True)
    compare.add_argument("--out", type=Path, default=Path("compare_out"), metavar="FOLDER",
                         help="folder for batch_model.keras, compare.json and compare.png (default compare_out; "
                              "created if missing)")
    compare.add_argument("--seed", type=whole(0, SEED_LIMIT), default=0,
                         help="seed of the weights, the sample order and the drift (default 0)")
    compare.add_argument("--samples", type=whole(COMPARE_MIN_SAMPLES, why=" (one 500-sample window each side of "
                                                  "the drift)"), default=12000,
                         help=f"length of the online and drifting streams (default 12000, at least "
                              f"{COMPARE_MIN_SAMPLES})")
    compare.add_argument("--epochs", type=whole(1), default=5, help="epochs of the batch and mini-batch runs "
                                                                    "(default 5)")
    compare.add_argument("--dataset", choices=["auto", "subset", "full"], default="subset",
                         help="subset: the 5,000 digits shipped in data/ (offline, the default); full: all 70,000 "
                              "through keras.datasets.mnist (needs the network once); auto: full if it can be had")
    compare.add_argument("--cpu-threads", type=whole(1), default=None, metavar="N",
                         help="TensorFlow intra-op threads (1 speeds per-sample training a little on a CPU and "
                              "slows large batches; see README, Speed)")
    compare.add_argument("--quiet", action="store_true", help="print only the final table and the files written")


def _grade(commands) -> None:
    grade = _subcommand(
        commands, "grade", "grade submissions: their exercise cells, run inside the course's own notebook",
        "Only the # EXERCISE cells of each submission are graded, inside the course's pristine learner notebook "
        "of its chapter, its kernel in a sandbox. Exits 1 unless every exercise passes; with --gradebook it "
        "writes the class's grades instead and exits 0. Exits 3 when any submission could not be graded in full.",
        "grade", tensorflow=False)
    grade.add_argument("submissions", nargs="+", type=existing_file, metavar="SUBMISSION",
                       help="notebook files to grade (for example chapters/learner/01_batch_vs_online.ipynb)")
    grade.add_argument("--chapter", help="the chapter every submission must be (1 or 01_batch_vs_online); "
                                         "by default each submission's own")
    grade.add_argument("--gradebook", type=Path, metavar="FILE.csv",
                       help="write one row per submission (1/0 per exercise, a total) and FILE.json with the reasons")
    grade.add_argument("--cell-timeout", type=positive, default=240.0, metavar="SECONDS",
                       help="time limit of one cell (default 240)")
    grade.add_argument("--timeout", type=positive, default=1800.0, metavar="SECONDS",
                       help="time limit of one whole notebook (default 1800)")
    grade.add_argument("--jobs", type=whole(1, 256), default=os.cpu_count() or 1, metavar="N",
                       help="sandboxed notebooks run at once: submissions, and the known mistakes' rounds a diagnosis "
                            "needs (default: the CPU cores)")
    grade.add_argument("--seed", type=whole(0, SEED_LIMIT), default=None, metavar="N",
                       help="the checks' seed (default: drawn afresh for each run; 0 is the one stored in the "
                            "notebooks). A fixed seed makes a re-grade repeat exactly, but a learner who knows it "
                            "can hard-code the inputs")
    grade.add_argument("--exercises-only", action="store_true",
                       help="run only each chapter's first cells and its Exercises section: a fast re-grade")


def _distribute(commands) -> None:
    distribute = _subcommand(
        commands, "distribute", "run a MultiWorkerMirroredStrategy job as N local worker processes (chapter 4)",
        "Start N workers on 127.0.0.1, one TF_CONFIG each, that train the seed's MLP with a custom loop under "
        "MultiWorkerMirroredStrategy, saving checkpoints every epoch. If a worker dies or time runs out, every "
        "worker is stopped; --resume continues from the newest checkpoint. Exits 1 when the job fails.",
        "distribute", tensorflow=True)
    distribute.add_argument("--workers", type=whole(1, 64), default=2, metavar="N",
                            help="worker processes to start (default 2)")
    distribute.add_argument("--out", type=Path, default=Path("distribute_out"), metavar="FOLDER",
                            help="folder for the workers' logs, checkpoints, weights.npz and history.json "
                                 "(default distribute_out)")
    distribute.add_argument("--timeout", type=positive, default=600.0, metavar="SECONDS",
                            help="seconds before every worker is stopped (default 600)")
    distribute.set_defaults(worker_options=add_worker_options(distribute))


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m toolkit`` argument parser (each subcommand's handler name is in ``handler``)."""
    parser = Parser(prog="python -m toolkit", description=DESCRIPTION,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    _verbose(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     title="commands (python -m toolkit COMMAND --help tells more)")
    _compare(commands)
    _subcommand(commands, "doctor", "report versions, devices, CUDA libraries and determinism settings",
                "Print the Python, TensorFlow, Keras and NumPy versions, the devices TensorFlow sees, whether the "
                "CUDA libraries load, and the determinism settings graded outputs rely on.", "doctor",
                tensorflow=True)
    _grade(commands)
    student = _subcommand(
        commands, "student", "for course authors: rewrite the learner notebooks from the solutions",
        "For course authors, not learners. Rewrites chapters/learner/*.ipynb (the learner versions, which are "
        "also the grading keys) from the solution notebooks in chapters/: each solution becomes a stub. It "
        "refuses to replace a learner notebook whose exercise cells differ from the stubs (someone's answers, "
        "or stubs whose hints changed), and writes nothing then, unless --force is given.", "student",
        tensorflow=False)
    student.add_argument("--force", action="store_true",
                         help="overwrite learner notebooks even where their exercise cells hold other code")
    execute = _subcommand(
        commands, "execute", "for course authors: re-run chapter notebooks and store their outputs",
        "For course authors. Runs each notebook top to bottom in its own folder (cells marked # NBVAL_SKIP are "
        "skipped) and stores its outputs, normalised. It refuses to store a notebook in which a claim became "
        "false or a graded check's output changed, and names the cells. Takes minutes per chapter.", "execute",
        tensorflow=False)
    execute.add_argument("notebooks", nargs="+", type=notebook_file, metavar="NOTEBOOK",
                         help="notebook files, for example chapters/01_batch_vs_online.ipynb")
    execute.add_argument("--accept", action="store_true",
                         help="store a deliberately changed graded-check output (a false claim is never stored)")
    _distribute(commands)
    return parser
