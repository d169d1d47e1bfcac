"""The command line (``python -m toolkit``): the comparison (the main job), the doctor, grading and the
course tooling, and the multi-worker launcher with its worker program. Nothing imports it."""

from toolkit.cli.commands import main

__all__ = ["main"]
