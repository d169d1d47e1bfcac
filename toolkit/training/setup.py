"""What every training run builds and checks before its first step (chapter 1)."""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from toolkit.data.checks import check_finite_inputs, check_not_empty, shape_inputs
from toolkit.evaluation.losses import check_labels, check_logits, default_loss
from toolkit.models.inspect import model_input_shape
from toolkit.optim.factory import make_optimizer


def shaped(x: np.ndarray, model: keras.Model) -> np.ndarray:
    """``x`` scaled and reshaped for ``model``'s input (see ``toolkit.data.checks.shape_inputs``)."""
    return shape_inputs(x, model_input_shape(model))


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
    x_probe = shaped(x_probe, model)
    check_finite_inputs(x_probe)
    check_labels(y_probe, model, loss)
    check_logits(model, loss, x_probe)
    return optimizer, loss
