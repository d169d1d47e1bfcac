"""Stochastic gradient descent with momentum and Nesterov momentum, from scratch (chapter 2)."""

from __future__ import annotations

import keras
from keras import ops

from toolkit.errors import ArgumentError
from toolkit.optim.forms import ScratchOptimizer


@keras.saving.register_keras_serializable(package="toolkit")
class SGD(ScratchOptimizer):
    """SGD with optional (Nesterov) momentum μ, learning rate η and gradient g.

    Keras form (default; equals ``keras.optimizers.SGD``), the learning rate inside the velocity::

        v ← μ·v − η·g        θ ← θ + v           Nesterov: θ ← θ + μ·v − η·g

    Paper form (``form="paper"``; Polyak's heavy ball as textbooks and PyTorch write it)::

        v ← μ·v + g          θ ← θ − η·v         Nesterov: θ ← θ − η·(g + μ·v)

    With a constant η the two are the same algorithm. When η changes (a schedule), the Keras
    velocity still carries steps scaled by the old η, while the paper velocity is rescaled at once.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, form="keras", name="SGD", **kwargs):
        super().__init__(learning_rate, name, form, **kwargs)
        if not 0 <= momentum <= 1:
            raise ArgumentError("`momentum` must be a float between [0, 1].")
        self.momentum, self.nesterov = momentum, nesterov

    def slots(self):
        """A velocity per variable, with momentum only."""
        return {"velocities": "momentum"} if self.momentum else {}

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        eta = ops.cast(learning_rate, variable.dtype)
        if not self.momentum:
            self.assign_sub(variable, eta * g)  # θ ← θ − η·g
            return
        mu = ops.cast(self.momentum, variable.dtype)
        v = self.velocities[self._get_variable_index(variable)]
        if self.form == "keras":
            self.assign(v, mu * v - eta * g)
            self.assign_add(variable, mu * v - eta * g if self.nesterov else v)
        else:
            self.assign(v, mu * v + g)
            self.assign_sub(variable, eta * (g + mu * v) if self.nesterov else eta * v)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
