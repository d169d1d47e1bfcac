"""The seeds' training code as written (PyTorch parts translated to Keras 3): each bug fails or
misleads here, and the corrected toolkit call works. ERRATA.md points at these tests."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk
from toolkit.errors import InputShapeError, LogitsMismatchError


def seed_model() -> keras.Model:
    """Seed 000, section 4.1: Dense(128, relu, input_shape=(784,)) then Dense(10, softmax)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.Sequential([keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                                 keras.layers.Dense(10, activation="softmax")])


@pytest.fixture
def flat(mnist):
    return mnist.x_train[:512].reshape(-1, 784), mnist.y_train[:512]


def test_e000_1_fit_without_compile_fails_and_fit_batch_compiles(flat):
    with pytest.raises(ValueError, match=r"must call `compile\(\)`"):
        seed_model().fit(*flat, epochs=1, verbose=0)
    history = tk.fit_batch(tk.models.mlp(input_shape=(784,)), flat, epochs=1, verbose=0)
    assert history.history["loss"][0] < 2.3


def _train_eagerly(model, x, y, loss, between=lambda outputs: outputs, epochs=20):
    """Eager GradientTape mini-batch steps, as in the seed's online loop."""
    optimizer = keras.optimizers.Adam(1e-2)
    for _ in range(epochs):
        for i in range(0, len(x), 64):
            with tf.GradientTape() as tape:
                value = loss(y[i:i + 64], between(model(x[i:i + 64])))
            grads = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return float(loss(y, between(model(x))))


def test_e000_2_softmax_with_from_logits_true_is_rescued_only_by_accident(flat):
    """Keras 3 on TensorFlow notices a softmax output, warns, and uses the logits behind it; any op
    between the softmax and the loss (here a harmless multiply, in real code a mixed-precision cast)
    breaks that rescue and softmax is applied twice: the loss can then never go below
    -log(e / (e + 9)) = 1.46 nats."""
    floor = -math.log(math.e / (math.e + 9))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.warns(UserWarning, match="produced by a Softmax activation"):
        rescued = _train_eagerly(seed_model(), *flat, loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        broken = _train_eagerly(seed_model(), *flat, loss, between=lambda outputs: outputs * 1.0)
    assert rescued < 0.1
    assert floor - 1e-3 < broken < floor + 0.15
    with pytest.raises(LogitsMismatchError, match="1.46 nats"):  # the toolkit refuses the pairing outright
        tk.fit_batch(seed_model(), flat, loss=loss, verbose=0)


def test_e000_3_rgb_directory_images_cannot_feed_dense_784():
    """image_dataset_from_directory's defaults give (batch, 28, 28, 3) float images in [0, 255]."""
    like_the_seed = tf.data.Dataset.from_tensor_slices(
        (np.zeros((64, 28, 28, 3), np.float32), np.zeros(64, np.int32))).batch(32)
    model = seed_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Expected shape \(None, 784\).*\(None, 28, 28, 3\)"):
        model.fit(like_the_seed, epochs=1, verbose=0)
    with pytest.raises(InputShapeError, match="color_mode='grayscale'"):
        tk.fit_batch(tk.models.mlp(input_shape=(784,)), like_the_seed, verbose=0)


def test_e000_4_input_shape_on_a_layer_is_deprecated_in_keras_3():
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        keras.layers.Dense(128, activation="relu", input_shape=(784,))
    assert tk.models.mlp().layers[0].__class__.__name__ == "Flatten"  # keras.Input + Flatten instead


class _BatchCounter(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_e000_5_steps_per_epoch_larger_than_the_data_is_silently_ignored(flat):
    """The seed asks for steps_per_epoch=100 of a dataset it never sized. With 16 batches, Keras 3
    warns that the input ran out of data, then runs 16 batches an epoch while its progress bar
    claims 100."""
    dataset = tf.data.Dataset.from_tensor_slices(flat).batch(32)
    model = tk.models.mlp(input_shape=(784,))
    model.compile("adam", tk.default_loss())
    counter = _BatchCounter()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(dataset, epochs=2, steps_per_epoch=100, verbose=0, callbacks=[counter])
    assert counter.batches == 16
    history = tk.fit_batch(tk.models.mlp(input_shape=(784,)), dataset, epochs=2, verbose=0)
    assert history.history["updates"] == [16, 32]  # fit_batch sizes the epoch from the data


def test_e000_6_online_is_one_pass_of_compiled_per_sample_updates(flat):
    """The seed's online loop: 100 epochs of eager per-sample steps. One pass of the same updates,
    compiled and prequentially scored, is tk.train_online (equal weights: test_loops; speed: bench/)."""
    x, y = flat
    history = tk.train_online(tk.models.mlp(input_shape=(784,)), tk.Stream.from_arrays(x, y), log_every=256,
                              verbose=0)
    assert history.last("updates") == len(x) == history.last("samples")


def test_e001_4_a_single_sample_needs_a_batch_axis_on_its_label(mnist):
    """Seed 001's `criterion(net(img[i].unsqueeze(0)), label[i])`: the image gets a batch axis,
    the label does not. Keras rejects the same mismatch."""
    model, loss = tk.models.mlp(), tk.default_loss()
    with pytest.raises(ValueError, match="must have rank"):
        loss(mnist.y_train[0], model(mnist.x_train[:1]))
    assert np.isfinite(float(loss(mnist.y_train[:1], model(mnist.x_train[:1]))))


def test_e001_2_relu_on_the_logits_silences_samples():
    """Seed 001's `torch.relu(self.fc(x))` before CrossEntropyLoss: a sample whose scores are all
    negative gets all-zero outputs, so its loss is log(10) and its gradient exactly zero: it teaches
    the model nothing. Linear logits (tk.models) always pass a gradient."""
    x = np.ones((1, 4), np.float32)
    y = np.array([2])
    loss = tk.default_loss()
    kernel = -np.abs(np.random.default_rng(0).normal(size=(4, 10))).astype(np.float32)  # all scores < 0

    def gradient(activation):
        layer = keras.layers.Dense(10, activation=activation)
        layer.build((None, 4))
        layer.set_weights([kernel, np.zeros(10, np.float32)])
        with tf.GradientTape() as tape:
            value = loss(y, layer(x))
        return value, tape.gradient(value, layer.trainable_variables)

    value, grads = gradient("relu")
    assert float(value) == pytest.approx(math.log(10))
    assert all(float(tf.reduce_max(tf.abs(g))) == 0.0 for g in grads)
    _, grads = gradient(None)
    assert all(float(tf.reduce_max(tf.abs(g))) > 0.01 for g in grads)
