"""toolkit.models: the zoo outputs logits, and model inspection reads what the loops need."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from toolkit.models import inspect


@pytest.mark.parametrize("build", [tk.models.mlp, tk.models.cnn], ids=["mlp", "cnn"])
def test_the_zoo_outputs_logits_for_ten_classes(build):
    model = build(seed=0)
    assert inspect.output_activation(model) == "linear" and inspect.num_outputs(model) == 10


def test_a_cnn_hidden_layer_adds_an_embedding_before_the_logits():
    model = tk.models.cnn(hidden=(64,), seed=0)
    assert model.layers[-2].units == 64 and model.layers[-2].activation.__name__ == "relu"


def test_inspection_reads_shapes_activations_and_layer_kinds():
    augmented = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.RandomRotation(0.1), keras.layers.Conv2D(2, 3),
                                  keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    assert inspect.model_input_shape(augmented) == (8, 8, 1) and inspect.output_activation(augmented) == "softmax"
    assert inspect.has_convolutions(augmented) and not inspect.behaves_same_in_training(augmented)
    assert not inspect.supports_xla(augmented)  # Keras marks RandomRotation as not XLA-compilable
    assert inspect.behaves_same_in_training(tk.models.mlp()) and inspect.supports_xla(tk.models.mlp())
    assert inspect.model_input_shape(keras.Sequential([keras.layers.Dense(2)])) is None


def test_a_clone_has_its_own_weights_with_the_same_values():
    model = tk.models.mlp(seed=0)
    copy = inspect.clone_with_weights(model)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), copy.get_weights()))
    copy.layers[-1].kernel.assign(np.zeros_like(copy.layers[-1].kernel))
    assert not np.array_equal(model.layers[-1].kernel.numpy(), copy.layers[-1].kernel.numpy())
