"""toolkit.tuning: KerasTuner searches train every combination they should, repeat with a seed,
and never hide a failed trial (chapter 5)."""

from __future__ import annotations

import itertools
import sys

import keras_tuner as kt
import pytest

import toolkit as tk
from toolkit import tuning
from toolkit.viz import format_table

SPACE = tuning.SearchSpace(learning_rate=(1e-3, 1e-2), batch_size=(64,), width=(16, 32), dropout=(0.0,))


@pytest.fixture(scope="module")
def data(mnist):
    return (mnist.x_train[:400], mnist.y_train[:400]), (mnist.x_test[:200], mnist.y_test[:200])


def search(kind, data, tmp_path, space=SPACE, hypermodel=None, **options):
    tk.seed_everything(0)
    tuner = tuning.make_tuner(kind, hypermodel or tuning.MLPHyperModel(space), tmp_path, **options)
    return tuner, tuning.run_search(tuner, *data, epochs=2)


def test_grid_search_trains_every_combination_once_and_ranks_them(data, tmp_path):
    tuner, rows = search("grid", data, tmp_path)
    tried = sorted((row["learning_rate"], row["width"]) for row in rows)
    assert tried == sorted(itertools.product(SPACE.learning_rate, SPACE.width))
    assert SPACE.grid_size == len(rows) == 4
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True) and all(0.0 < s <= 1.0 for s in scores)
    assert {row["epochs"] for row in rows} == {2}
    best = tuner.get_best_hyperparameters(1)[0].values
    assert (best["learning_rate"], best["width"]) == (rows[0]["learning_rate"], rows[0]["width"])
    assert "learning_rate  batch_size  width  dropout  epochs  score" in format_table(rows)


def test_same_seed_same_search(data, tmp_path):
    _, first = search("random", data, tmp_path / "a", max_trials=3)
    _, second = search("random", data, tmp_path / "b", max_trials=3)
    assert first == second
    assert len({(row["learning_rate"], row["width"]) for row in first}) == 3  # three distinct combinations


def test_hyperband_gives_its_survivors_more_epochs(data, tmp_path):
    _, rows = search("hyperband", data, tmp_path, max_epochs=3, factor=3)
    assert all(row["epochs"] <= 3 for row in rows)
    assert max(row["epochs"] for row in rows) == 3 and min(row["epochs"] for row in rows) == 1


def test_tuner_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="choose one of"):
        tuning.make_tuner("bayes-ish", tuning.MLPHyperModel(SPACE), tmp_path)
    with pytest.raises(ValueError, match="max_trials"):
        tuning.make_tuner("random", tuning.MLPHyperModel(SPACE), tmp_path)


class FailsForWidth32(tuning.MLPHyperModel):
    def build(self, hp):
        model = super().build(hp)
        if hp.get("width") == 32:
            raise ValueError("width 32 is broken on purpose")
        return model


def test_a_failed_trial_passes_silently_in_keras_tuner_but_raises_here(data, tmp_path):
    tuner = tuning.make_tuner("grid", FailsForWidth32(SPACE), tmp_path)
    tuner.search(*data[0], validation_data=data[1], epochs=1, verbose=0)  # KerasTuner returns normally...
    statuses = [trial.status for trial in tuner.oracle.trials.values()]
    assert statuses.count("FAILED") == 2 and statuses.count("COMPLETED") == 2
    with pytest.raises(tuning.TuningError, match=r"2 of 4 trials did not complete(.|\n)*width=32(.|\n)*broken on"):
        tuning.check_trials(tuner)  # ...the toolkit does not


@pytest.mark.parametrize("trials", [2, 4])  # 4 failures in a row also trip KerasTuner's own RuntimeError
def test_missing_tensorboard_fails_every_trial_and_the_error_names_the_fix(data, tmp_path, monkeypatch, trials):
    monkeypatch.setitem(sys.modules, "tensorboard.plugins.hparams", None)  # as if tensorboard were not installed
    space = SPACE if trials == 4 else tuning.SearchSpace(learning_rate=(1e-3,), batch_size=(64,), width=(16, 32),
                                                         dropout=(0.0,))
    expected = "2 of 2 trials" if trials == 2 else "KerasTuner stopped the search: .* of 3. 3 of 3 trials"
    with pytest.raises(tuning.TuningError, match=rf"{expected} did not complete(.|\n)*pip install tensorboard"):
        search("grid", data, tmp_path, space=space)


def test_results_plot_draws_one_point_per_trial(data, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    _, rows = search("grid", data, tmp_path)
    ax = tuning.plot_results({"grid": rows})
    assert len(ax.collections[0].get_offsets()) == 4 and ax.get_xscale() == "log"
    line = tuning.plot_budget({"grid": rows}, ax=matplotlib.pyplot.figure().gca()).lines[0]
    assert list(line.get_xdata()) == [2, 4, 6, 8]  # 2 epochs per trial
    assert list(line.get_ydata()) == sorted(line.get_ydata()) and line.get_ydata()[-1] == rows[0]["score"]


def test_kt_trial_status_values_are_what_the_guard_compares_against():
    assert kt.engine.trial.TrialStatus.COMPLETED == "COMPLETED"
