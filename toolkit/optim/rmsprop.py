"""RMSprop with momentum and the centered variant, from scratch (chapter 2)."""

from __future__ import annotations

import keras
from keras import ops

from toolkit.optim.forms import ScratchOptimizer


@keras.saving.register_keras_serializable(package="toolkit")
class RMSprop(ScratchOptimizer):
    """RMSprop: divide each step by a moving root-mean-square of recent gradients.

    It is adaptive (the effective step η/√v changes for every parameter at every step) and it
    remembers: v averages *past* squared gradients with decay ρ. Keras form (default; equals
    ``keras.optimizers.RMSprop``), ε inside the root and η inside the momentum buffer::

        v ← ρ·v + (1−ρ)·g²        [centered: ḡ ← ρ·ḡ + (1−ρ)·g,  v − ḡ² replaces v]
        Δ ← η·g / √(v + ε)         momentum: b ← μ·b + Δ;  θ ← θ − b   (else θ ← θ − Δ)

    Paper form (``form="paper"``; Tieleman & Hinton's lecture as usually written, and PyTorch)::

        Δ ← g / (√v + ε)           momentum: b ← μ·b + Δ;  θ ← θ − η·b   (else θ ← θ − η·Δ)
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, form="keras",
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate, name, form, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def slots(self):
        """The moving average of g², the momentum buffer if any, the moving average of g if centered."""
        return {"velocities": "velocity", **({"buffers": "momentum"} if self.momentum > 0 else {}),
                **({"mean_gradients": "average_gradient"} if self.centered else {})}

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        eta = ops.cast(learning_rate, variable.dtype)
        index = self._get_variable_index(variable)
        v = self.velocities[index]
        self.assign(v, self.rho * v + (1 - self.rho) * ops.square(g))
        mean_square = v
        if self.centered:
            g_bar = self.mean_gradients[index]
            self.assign(g_bar, self.rho * g_bar + (1 - self.rho) * g)
            mean_square = v - ops.square(g_bar)
        if self.form == "keras":
            step, scale = eta * g / ops.sqrt(mean_square + self.epsilon), 1.0
        else:
            step, scale = g / (ops.sqrt(mean_square) + self.epsilon), eta
        if self.momentum > 0:
            b = self.buffers[index]
            self.assign(b, self.momentum * b + step)
            step = b
        self.assign_sub(variable, scale * step)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
