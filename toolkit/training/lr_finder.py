"""``tk.find_lr``: the learning-rate range test (Smith 2017) (chapter 2).

Train a copy of the model for a few hundred mini-batches while the learning rate grows
exponentially, record the loss at every step, and look at loss against learning rate: it
falls slowly, then fast, then blows up. A good rate sits where it falls fastest.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from toolkit.errors import NonFiniteLossError
from toolkit.models.inspect import clone_with_weights
from toolkit.optim.factory import copy_optimizer
from toolkit.training.minibatch import train_minibatch


@dataclass
class LRFinderResult:
    """Rates tried, the loss at each, its smoothed curve and the suggested rate."""

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    min_loss_rate: float

    def plot(self, ax=None):
        """Loss against learning rate (log scale), with the suggestion marked; returns the matplotlib axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        ax.plot(self.learning_rates, self.losses, alpha=0.3, label="loss per step")
        ax.plot(self.learning_rates, self.smoothed, label="smoothed")
        ax.axvline(self.suggestion, color="C3", linestyle="--", label=f"suggested {self.suggestion:.2g}")
        ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title="Learning-rate range test")
        top = np.nanmin(self.smoothed) + 2 * (self.smoothed[0] - np.nanmin(self.smoothed))
        ax.set_ylim(np.nanmin(self.losses) * 0.9, max(top, self.smoothed[0] * 1.05))
        ax.legend()
        ax.grid(alpha=0.3)
        return ax


def _with_schedule(optimizer, schedule, model: keras.Model, probe: keras.Model) -> keras.optimizers.Optimizer:
    """A fresh optimizer of the same kind and settings (weight-decay exclusions included) for ``probe``, a
    copy of ``model``, driven by ``schedule``."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return copy_optimizer(optimizer, model.trainable_variables, probe.trainable_variables, learning_rate=schedule)
    if isinstance(optimizer, dict):
        return keras.optimizers.get({**optimizer, "config": {**optimizer.get("config", {}), "learning_rate": schedule}})
    return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": schedule}})


class _BatchLosses(keras.callbacks.Callback):
    """Records the loss of every batch: ``fit``'s batch logs hold the running mean, so each batch's own loss
    is recovered from consecutive means."""

    def __init__(self):
        super().__init__()
        self.means: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.means.append(float(logs["loss"]))

    def losses(self) -> np.ndarray:
        means = np.asarray(self.means, dtype=np.float64)
        counts = np.arange(1, len(means) + 1)
        return np.diff(np.concatenate([[0.0], means * counts]))


def find_lr(model: keras.Model, train: tuple[np.ndarray, np.ndarray], *, optimizer="sgd", loss=None,
            min_lr: float = 1e-5, max_lr: float = 10.0, steps: int = 200, batch_size: int = 32,
            smoothing: float = 0.9, seed: int = 0) -> LRFinderResult:
    """Run the learning-rate range test on a copy of ``model`` (the model itself is untouched).

    The rate grows from ``min_lr`` to ``max_lr`` over ``steps`` mini-batches of shuffled data.
    The suggestion is the rate where the smoothed loss falls fastest (per log-unit of rate),
    before the minimum; ``min_loss_rate`` is where it is lowest. Used in chapter 2.
    """
    x, y = train
    probe = clone_with_weights(model)
    growth = keras.optimizers.schedules.ExponentialDecay(min_lr, decay_steps=max(steps - 1, 1),
                                                         decay_rate=max_lr / min_lr)
    order = np.random.default_rng(seed).permutation(np.resize(np.arange(len(x)), steps * batch_size))
    recorder = _BatchLosses()
    try:
        train_minibatch(probe, (np.asarray(x)[order], np.asarray(y)[order]),
                        optimizer=_with_schedule(optimizer, growth, model, probe), loss=loss, epochs=1,
                        batch_size=batch_size, shuffle=False, callbacks=[recorder], verbose=0)
    except NonFiniteLossError:
        pass  # the rate grew until the loss blew up: the curve ends there
    losses = recorder.losses()
    rates = np.asarray([float(growth(t)) for t in range(len(losses))])
    smoothed = _smooth(losses, smoothing)
    lowest = int(np.nanargmin(smoothed))
    slope = np.gradient(smoothed[: lowest + 1], np.log(rates[: lowest + 1])) if lowest > 1 else np.zeros(1)
    return LRFinderResult(rates, losses, smoothed, float(rates[int(np.argmin(slope))]), float(rates[lowest]))


def _smooth(values: np.ndarray, beta: float) -> np.ndarray:
    """Bias-corrected exponential moving average (the same correction as Adam's)."""
    average, out = 0.0, np.empty_like(values)
    for t, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * (value if np.isfinite(value) else np.inf)
        out[t - 1] = average / (1 - beta**t)
    return out
