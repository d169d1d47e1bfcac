"""toolkit.transfer: class selection, few-label sampling, and feature reuse that never touches the
pretrained model (chapter 6)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import toolkit as tk
from toolkit import transfer


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_train[..., None], mnist.y_train


def test_select_classes_keeps_only_those_classes_and_relabels_them_in_order(digits):
    x, y = transfer.select_classes(*digits, [5, 6, 7, 8, 9])
    assert set(y.tolist()) == {0, 1, 2, 3, 4}
    original = digits[1][np.isin(digits[1], [5, 6, 7, 8, 9])]
    np.testing.assert_array_equal(y, original - 5)
    assert len(x) == len(y)
    with pytest.raises(ValueError, match="No sample has a label in"):
        transfer.select_classes(*digits, [42])


def test_few_labels_draws_the_same_balanced_sample_for_the_same_seed(digits):
    x, y = transfer.few_labels(*digits, per_class=20, seed=3)
    assert np.bincount(y).tolist() == [20] * 10 and len(x) == 200
    x2, y2 = transfer.few_labels(*digits, per_class=20, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert len({row.tobytes() for row in x}) == 200  # no sample drawn twice
    with pytest.raises(ValueError, match="per_class <="):
        transfer.few_labels(*digits, per_class=10_000)


def weights(model):
    return [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("trainable", [False, True])
def test_new_head_reuses_a_copy_of_the_features_frozen_or_not(digits, trainable):
    tk.seed_everything(0)
    pretrained = tk.models.cnn(filters=(4,), seed=0)
    before = weights(pretrained)
    model = transfer.with_new_head(pretrained, 5, trainable=trainable, seed=1)
    features = model.get_layer("features")
    start = weights(features)
    x, y = transfer.select_classes(*digits, [5, 6, 7, 8, 9])
    tk.fit_batch(model, (x[:256], y[:256]), optimizer=keras.optimizers.Adam(1e-2), epochs=1, verbose=0)
    moved = [not np.allclose(a, b) for a, b in zip(start, features.get_weights())]
    assert all(moved) if trainable else not any(moved)
    assert model.output_shape == (None, 5)
    for a, b in zip(before, pretrained.get_weights()):  # the pretrained model itself never changes
        np.testing.assert_array_equal(a, b)


def test_a_transfer_model_survives_a_keras_file_round_trip(digits, tmp_path):
    model = transfer.with_new_head(tk.models.cnn(filters=(4,), seed=0), 5, seed=1)
    path = tmp_path / "transfer.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = digits[0][:8]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert not loaded.get_layer("features").trainable


def test_unfrozen_features_keep_their_batch_norm_statistics_but_learn(digits):
    """Unfrozen features train their weights while BatchNormalization keeps its pretrained statistics."""
    tk.seed_everything(0)
    base = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(3)])
    model = transfer.with_new_head(base, 2, trainable=True, seed=1)
    features = model.get_layer("features")
    norm = next(layer for layer in features.layers if isinstance(layer, keras.layers.BatchNormalization))
    statistics = [w.numpy().copy() for w in (norm.moving_mean, norm.moving_variance)]
    kernels = [w.numpy().copy() for w in features.trainable_weights]
    tk.fit_batch(model, (digits[0][:128], digits[1][:128] % 2), optimizer=keras.optimizers.Adam(1e-2), epochs=1,
                 verbose=0)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(statistics, (norm.moving_mean, norm.moving_variance)))
    assert len(kernels) == 2 and all(not np.allclose(a, b.numpy()) for a, b in zip(kernels, features.trainable_weights))


def test_training_false_in_a_functional_model_does_not_protect_batch_norm_in_keras_3(digits):
    """keras.io's recipe, base(x, training=False), is overridden by fit's training=True (keras-team/keras#20285):
    the reason transfer.unfreeze freezes BatchNormalization layers themselves."""
    base = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling2D()])
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(2)(base(inputs, training=False)))
    before = base.layers[1].moving_mean.numpy().copy()
    tk.fit_batch(model, (digits[0][:64], digits[1][:64] % 2), epochs=1, verbose=0)
    assert not np.allclose(before, base.layers[1].moving_mean.numpy())
