"""The house: at most 12 top-level units, imports that flow one way down the layers, small modules
and functions."""

from __future__ import annotations

import ast
import re

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "toolkit"
LAYERS = ["errors", "runtime", "data", "models", "evaluation", "optim", "distributed", "training", "tuning", "viz",
          "course", "cli"]
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def unit_of(path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


MODULE_NAME = re.compile(r"^toolkit\.(\w+)(\.\w+)*$")  # a string that is a module's dotted name


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and functions (they may name any module)."""
    owners = [node for node in ast.walk(tree)
              if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)]
    return {id(owner.body[0].value) for owner in owners if ast.get_docstring(owner) is not None}


def toolkit_imports(path) -> set[str]:
    """The toolkit units a module imports, anywhere in it (lazy imports inside functions too), or names
    as a string (``importlib.import_module("toolkit.x")``, ``python -m toolkit.x.y``)."""
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    documentation = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documentation:
            found.update(match.group(1) for word in node.value.split() if (match := MODULE_NAME.match(word)))
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "toolkit" and len(parts) > 1:
                found.add(parts[1])
            elif parts == ["toolkit"] and isinstance(node, ast.ImportFrom):
                found.update(alias.name for alias in node.names)
    return found


def test_the_package_has_at_most_12_units_each_a_known_layer():
    units = {unit_of(p) for p in MODULES} - {"__init__", "__main__"}
    assert units == set(LAYERS) and len(units) <= 12


@pytest.mark.parametrize("path", [p for p in MODULES if unit_of(p) not in ("__init__", "__main__")],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_down_the_layers(path):
    unit = unit_of(path)
    upward = {other for other in toolkit_imports(path) - {unit} if LAYERS.index(other) > LAYERS.index(unit)}
    assert not upward, f"{path.relative_to(PACKAGE)} ({unit}) imports the layers above it: {sorted(upward)}"


def test_a_module_named_in_a_string_counts_as_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docs may name toolkit.cli.worker."""\nWORKER = ["python", "-m", "toolkit.cli.worker"]\n')
    assert toolkit_imports(sample) == {"cli"}


def test_evaluation_never_imports_training_and_training_never_imports_the_course():
    for path in MODULES:
        if unit_of(path) == "evaluation":
            assert "training" not in toolkit_imports(path)
        if unit_of(path) in ("data", "models", "evaluation", "optim", "distributed", "training"):
            assert not toolkit_imports(path) & {"course", "cli", "tuning", "viz"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            assert lines <= 60, f"{node.name} has a {lines}-line body"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_public_function_says_what_it_does(path):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{path.name}: {node.name} has no docstring"
