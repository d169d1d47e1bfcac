"""What the from-scratch optimizers share: the choice between Keras's formulas and the papers'."""

from __future__ import annotations

FORMS = ("keras", "paper")


def check_form(form: str) -> str:
    """Validate ``form``: ``"keras"`` (matches ``keras.optimizers``) or ``"paper"`` (the textbook formula)."""
    if form not in FORMS:
        raise ValueError(f'form must be "keras" (match keras.optimizers) or "paper" (the textbook formula), '
                         f"not {form!r}.")
    return form
