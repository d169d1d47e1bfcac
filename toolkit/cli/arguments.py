"""Checks of the command line's arguments (chapters 1-6): every value is checked before any work starts.

A bad value stops the command with one line on stderr that names the fix, and exit code 2, as
argparse does (``Parser.error``). Values that need the file system (an output folder that must be
writable) are checked right after parsing, by ``check_output_folder`` and ``check_output_file``, which create nothing.

>>> whole(1)("3"), positive("0.5")
(3, 0.5)
>>> whole(1)("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: expected a whole number of at least 1, got '0'
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

# argparse's own messages that do not say what to type instead
ARGPARSE_WITHOUT_A_FIX = ("unrecognized arguments", "the following arguments are required", "ambiguous option")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``PROG: error: MESSAGE`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print the one-line error and exit with code 2 (argparse's code for bad usage)."""
        if message.startswith(ARGPARSE_WITHOUT_A_FIX):
            message += f" ({self.prog} --help lists the options)"
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole(minimum: int, maximum: int | None = None, why: str = "") -> Callable[[str], int]:
    """A ``type=`` that accepts a whole number in ``[minimum, maximum]``; ``why`` explains the bounds."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bounds = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}{why}, got {text!r}")
        return value

    return parse


def positive(text: str) -> float:
    """A ``type=`` that accepts a number above 0 (seconds, a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def notebook_file(text: str) -> Path:
    """A ``type=`` that accepts the path of an existing ``.ipynb`` file."""
    path = Path(text)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}: pass the path of a saved notebook file (.ipynb)")
    if path.suffix != ".ipynb":
        raise argparse.ArgumentTypeError(f"{text} is not a notebook: pass an .ipynb file")
    return path


def existing_file(text: str) -> Path:
    """A ``type=`` that accepts the path of an existing file (a submission may still turn out not to be a
    notebook: grading reports that per submission)."""
    path = Path(text)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}: pass the path of a saved .ipynb file")
    return path


def _writable(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written to, or None. Nothing is left behind: a folder is made
    and removed in the nearest part of the path that exists."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".write-test-"))
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def check_output_folder(parser: argparse.ArgumentParser, option: str, folder: Path) -> None:
    """Stop with a one-line error unless ``folder`` is (or can be made) a folder this user can write to."""
    if folder.exists() and not folder.is_dir():
        parser.error(f"argument {option}: {folder} is a file: pass a folder for the results (a new name is fine)")
    if problem := _writable(folder):
        parser.error(f"argument {option}: cannot write to {folder} ({problem}): pass a folder you can write to")


def check_output_file(parser: argparse.ArgumentParser, option: str, path: Path, suffix: str) -> None:
    """Stop with a one-line error unless ``path`` names a ``suffix`` file in a folder this user can write to."""
    if path.suffix != suffix:
        parser.error(f"argument {option}: {path} should end in {suffix} (for example grades{suffix})")
    if path.is_dir():
        parser.error(f"argument {option}: {path} is a folder: pass a file name such as {path / ('grades' + suffix)}")
    if problem := _writable(path.parent):
        parser.error(f"argument {option}: cannot write to {path.parent} ({problem}): pass a file in a folder you "
                     "can write to")


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (progress bars) rather than a file or a pipe (plain lines)."""
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
