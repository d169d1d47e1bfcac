"""Adam (with AMSGrad) and AdamW, from scratch (chapter 2)."""

from __future__ import annotations

import keras
from keras import ops

from toolkit.errors import ArgumentError
from toolkit.optim.forms import ScratchOptimizer


@keras.saving.register_keras_serializable(package="toolkit")
class Adam(ScratchOptimizer):
    """Adam: momentum on the gradient (m) and RMSprop's scaling (v), both bias-corrected.

    Moving averages started at 0 are biased towards 0: with a constant gradient g,
    m_t = (1 − β₁ᵗ)·g. Dividing by (1 − β₁ᵗ) and (1 − β₂ᵗ) removes that bias::

        m ← β₁·m + (1−β₁)·g        v ← β₂·v + (1−β₂)·g²       [AMSGrad: v̂ ← max(v̂, v)]
        paper form (Kingma & Ba, Algorithm 1):   θ ← θ − η · m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
        Keras form (default; the paper's §2 variant): θ ← θ − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)

    The two differ only in where ε sits. Adam is a *first-order* method: v is a moving average
    of squared gradients, not a second derivative.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, form="keras",
                 name="adam", **kwargs):
        super().__init__(learning_rate, name, form, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def slots(self):
        """m and v for every variable, and AMSGrad's running maximum of v."""
        return {"m": "momentum", "v": "velocity", **({"v_max": "velocity_hat"} if self.amsgrad else {})}

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        eta = ops.cast(learning_rate, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        index = self._get_variable_index(variable)
        m, v = self.m[index], self.v[index]
        # β·a + (1−β)·x, written as "step a fraction (1−β) of the way to x" (Keras rounds it this way)
        self.assign_add(m, (1 - self.beta_1) * (g - m))
        self.assign_add(v, (1 - self.beta_2) * (ops.square(g) - v))
        if self.amsgrad:
            self.assign(self.v_max[index], ops.maximum(self.v_max[index], v))
            v = self.v_max[index]
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, variable.dtype), t)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, variable.dtype), t)
        if self.form == "keras":
            self.assign_sub(variable, eta * ops.sqrt(correction_2) / correction_1 * m / (ops.sqrt(v) + self.epsilon))
        else:
            m_hat, v_hat = m / correction_1, v / correction_2
            self.assign_sub(variable, eta * m_hat / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


@keras.saving.register_keras_serializable(package="toolkit")
class AdamW(Adam):
    """Adam with decoupled weight decay λ (Loshchilov & Hutter 2019)::

        θ ← θ − η·λ·θ,  then the Adam step

    The decay is applied to the weights directly, not added to the gradient as an L2 penalty,
    so Adam's per-parameter scaling does not weaken it. (Keras applies the same decoupled decay
    for any optimizer given ``weight_decay``; AdamW only makes it the default.)
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, form="keras", name="adamw", **kwargs):
        if weight_decay is None:
            raise ArgumentError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, form=form, name=name, weight_decay=weight_decay, **kwargs)

    def _apply_weight_decay(self, variables):
        """Keras's base class would decay here; AdamW decays in ``update_step``, where the math is."""

    def update_step(self, gradient, variable, learning_rate):
        if self._use_weight_decay(variable):
            eta = ops.cast(learning_rate, variable.dtype)
            self.assign_sub(variable, variable * ops.cast(self.weight_decay, variable.dtype) * eta)  # θ ← θ − ηλθ
        super().update_step(gradient, variable, learning_rate)
