"""toolkit.evaluation: the loss understood once, and held-out metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from toolkit.evaluation import losses


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


def test_evaluate_agrees_with_keras_evaluate(small):
    model, (_, test) = tk.models.mlp(seed=0), small
    model.compile(loss=tk.default_loss(), metrics=["accuracy"])
    expected = model.evaluate(*test, verbose=0, return_dict=True)
    result = tk.evaluate(model, *test)
    assert result.keys() == {"loss", "accuracy"}
    np.testing.assert_allclose(result["loss"], expected["loss"], rtol=1e-5)
    assert result["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
