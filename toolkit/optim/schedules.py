"""Learning-rate schedules (chapter 2): Keras's own where it has them, and the two it lacks.

Every schedule maps the optimizer's step t to a learning rate η_t and is a
``keras.optimizers.schedules.LearningRateSchedule``: pass it as ``learning_rate=`` to any
optimizer. It is evaluated inside the compiled step, so it never retraces anything.

>>> schedule = step_decay(0.1, drop=0.5, every=10)
>>> [round(float(schedule(t)), 4) for t in (0, 9, 10, 25)]
[0.1, 0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math

import keras
from keras import ops

from toolkit.errors import ArgumentError

Schedule = keras.optimizers.schedules.LearningRateSchedule


def step_decay(initial_learning_rate: float, drop: float = 0.5, every: int = 1000) -> Schedule:
    """η_t = η₀ · drop^⌊t / every⌋: the rate falls by a factor ``drop`` every ``every`` steps."""
    return keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps=every, decay_rate=drop,
                                                       staircase=True)


def exponential_decay(initial_learning_rate: float, decay_rate: float = 0.96, decay_steps: int = 1000) -> Schedule:
    """η_t = η₀ · decay_rate^(t / decay_steps): a smooth fall by ``decay_rate`` every ``decay_steps``."""
    return keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps=decay_steps,
                                                       decay_rate=decay_rate)


def cosine_with_warmup(peak_learning_rate: float, warmup_steps: int, decay_steps: int, *,
                       initial_learning_rate: float = 0.0, final_fraction: float = 0.0) -> Schedule:
    """Linear warm-up from ``initial_learning_rate`` to the peak over ``warmup_steps``, then a cosine
    decay to ``final_fraction`` × peak over ``decay_steps`` (Keras's ``CosineDecay`` with warm-up)."""
    return keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps=decay_steps,
                                                  alpha=final_fraction, warmup_target=peak_learning_rate,
                                                  warmup_steps=warmup_steps)


def warm_restarts(initial_learning_rate: float, first_decay_steps: int, *, t_mul: float = 2.0, m_mul: float = 1.0,
                  final_fraction: float = 0.0) -> Schedule:
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017; Keras's ``CosineDecayRestarts``):
    each cycle decays from the top, then restarts, ``t_mul`` times longer and ``m_mul`` times lower."""
    return keras.optimizers.schedules.CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=t_mul,
                                                          m_mul=m_mul, alpha=final_fraction)


@keras.saving.register_keras_serializable(package="toolkit")
class Triangular(Schedule):
    """Cyclical learning rate, triangular policy (Smith 2017): up from ``base`` to ``max`` over
    ``step_size`` steps, down again over the next ``step_size``, and repeat. ``mode="triangular2"``
    halves the height of every new cycle.

        cycle = ⌊1 + t / (2·step_size)⌋,   x = |t / step_size − 2·cycle + 1|
        η_t = base + (max − base) · max(0, 1 − x) · (1 / 2^(cycle−1) in triangular2)
    """

    def __init__(self, base_learning_rate: float, max_learning_rate: float, step_size: int,
                 mode: str = "triangular"):
        if mode not in ("triangular", "triangular2"):
            raise ArgumentError(f'mode must be "triangular" or "triangular2", not {mode!r}.')
        self.base_learning_rate, self.max_learning_rate = base_learning_rate, max_learning_rate
        self.step_size, self.mode = step_size, mode

    def __call__(self, step):
        t = ops.cast(step, "float32")
        cycle = ops.floor(1 + t / (2 * self.step_size))
        x = ops.abs(t / self.step_size - 2 * cycle + 1)
        height = (self.max_learning_rate - self.base_learning_rate) * ops.maximum(0.0, 1 - x)
        if self.mode == "triangular2":
            height = height / ops.power(2.0, cycle - 1)
        return self.base_learning_rate + height

    def get_config(self):
        return {"base_learning_rate": self.base_learning_rate, "max_learning_rate": self.max_learning_rate,
                "step_size": self.step_size, "mode": self.mode}


@keras.saving.register_keras_serializable(package="toolkit")
class OneCycle(Schedule):
    """The one-cycle policy (Smith & Topin 2019), two phases with cosine annealing, as PyTorch's
    ``OneCycleLR``: from max/``div_factor`` up to ``max_learning_rate`` over the first
    ``pct_start`` of ``total_steps``, then down to max/(div_factor·final_div_factor).
    """

    def __init__(self, max_learning_rate: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4):
        self.max_learning_rate, self.total_steps, self.pct_start = max_learning_rate, total_steps, pct_start
        self.div_factor, self.final_div_factor = div_factor, final_div_factor

    @staticmethod
    def _anneal(start, end, fraction):
        return end + (start - end) / 2 * (1 + ops.cos(math.pi * fraction))

    def __call__(self, step):
        t = ops.cast(step, "float32")
        initial = self.max_learning_rate / self.div_factor
        final = initial / self.final_div_factor
        peak_at = max(self.pct_start * self.total_steps - 1, 1.0)
        rising = self._anneal(initial, self.max_learning_rate, ops.clip(t / peak_at, 0.0, 1.0))
        falling_fraction = ops.clip((t - peak_at) / max(self.total_steps - 1 - peak_at, 1.0), 0.0, 1.0)
        falling = self._anneal(self.max_learning_rate, final, falling_fraction)
        return ops.where(t <= peak_at, rising, falling)

    def get_config(self):
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "div_factor": self.div_factor, "final_div_factor": self.final_div_factor}
