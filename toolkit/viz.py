"""The visualisation layer: comparison plots in the style of ``tensorflow_docs.plots.HistoryPlotter`` (chapters 1-6).

Give it ``{name: history}``; each name keeps one colour across every plot of the plotter,
training curves are solid and validation curves dashed, and curves can be smoothed.
Histories may be Keras ``History`` objects, ``tk.RunHistory`` objects or plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
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
        self._colors = iter(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] * 10)

    def color(self, name: str) -> str:
        """The colour kept for ``name`` across every plot of this plotter."""
        if name not in self.color_table:
            self.color_table[name] = next(self._colors)
        return self.color_table[name]

    def plot(self, histories: Mapping[str, object], metric: str | None = None, x: str | None = None,
             ax=None, validation: bool = True):
        """Draw training (solid) and, when present, validation (dashed) curves for each history; returns
        the matplotlib axes (pyplot's current ones when ``ax`` is None)."""
        metric, x = metric or self.metric, x or self.x
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
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


def format_table(rows: list[dict], formats: dict[str, str] | None = None, limit: int | None = None) -> str:
    """Rows of dicts as an aligned text table: text left, numbers right; ``formats`` maps a column to a
    format spec (floats default to ``g``). Used by ``compare`` (chapter 1) and the tuning tables (chapter 5).

    >>> print(format_table([{"method": "sgd", "acc": 0.91234}, {"method": "adam", "acc": 0.9}], {"acc": ".3f"}))
    method    acc
    sgd     0.912
    adam    0.900
    """
    if not rows:
        return "(no rows)"
    keys, formats = list(rows[0]), formats or {}

    def cell(key, value):
        if key in formats:
            return format(value, formats[key])
        return format(value, "g") if isinstance(value, float) else str(value)

    cells = [[cell(key, row[key]) for key in keys] for row in rows[:limit]]
    widths = [max(len(key), *(len(row[i]) for row in cells)) for i, key in enumerate(keys)]
    numeric = [all(isinstance(row[key], int | float) for row in rows) for key in keys]

    def line(values):
        return "  ".join(v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(keys), *(line(row) for row in cells)])
