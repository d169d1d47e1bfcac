"""Hyperparameter search on KerasTuner, with a guard against silently failed trials (chapter 5).

The seed tuned a scikit-learn tree (``GridSearchCV`` on an undefined ``tree_model``). Here
KerasTuner searches a network's learning rate, batch size, width and dropout with
``GridSearch``, ``RandomSearch`` or ``Hyperband``; every trial trains through ``tk.fit_batch``.

KerasTuner marks a trial that raised as failed and carries on: with fewer failures in a row
than ``max_consecutive_failed_trials``, ``search()`` returns normally and the "best" model is
whatever survived. On TensorFlow 2.21 without ``tensorboard`` *every* trial fails that way.
``run_search`` checks every trial and raises ``TuningError`` naming each failure and the fix.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from toolkit.errors import ArgumentError, TuningError
from toolkit.models import zoo
from toolkit.training.fit import fit_batch

TUNERS = {"grid": kt.GridSearch, "random": kt.RandomSearch, "hyperband": kt.Hyperband}
HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round", "tuner/trial_id")


@dataclass(frozen=True)
class SearchSpace:
    """The values to try for each hyperparameter of ``MLPHyperModel`` (chapter 5).

    Every entry is a list of choices, so the same space works for grid, random and Hyperband
    search. A grid tries every combination: the product of the list lengths.
    """

    learning_rate: Sequence[float] = (1e-3, 3e-3, 1e-2)
    batch_size: Sequence[int] = (32, 128)
    width: Sequence[int] = (64, 256)
    dropout: Sequence[float] = (0.0, 0.3)

    @property
    def grid_size(self) -> int:
        """How many combinations a grid search over this space trains."""
        return int(np.prod([len(values) for values in self.choices().values()]))

    def choices(self) -> dict[str, list]:
        """``{name: choices}`` in a fixed order."""
        return {name: list(getattr(self, name)) for name in ("learning_rate", "batch_size", "width", "dropout")}


@dataclass
class MLPHyperModel(kt.HyperModel):
    """A ``tk.models.mlp`` with tuned width and dropout, trained with Adam at a tuned learning rate
    and batch size through ``tk.fit_batch`` (chapter 5). Models output logits."""

    space: SearchSpace = field(default_factory=SearchSpace)
    input_shape: Sequence[int] = (28, 28)
    num_classes: int = 10
    seed: int = 0

    def __post_init__(self):
        super().__init__(name="mlp", tunable=True)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The model for one trial; the learning rate and batch size are declared here so every tuner sees them."""
        choices = self.space.choices()
        hp.Choice("learning_rate", choices["learning_rate"])
        hp.Choice("batch_size", choices["batch_size"])
        return zoo.mlp(self.input_shape, hidden=(hp.Choice("width", choices["width"]),),
                          num_classes=self.num_classes, dropout=hp.Choice("dropout", choices["dropout"]),
                          seed=self.seed)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, x, y, *, epochs: int = 1, initial_epoch: int = 0,
            validation_data=None, callbacks=(), verbose=0, **unused) -> keras.callbacks.History:
        """Train one trial with ``tk.fit_batch`` (compile, guards, logits) at the trial's learning rate and batch."""
        return fit_batch(model, (x, y), optimizer=keras.optimizers.Adam(hp.get("learning_rate")), epochs=epochs,
                         initial_epoch=initial_epoch, batch_size=hp.get("batch_size"),
                         validation_data=validation_data, callbacks=list(callbacks), verbose=verbose)


def make_tuner(kind: str, hypermodel: kt.HyperModel, directory: str | Path, *, objective: str = "val_accuracy",
               max_trials: int | None = None, max_epochs: int = 9, factor: int = 3, seed: int = 0,
               project_name: str | None = None, overwrite: bool = True) -> kt.Tuner:
    """A KerasTuner ``GridSearch``, ``RandomSearch`` or ``Hyperband`` (``kind``: grid, random, hyperband).

    ``max_trials`` caps grid and random search (a grid runs every combination when it is None);
    ``max_epochs`` and ``factor`` shape Hyperband's brackets. Used in chapter 5.
    """
    if kind not in TUNERS:
        raise ArgumentError(f"Unknown tuner {kind!r}: choose one of {sorted(TUNERS)}.")
    common = {"objective": objective, "seed": seed, "directory": str(directory),
              "project_name": project_name or kind, "overwrite": overwrite}
    if kind == "hyperband":
        return kt.Hyperband(hypermodel, max_epochs=max_epochs, factor=factor, **common)
    if kind == "random" and max_trials is None:
        raise ArgumentError("Random search needs max_trials: how many random combinations to train.")
    return TUNERS[kind](hypermodel, max_trials=max_trials, **common)


def _last_line(message: str | None) -> str:
    """The exception line of a stored traceback."""
    lines = [line for line in (message or "unknown error").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def check_trials(tuner: kt.Tuner, note: str = "") -> None:
    """Raise ``TuningError`` if any trial of ``tuner`` did not complete, naming each one and the fix (chapter 5).

    ``note`` starts the message (``run_search`` says there when KerasTuner stopped the search itself).
    """
    trials = list(tuner.oracle.trials.values())
    failed = [trial for trial in trials if trial.status != kt.engine.trial.TrialStatus.COMPLETED]
    if not trials:
        raise TuningError("The search ran no trial: check max_trials and the search space.")
    if not failed:
        return
    lines = [f"{note}{len(failed)} of {len(trials)} trials did not complete, so the search's best result is not a "
             "real result:"]
    for trial in failed:
        values = ", ".join(f"{k}={v}" for k, v in trial.hyperparameters.values.items() if k not in HYPERBAND_KEYS)
        lines.append(f"  trial {trial.trial_id} ({values}): {trial.status}: {_last_line(trial.message)}")
    if any("tensorboard" in (trial.message or "") for trial in failed):
        lines.append("Fix: pip install tensorboard. TensorFlow 2.21 no longer installs it, and KerasTuner imports "
                     "it in every trial.")
    else:
        lines.append("Fix the error above, then search again with overwrite=True (KerasTuner's full tracebacks are "
                     "in tuner.oracle.trials[trial_id].message).")
    raise TuningError("\n".join(lines))


def run_search(tuner: kt.Tuner, train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray], *,
               epochs: int = 3, verbose: int = 0, callbacks: Sequence[keras.callbacks.Callback] = ()) -> list[dict]:
    """Run ``tuner.search`` on ``(x, y)`` arrays, check that every trial completed, and return the results
    table (see ``results_table``). Raises ``TuningError`` when any trial failed (chapter 5)."""
    try:
        tuner.search(*train, validation_data=validation, epochs=epochs, verbose=verbose, callbacks=list(callbacks))
    except RuntimeError as error:  # KerasTuner stops after max_consecutive_failed_trials failures in a row
        if "consecutive failures" not in str(error):
            raise
        check_trials(tuner, note=f"KerasTuner stopped the search: {str(error).splitlines()[0]} ")
        raise TuningError(traceback.format_exc()) from error
    check_trials(tuner)
    return results_table(tuner, epochs)


def results_table(tuner: kt.Tuner, epochs: int) -> list[dict]:
    """One row per trial, best score first: ``trial``, each hyperparameter, ``epochs`` (Hyperband's own
    budget for the trial, else ``epochs``) and ``score`` (the objective, for example the best
    ``val_accuracy`` the trial reached). Used in chapter 5."""
    rows = []
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        row = {"trial": trial.trial_id, **{k: v for k, v in values.items() if k not in HYPERBAND_KEYS}}
        row["epochs"] = values.get("tuner/epochs", epochs)
        row["score"] = float("nan") if trial.score is None else float(trial.score)
        rows.append(row)
    reverse = tuner.oracle.objective.direction == "max"
    return sorted(rows, key=lambda row: (np.nan_to_num(row["score"], nan=-np.inf if reverse else np.inf)),
                  reverse=reverse)


def _axes(ax):
    """``ax``, or pyplot's current axes (pyplot is imported only when a plot is drawn)."""
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def plot_results(tables: dict[str, list[dict]], x: str = "learning_rate", ax=None):
    """Score of every trial against one hyperparameter, one colour per search, each search nudged
    sideways so equal values stay visible; marker size grows with the trial's epochs (chapter 5)."""
    ax = _axes(ax)
    for k, (name, rows) in enumerate(tables.items()):
        nudge = 1 + 0.06 * (k - (len(tables) - 1) / 2)  # multiplicative: works on log axes
        ax.scatter([row[x] * nudge for row in rows], [row["score"] for row in rows], alpha=0.7,
                   s=[12 * row["epochs"] for row in rows], label=f"{name} ({len(rows)} trials)")
    ax.set_xscale("log")
    values = sorted({row[x] for rows in tables.values() for row in rows})
    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.minorticks_off()
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel("score (objective)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title="marker size: epochs", title_fontsize="small")
    return ax


def plot_budget(tables: dict[str, list[dict]], ax=None):
    """Best score found so far against the epochs of training spent, in trial order, one line per search
    (chapter 5): which search finds a good model for the least training."""
    ax = _axes(ax)
    for name, rows in tables.items():
        ordered = sorted(rows, key=lambda row: int(row["trial"]))
        ax.step(np.cumsum([row["epochs"] for row in ordered]), np.maximum.accumulate([row["score"] for row in ordered]),
                where="post", marker="o", markersize=3, label=name)
    ax.set_xlabel("epochs of training spent")
    ax.set_ylabel("best score so far")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax
