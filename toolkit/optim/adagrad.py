"""AdaGrad, from scratch (chapter 2)."""

from __future__ import annotations

import keras
from keras import ops

from toolkit.optim.forms import ScratchOptimizer


@keras.saving.register_keras_serializable(package="toolkit")
class AdaGrad(ScratchOptimizer):
    """AdaGrad: every parameter's step shrinks with the sum of its squared gradients.

    Keras form (default; equals ``keras.optimizers.Adagrad``, accumulator starting at 0.1)::

        s ← s + g²          θ ← θ − η·g / √(s + ε)

    Paper form (Duchi, Hazan & Singer 2011; pass ``initial_accumulator_value=0.0`` for theirs)::

        s ← s + g²          θ ← θ − η·g / (√s + ε)
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, form="keras",
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name, form, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def slots(self):
        """The running sum of g² for every variable."""
        return {"accumulators": "accumulator"}

    def slot_initializer(self):
        """The sum starts at ``initial_accumulator_value`` (0.1 in Keras, 0 in the paper)."""
        return keras.initializers.Constant(self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        eta = ops.cast(learning_rate, variable.dtype)
        s = self.accumulators[self._get_variable_index(variable)]
        self.assign_add(s, ops.square(g))
        if self.form == "keras":
            self.assign_sub(variable, eta * g / ops.sqrt(s + self.epsilon))
        else:
            self.assign_sub(variable, eta * g / (ops.sqrt(s) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
