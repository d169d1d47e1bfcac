"""Claims: every claim in every solution notebook holds in its stored outputs, every hand-printed
verdict in the narrative is a claim, and ``execute`` refuses to store a flipped claim or a changed check."""

from __future__ import annotations

import re

import nbformat
import pytest

import toolkit as tk
from tests.helpers import subprocess_env
from toolkit.course import claims, notebooks
from toolkit.errors import NotebookRegressionError

CHAPTERS = notebooks.chapter_notebooks()


def cell(source: str, printed: str = "") -> nbformat.NotebookNode:
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)] if printed else []
    return nbformat.v4.new_code_cell(source, outputs=outputs)


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter 0"), *cells])


def test_claim_prints_one_uniform_verdict(capsys):
    tk.claim("more is more", 3 > 2)
    tk.claim("less is more", 3 < 2)
    assert capsys.readouterr().out == "claim: more is more: True\nclaim: less is more: False\n"
    with pytest.raises(ValueError, match="one non-empty line"):
        tk.claim("two\nlines", True)


def test_claims_are_read_back_from_stored_outputs_with_their_cells():
    nb = notebook(cell("x", "a table\nclaim: it grows: True\n"), cell("y", "claim: ratio: 2 > 1: False\n"))
    assert claims.claims(nb) == [claims.Claim(1, "it grows", True), claims.Claim(2, "ratio: 2 > 1", False)]


def test_regressions_name_false_claims_and_changed_checks_but_not_other_outputs():
    before = notebook(cell("# NBVAL_CHECK_OUTPUT\nprint(1)", "answer: 1\n"), cell("t", "took 3 s\n"))
    after = notebook(cell("# NBVAL_CHECK_OUTPUT\nprint(1)", "answer: 2\n"), cell("t", "took 5 s\nclaim: fast: False\n"))
    found = [str(r) for r in claims.regressions(before, after)]
    assert found == ["cell 2: claim is false: fast", "cell 1: graded check output changed: 'answer: 1' -> 'answer: 2'"]
    assert claims.regressions(before, before) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_claim_in_a_solution_notebook_holds(path):
    nb = notebooks.read(path)
    found = claims.claims(nb)
    assert found, f"{path.name} backs no sentence with a claim"
    false = [f"cell {c.cell}: {c.text}" for c in found if not c.holds]
    assert not false, f"{path.name}: false claims in the stored outputs: {false}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_narrative_verdicts_use_the_claim_form(path):
    """A narrative cell that prints "...: True" by hand would escape the claims test: use tk.claim."""
    loose = claims.loose_verdicts(notebooks.read(path))
    assert not loose, f"{path.name}: verdicts printed without tk.claim: {loose}"


def executed(tmp_path, *cells):
    path = tmp_path / "chapter.ipynb"
    notebooks.write(notebook(*cells), path)
    return path


@pytest.mark.slow
def test_execute_refuses_a_flipped_claim_and_a_changed_check_and_names_the_cells(tmp_path, monkeypatch):
    for key, value in subprocess_env().items():
        monkeypatch.setenv(key, value)
    path = executed(tmp_path, cell("FLAG, ANSWER = True, 42"), cell("print('claim: the flag is up:', FLAG)"),
                    cell("# NBVAL_CHECK_OUTPUT\nprint(ANSWER)"))
    notebooks.execute(path)  # first run: nothing stored to compare with, the claim holds
    stored = path.read_text(encoding="utf-8")
    assert "claim: the flag is up: True" in stored and "42" in stored

    nb = notebooks.read(path)
    nb.cells[1].source = "FLAG, ANSWER = False, 43"
    notebooks.write(nb, path)
    edited = path.read_text(encoding="utf-8")
    with pytest.raises(NotebookRegressionError) as refusal:
        notebooks.execute(path)
    message = str(refusal.value)
    assert "cell 2: claim is false: the flag is up" in message
    assert "cell 3: graded check output changed: '42' -> '43'" in message
    assert path.read_text(encoding="utf-8") == edited, "the refused run must not be stored"
    with pytest.raises(NotebookRegressionError, match="claim is false"):
        notebooks.execute(path, accept=True)  # --accept stores changed checks, never a false claim

    nb = notebooks.read(path)
    nb.cells[1].source = "FLAG, ANSWER = True, 43"
    notebooks.write(nb, path)
    with pytest.raises(NotebookRegressionError, match="--accept"):
        notebooks.execute(path)
    notebooks.execute(path, accept=True)
    assert "43" in path.read_text(encoding="utf-8")


def prose_numbers(nb) -> list[tuple[int, str]]:
    """Decimals stated in a chapter's prose, with their cells. Left out: headings, seed quotes (``>``),
    code spans, math, references ("Algorithm 8.2", a seed's section title such as "6.3 算法优化") and the
    Exercises section, whose numbers are the task's inputs, not results."""
    from tests.test_errata import QUOTED_NUMBER

    found, exercises = [], False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        exercises = exercises or cell.source.startswith(notebooks.EXERCISES_HEADING)
        if exercises:
            continue
        text = "\n".join(line for line in cell.source.splitlines() if not line.startswith((">", "#")))
        for pattern in (r"\$\$.*?\$\$", r"\$[^$]*\$", r"`[^`]*`", r"Algorithm \d+\.\d+", r"\d+\.\d+\s*[\u4e00-\u9fff]"):
            text = re.sub(pattern, "", text, flags=re.DOTALL)
        found += [(index, number) for number in QUOTED_NUMBER.findall(text)]
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_the_prose_are_stored_outputs(path):
    """A measured number in the text must be one the notebook printed (as printed or rounded), so a
    re-run that changes it fails here instead of leaving the text stale. State the rest as ranges."""
    from tests.test_errata import matches, stored_numbers

    stored = stored_numbers(path)
    stale = [(cell, number) for cell, number in prose_numbers(notebooks.read(path)) if not matches(number, stored)]
    assert not stale, f"{path.name}: numbers in the prose that no output prints (cell, number): {stale}"


def test_execute_has_an_accept_flag_for_deliberate_check_changes():
    from toolkit.cli.commands import build_parser

    chapter = str(CHAPTERS[0])
    assert build_parser().parse_args(["execute", chapter, "--accept"]).accept is True
    assert build_parser().parse_args(["execute", chapter]).accept is False
