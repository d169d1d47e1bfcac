"""Held-out evaluation: predictions in batches, mean loss and accuracy, and a frozen model's
accuracy along a stream (chapters 1-6)."""

from __future__ import annotations

import keras
import numpy as np

from toolkit.data.checks import check_not_empty, shape_inputs
from toolkit.evaluation.losses import correctness_fn, default_loss, per_example_loss
from toolkit.models.inspect import model_input_shape


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Model outputs in inference mode, in batches (no progress bar, no per-call setup cost)."""
    x = shape_inputs(x, model_input_shape(model))
    return np.concatenate([
        keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ])


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, loss=None) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on held-out ``(x, y)`` (chapters 1-6)."""
    check_not_empty(len(x), "evaluation data")
    loss = default_loss() if loss is None else loss
    outputs = predict_logits(model, x)
    result = {"loss": float(np.mean(keras.ops.convert_to_numpy(per_example_loss(loss)(y, outputs))))}
    correct = correctness_fn(model, loss)
    if correct is not None:
        result["accuracy"] = float(np.mean(keras.ops.convert_to_numpy(correct(y, outputs))))
    return result


def windowed_accuracy(model: keras.Model, stream, total: int, window: int) -> list[float]:
    """Accuracy of a model that does not learn, over consecutive windows of a stream (chapter 1).

    For a frozen model, predicting before learning changes nothing, so this is its
    prequential accuracy: the curve to hold against ``train_online``'s ``accuracy`` (one row per log window).
    """
    accuracies = []
    for x, y in stream.blocks(0, window):
        x, y = x[: total - window * len(accuracies)], y[: total - window * len(accuracies)]
        if not len(x):
            break
        accuracies.append(float(np.mean(np.argmax(predict_logits(model, x), axis=-1) == y)))
    return accuracies
