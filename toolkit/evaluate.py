"""Evaluation: held-out accuracy and the prequential (test-then-train) score (chapters 1-6).

Online learners are scored the way ``river.evaluate.progressive_val_score`` does: every
sample is predicted before it is learned, so the running score is an honest estimate of
accuracy on unseen data, with no separate test set needed.

>>> score = PrequentialScore()
>>> score.update(np.array([0.5, 1.5]), np.array([1.0, 0.0]))
>>> score.result()
{'loss': 1.0, 'accuracy': 0.5, 'window_loss': 1.0, 'window_accuracy': 0.5}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np

from toolkit.engine import correctness_fn, per_example_loss
from toolkit.guards import check_not_empty, shape_inputs

DEFAULT_LOSS = {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}}


def default_loss() -> keras.losses.Loss:
    """The course's classification loss: sparse crossentropy on logits (chapters 1-6)."""
    return keras.losses.get(DEFAULT_LOSS)


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Model outputs in inference mode, in batches (no progress bar, no per-call setup cost)."""
    x = shape_inputs(x, model)
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


@dataclass
class PrequentialScore:
    """Running prequential loss and accuracy: cumulative since the start, and over the last update."""

    loss_sum: float = 0.0
    correct_sum: float = 0.0
    count: int = 0
    window_loss: float = float("nan")
    window_accuracy: float = float("nan")

    def update(self, losses: np.ndarray, correct: np.ndarray | None) -> None:
        """Add one window of per-sample losses and 0/1 correctness (``None`` for regression)."""
        if not len(losses):
            return
        self.loss_sum += float(np.sum(losses, dtype=np.float64))
        self.count += len(losses)
        self.window_loss = float(np.mean(losses, dtype=np.float64))
        if correct is not None:
            self.correct_sum += float(np.sum(correct, dtype=np.float64))
            self.window_accuracy = float(np.mean(correct, dtype=np.float64))

    def result(self) -> dict[str, float]:
        """Cumulative and window metrics (accuracy is NaN without a classification loss)."""
        count = max(self.count, 1)
        has_accuracy = not np.isnan(self.window_accuracy)
        return {
            "loss": self.loss_sum / count,
            "accuracy": self.correct_sum / count if has_accuracy else float("nan"),
            "window_loss": self.window_loss,
            "window_accuracy": self.window_accuracy,
        }

    def state(self) -> dict:
        """A JSON-serialisable snapshot, saved in checkpoints."""
        return asdict(self)


def windowed_accuracy(model: keras.Model, stream, total: int, window: int) -> list[float]:
    """Accuracy of a model that does not learn, over consecutive windows of a stream (chapter 1).

    For a frozen model, predicting before learning changes nothing, so this is its
    prequential accuracy: the curve to hold against ``train_online``'s ``window_accuracy``.
    """
    accuracies = []
    for x, y in stream.blocks(0, window):
        x, y = x[: total - window * len(accuracies)], y[: total - window * len(accuracies)]
        if not len(x):
            break
        accuracies.append(float(np.mean(np.argmax(predict_logits(model, x), axis=-1) == y)))
    return accuracies
