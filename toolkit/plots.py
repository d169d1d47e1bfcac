"""Comparison plots in the style of ``tensorflow_docs.plots.HistoryPlotter`` (chapters 1-6).

Give it ``{name: history}``; each name keeps one colour across every plot of the plotter,
training curves are solid and validation curves dashed, and curves can be smoothed.
Histories may be Keras ``History`` objects, ``tk.RunHistory`` objects or plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

X_LABELS = {"samples": "samples seen", "time": "training time (s)", "epoch": "epoch", "updates": "updates"}


def columns(history) -> dict[str, list[float]]:
    """The ``{metric: values}`` columns of a History, RunHistory or dict."""
    return dict(getattr(history, "history", history))


def smooth(values: np.ndarray, std: float) -> np.ndarray:
    """Gaussian smoothing over ``std`` points (edges renormalised), as in tensorflow_docs."""
    width = min(int(3 * std), (len(values) - 1) // 2)  # the kernel may not outgrow the curve
    if std <= 0 or width < 1:
        return values
    kernel = np.exp(-0.5 * (np.arange(-width, width + 1) / std) ** 2)
    weights = np.convolve(np.ones_like(values), kernel, mode="same")
    return np.convolve(values, kernel, mode="same") / weights


class HistoryPlotter:
    """Plot ``{name: history}`` curves of one metric against samples, time, epochs or updates."""

    def __init__(self, metric: str = "accuracy", x: str = "samples", smoothing_std: float = 0.0):
        self.metric, self.x, self.smoothing_std = metric, x, smoothing_std
        self.color_table: dict[str, str] = {}
        self._colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10)

    def color(self, name: str) -> str:
        """The colour kept for ``name`` across every plot of this plotter."""
        if name not in self.color_table:
            self.color_table[name] = next(self._colors)
        return self.color_table[name]

    def plot(self, histories: Mapping[str, object], metric: str | None = None, x: str | None = None,
             ax: plt.Axes | None = None, validation: bool = True) -> plt.Axes:
        """Draw training (solid) and, when present, validation (dashed) curves for each history."""
        metric, x = metric or self.metric, x or self.x
        ax = ax or plt.gca()
        for name, history in histories.items():
            cols = columns(history)
            for key, style, suffix in ((metric, "-", ""), (f"val_{metric}", "--", " (val)")):
                if key not in cols or (suffix and not validation):
                    continue
                y = np.asarray(cols[key], dtype=float)
                xs = np.asarray(cols[x], dtype=float) if x in cols else np.arange(1, len(y) + 1)
                ax.plot(xs, smooth(y, self.smoothing_std), style, color=self.color(name),
                        label=f"{name}{suffix}", marker="o" if len(y) < 12 else None, markersize=3)
        ax.set_xlabel(X_LABELS.get(x, x))
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        return ax
