"""toolkit.viz: comparison plots in the style of tensorflow_docs' HistoryPlotter, and text tables."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from toolkit.viz import HistoryPlotter, format_table


def test_history_plotter_keeps_one_colour_per_name():
    histories = {"a": {"samples": [1, 2, 3], "accuracy": [0.1, 0.2, 0.3], "val_accuracy": [0.1, 0.1, 0.2]},
                 "b": {"samples": [1, 2], "accuracy": [0.5, 0.6]}}
    plotter = HistoryPlotter(smoothing_std=1.0)
    ax1, ax2 = Figure().subplots(1, 2)
    plotter.plot(histories, ax=ax1)
    plotter.plot({"b": histories["b"], "a": histories["a"]}, x="epoch", ax=ax2)
    colours = {line.get_label(): line.get_color() for line in ax1.lines}
    assert colours == {line.get_label(): line.get_color() for line in ax2.lines}
    assert colours["a"] == colours["a (val)"] != colours["b"]
    assert [line.get_linestyle() for line in ax1.lines] == ["-", "--", "-"]
    np.testing.assert_allclose(ax2.lines[0].get_xdata(), [1, 2])  # no "epoch" column: 1, 2, ...


def test_format_table_aligns_text_left_and_numbers_right():
    table = format_table([{"name": "a", "score": 0.5, "n": 10}, {"name": "bbb", "score": 0.25, "n": 7}],
                         {"score": ".2f"}, limit=2)
    assert table.splitlines() == ["name  score   n", "a      0.50  10", "bbb    0.25   7"]
    assert format_table([]) == "(no rows)"
