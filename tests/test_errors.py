"""toolkit.errors: one hierarchy in one module; every error is also the built-in a user would catch,
and the toolkit raises no bare built-in exception."""

from __future__ import annotations

import ast
import builtins

import pytest

import toolkit as tk
from tests.helpers import ROOT
from toolkit import errors

CLASSES = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]


@pytest.mark.parametrize("error", CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_a_toolkit_error_and_a_builtin(error):
    assert issubclass(error, errors.ToolkitError)
    if error is not errors.ToolkitError:
        assert any(base.__module__ == "builtins" and base is not Exception for base in error.__mro__)


def test_exceptions_are_defined_in_errors_only():
    for path in (ROOT / "toolkit").rglob("*.py"):
        if path.name == "errors.py" or "__pycache__" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                assert not any(name.endswith(("Error", "Exception")) for name in bases), f"{path}: {node.name}"


def test_the_toolkit_raises_no_bare_builtin_exception():
    """AttributeError (module __getattr__), SystemExit (exit codes) and NotImplementedError keep their protocols."""
    protocols = {"NotImplementedError", "AttributeError", "SystemExit"}
    builtin_errors = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)} - protocols
    for path in (ROOT / "toolkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", "")
                assert name not in builtin_errors, f"{path.relative_to(ROOT)}:{node.lineno} raises a bare {name}"


def test_the_errors_users_catch_are_on_the_package():
    assert tk.TrainingSetupError is errors.TrainingSetupError and tk.NonFiniteLossError is errors.NonFiniteLossError
    with pytest.raises(ValueError):
        raise errors.LogitsMismatchError("softmax with from_logits=True")
