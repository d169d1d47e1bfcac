"""toolkit.evaluation: the loss understood once, held-out metrics, and the prequential score's windows."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from toolkit.evaluation import PrequentialScore, losses


@pytest.mark.parametrize(("loss", "kind", "logits"), [
    ("sparse_categorical_crossentropy", "sparse_categorical", False),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_categorical", True),
    (keras.losses.CategoricalCrossentropy(from_logits=True), "categorical", True),
    (keras.losses.binary_crossentropy, "binary", False),
    ("mean_squared_error", None, None),
])
def test_the_loss_kind_and_whether_it_expects_logits(loss, kind, logits):
    assert losses.loss_kind(loss) == kind and losses.loss_from_logits(loss) is logits


def test_per_example_losses_and_correctness_match_keras(small):
    model, ((x, y), _) = tk.models.mlp(seed=0), small
    outputs = model(x[:8])
    per_sample = losses.per_example_loss(tk.default_loss())(y[:8], outputs)
    assert per_sample.shape == (8,)
    np.testing.assert_allclose(np.mean(per_sample), float(tk.default_loss()(y[:8], outputs)), rtol=1e-6)
    correct = losses.correctness_fn(model, tk.default_loss())(y[:8], outputs)
    np.testing.assert_array_equal(correct, (np.argmax(outputs, axis=1) == y[:8]).astype(np.float32))


def test_evaluate_and_the_validation_row_agree(small):
    model, (_, test) = tk.models.mlp(seed=0), small
    assert tk.evaluation.validation_row(model, test) == {f"val_{k}": v for k, v in tk.evaluate(model, *test).items()}
    assert tk.evaluation.validation_row(model, None) == {}


def test_the_prequential_score_keeps_a_cumulative_mean_and_a_window():
    score = PrequentialScore()
    score.update(np.array([1.0, 3.0]), np.array([1.0, 0.0]))
    score.update(np.array([2.0]), np.array([1.0]))
    assert score.result() == {"loss": 2.0, "accuracy": 2 / 3, "window_loss": 2.0, "window_accuracy": 2 / 3}
    score.close_window()
    score.update(np.array([4.0]), None)
    assert score.result()["window_loss"] == 4.0 and score.result()["loss"] == 2.5
    assert PrequentialScore.from_state(score.state()) == score
