"""ERRATA.md: every entry points at places that exist (chapter sections, exercises, tests, files)."""

from __future__ import annotations

import ast
import re

import pytest

from toolkit.course import notebooks

ERRATA = notebooks.ROOT / "ERRATA.md"
ROW = re.compile(r"^\| ([CE]\d{3}-\w+) \|")
NOTEBOOK = re.compile(r"chapters/[\w/]+\.ipynb")
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")
EXERCISES = re.compile(r"Exercises? (\d+(?:(?:, | and | to )\d+)*)")
TEST = re.compile(r"(tests/\w+\.py)?::(\w+)")
FILE = re.compile(r"(?:toolkit|bench|tests|data)/[\w/]+\.(?:py|md|cfg)")


def entries() -> list[tuple[str, str]]:
    """(id, "demonstrated" column) for every row of ERRATA.md."""
    rows = []
    for line in ERRATA.read_text(encoding="utf-8").splitlines():
        if found := ROW.match(line):
            rows.append((found.group(1), line.rstrip().rstrip("|").rsplit("|", 1)[1]))
    return rows


def exercise_numbers(text: str) -> set[int]:
    numbers = set()
    for found in EXERCISES.finditer(text):
        spec = found.group(1)
        if " to " in spec:
            low, high = map(int, spec.split(" to "))
            numbers.update(range(low, high + 1))
        else:
            numbers.update(int(n) for n in re.split(r", | and ", spec))
    return numbers


def notebook_places(path) -> tuple[set[str], set[int]]:
    """The section numbers ("2", "2.1") and exercise numbers a chapter has."""
    nb = notebooks.read(path)
    sections = {found.group(1) for cell in nb.cells if cell.cell_type == "markdown"
                for found in re.finditer(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", cell.source, re.MULTILINE)}
    return sections, {int(ex.id) for ex in notebooks.exercises(nb)}


def test_errata_has_entries_for_every_seed():
    ids = [rid for rid, _ in entries()]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert {rid[1:4] for rid in ids} == {"000", "001", "002", "003"}


@pytest.mark.parametrize(("rid", "column"), entries(), ids=[rid for rid, _ in entries()])
def test_every_entry_points_at_places_that_exist(rid, column):
    found_any = False
    for segment in column.split(";"):
        for path in NOTEBOOK.findall(segment):
            found_any = True
            sections, exercises = notebook_places(notebooks.ROOT / path)
            for section in SECTION.findall(segment):
                assert section in sections, f"{rid}: {path} has no §{section}"
            for number in exercise_numbers(segment):
                assert number in exercises, f"{rid}: {path} has no Exercise {number}"
        test_file = None
        for file_part, name in TEST.findall(segment):
            test_file = file_part or test_file
            assert test_file, f"{rid}: ::{name} without a test file"
            source = (notebooks.ROOT / test_file).read_text(encoding="utf-8")
            functions = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
            assert name in functions, f"{rid}: {test_file} has no {name}"
            found_any = True
        for path in FILE.findall(segment):
            assert (notebooks.ROOT / path).exists(), f"{rid}: {path} does not exist"
            found_any = True
    assert found_any, f"{rid} names no place where it is demonstrated"


DOCUMENTS = ["README.md", *sorted(f"chapters/{p.name}" for p in (notebooks.ROOT / "chapters").glob("0*.ipynb"))]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_tests_and_files_named_in_the_readme_and_chapters_exist(document):
    """A renamed test or module must not leave a chapter or the README pointing at nothing."""
    text = (notebooks.ROOT / document).read_text(encoding="utf-8")
    for test_file, name in re.findall(r"(tests/\w+\.py)::(\w+)", text):
        path = notebooks.ROOT / test_file
        source = path.read_text(encoding="utf-8") if path.exists() else ""
        assert f"def {name}(" in source, f"{document} names {test_file}::{name}, which does not exist"
    for file in re.findall(r"(?:toolkit|bench|tests|data)/[\w/]+\.(?:py|md|cfg)", text):
        assert (notebooks.ROOT / file).exists(), f"{document} names {file}, which does not exist"


# Numbers an entry quotes ("0.772 → 0.840", "1.46 nats") must be printed by the chapters it names.
QUOTED_NUMBER = re.compile(r"(?<![\w.§])([−-]?\d+\.\d+(?:e-?\d+)?)(?![\w.]*\d)")
STORED_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


def columns(rid: str) -> list[str]:
    line = next(line for line in ERRATA.read_text(encoding="utf-8").splitlines() if line.startswith(f"| {rid} |"))
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def stored_numbers(path) -> set[float]:
    """Every number the notebook's stored outputs print (stdout and plain-text results)."""
    text = []
    for cell in notebooks.code_cells(notebooks.read(path)):
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") if output.get("output_type") == "stream"
                        else output.get("data", {}).get("text/plain", ""))
    return {float(n.replace(",", "")) for n in STORED_NUMBER.findall("\n".join(text))}


def matches(quoted: str, stored: set[float]) -> bool:
    """``quoted`` is a stored number as printed or rounded: to its decimals, or to 2 significant digits."""
    quoted = quoted.replace("−", "-")
    value = float(quoted)
    if "e" in quoted:
        return any(n and abs(n - value) <= 0.05 * abs(value) for n in stored)
    decimals = len(quoted.split(".")[1])
    return any(round(n, decimals) == value for n in stored)


@pytest.mark.parametrize(("rid", "column"), entries(), ids=[rid for rid, _ in entries()])
def test_every_number_an_entry_quotes_is_a_stored_output(rid, column):
    """A decimal in the "what is wrong / what is right" columns comes from the chapters the entry names
    (seed quotes, code and section numbers are left out). Stale numbers fail here."""
    body = re.sub(r"`[^`]*`", "", " ".join(columns(rid)[2:-1]))
    quoted = QUOTED_NUMBER.findall(body)
    places = NOTEBOOK.findall(column)
    if not quoted:
        return
    assert places, f"{rid} quotes {quoted} but names no chapter that prints them"
    stored = set().union(*(stored_numbers(notebooks.ROOT / path) for path in places))
    missing = [q for q in quoted if not matches(q, stored)]
    assert not missing, f"{rid} quotes {missing}, which no stored output of {places} prints"


def section_cells(nb, number: str) -> list:
    """The code cells under the heading numbered ``number`` ("2" or "2.1"), up to the next heading of
    the same or a higher level."""
    level = 2 if "." not in number else 3
    inside, found = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for hashes, numbered in re.findall(r"^(#{2,3}) (\d+(?:\.\d+)?)?", cell.source, re.MULTILINE):
                if numbered == number:
                    inside = True
                elif len(hashes) <= level:
                    inside = False
        elif cell.cell_type == "code" and inside:
            found.append(cell)
    return found


@pytest.mark.parametrize(("rid", "column"), entries(), ids=[rid for rid, _ in entries()])
def test_every_chapter_demonstration_runs_offline_or_says_it_does_not(rid, column):
    """A section named as a demonstration holds a code cell that ran and printed something; a section
    whose cells are all ``# NBVAL_SKIP`` (network or GPU only) must be labelled "not run here"."""
    for segment in column.split(";"):
        for path in NOTEBOOK.findall(segment):
            nb = notebooks.read(notebooks.ROOT / path)
            for number in SECTION.findall(segment):
                cells = section_cells(nb, number)
                ran = [c for c in cells if c.get("outputs") and notebooks.SKIP_MARK not in c.source]
                if not ran:
                    assert "not run here" in segment, f"{rid}: {path} §{number} runs nothing offline; say so"


def test_the_quoted_number_checks_catch_a_stale_number():
    assert matches("0.772", {0.7724}) and matches("1.5e-7", {1.52e-7}) and matches("0.027", {0.0267})
    assert not matches("0.774", {0.772, 0.840}) and not matches("29.1", {57.0, 20.0})
