"""What every tape-loop run needs: set-up checks, progress, validation rows and the NaN stop (chapter 1)."""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from toolkit.evaluate import default_loss, evaluate
from toolkit.guards import (
    NonFiniteLossError,
    check_finite_inputs,
    check_labels,
    check_logits,
    check_not_empty,
    shape_inputs,
)
from toolkit.optimizers import make_optimizer


def prepare_run(model: keras.Model, x_probe: np.ndarray, y_probe: np.ndarray, optimizer, loss, strategy=None):
    """Build the optimizer and loss and run every guard on a probe of the data.

    Returns ``(optimizer, loss)``. Raises a ``TrainingSetupError`` naming the problem and the
    fix for empty data, misshapen or non-finite inputs, out-of-range labels or a
    logits/from_logits mismatch. With a ``strategy``, an optimizer given by name is created in
    its scope; under the ``mixed_float16`` policy it is wrapped in a ``LossScaleOptimizer``.
    """
    with strategy.scope() if strategy else contextlib.nullcontext():
        optimizer = make_optimizer(optimizer)
        if keras.mixed_precision.global_policy().name == "mixed_float16" and not isinstance(
                optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)  # as compile() does: float16 needs it
    loss = default_loss() if loss is None else loss
    check_not_empty(len(x_probe))
    x_probe = shape_inputs(x_probe, model)
    check_finite_inputs(x_probe)
    check_labels(y_probe, model, loss)
    check_logits(model, loss, x_probe)
    return optimizer, loss


def validation_row(model: keras.Model, validation_data, loss) -> dict[str, float]:
    """``val_loss``/``val_accuracy`` on held-out data, or nothing when there is none."""
    if validation_data is None:
        return {}
    return {f"val_{k}": v for k, v in evaluate(model, *validation_data, loss=loss).items()}


class Progress:
    """A Keras progress bar over samples showing loss, accuracy and samples/s (``verbose=0``: silent)."""

    SHOWN = ("loss", "accuracy", "val_accuracy")

    def __init__(self, total: int, verbose: int):
        self.bar = keras.utils.Progbar(total, unit_name="sample",
                                       stateful_metrics=[*self.SHOWN, "samples/s"]) if verbose else None

    def update(self, row: dict[str, float]) -> None:
        """Show the newest row of the run's history."""
        if self.bar is None:
            return
        values = [(k, row[k]) for k in self.SHOWN if k in row and not np.isnan(row[k])]
        values.append(("samples/s", row["samples"] / max(row["time"], 1e-9)))
        self.bar.update(int(row["samples"]), values)


def non_finite_error(losses: np.ndarray, sample_ids: np.ndarray, where: str, updates: int, optimizer,
                     checkpoint: str | None) -> NonFiniteLossError:
    """The error for a loss that turned NaN/inf: which sample, what the model now holds, what to try.

    ``losses`` are the per-sample losses of the micro-batch that stopped the run and
    ``sample_ids`` their identifiers; ``where`` formats the culprit's id (e.g. ``"x[{}] in epoch 2"``).
    """
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad):
        what = f"The loss became {losses[bad[0]]} at {where.format(int(sample_ids[bad[0]]))}"
    else:  # the loss stayed finite; a gradient did not
        what = ("A gradient became NaN/inf (the loss stayed finite) at the batch starting at "
                f"{where.format(int(sample_ids[0]))}")
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    saved = (f" The last good checkpoint is {checkpoint}; resume=True restarts from it."
             if checkpoint else " Pass checkpoint_dir= to keep checkpoints you can resume from.")
    return NonFiniteLossError(
        f"{what} (update {updates + 1}). Training stopped before that update, so the model keeps its "
        "last good weights." + saved +
        f" Usual causes: a learning rate too large (this run: {rate:g}; try 10x smaller), inputs not "
        "scaled to [0, 1], or a corrupt sample (look at the one named above)."
    )
