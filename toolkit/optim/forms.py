"""What the from-scratch optimizers share: Keras's ``Optimizer``, the choice between Keras's formulas
and the papers' (``form``), and slot variables declared by name and created in ``build`` (chapter 2)."""

from __future__ import annotations

import keras

from toolkit.errors import ArgumentError

FORMS = ("keras", "paper")


def check_form(form: str) -> str:
    """Validate ``form``: ``"keras"`` (matches ``keras.optimizers``) or ``"paper"`` (the textbook formula)."""
    if form not in FORMS:
        raise ArgumentError(f'form must be "keras" (match keras.optimizers) or "paper" (the textbook formula), '
                            f"not {form!r}.")
    return form


class ScratchOptimizer(keras.optimizers.Optimizer):
    """A ``keras.optimizers.Optimizer`` whose per-variable state is declared in ``slots()``
    (``{attribute: variable name}``) and created once, in ``build``; its subclasses write only their
    hyperparameters and their ``update_step``."""

    def __init__(self, learning_rate, name: str, form: str = "keras", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.form = check_form(form)

    def slots(self) -> dict[str, str]:
        """The state each variable needs under this configuration: ``{attribute: variable name}``."""
        return {}

    def slot_initializer(self):
        """How the slots start (zeros unless an optimizer says otherwise)."""
        return "zeros"

    def build(self, variables):
        """Create one slot variable per trainable variable for every entry of ``slots()``."""
        if self.built:
            return
        super().build(variables)
        for attribute, name in self.slots().items():
            setattr(self, attribute, self.add_optimizer_variables(variables, name, initializer=self.slot_initializer()))

    def get_config(self):
        """Keras's config plus ``form``, so the optimizer saves and reloads with the model."""
        return {**super().get_config(), "form": self.form}
