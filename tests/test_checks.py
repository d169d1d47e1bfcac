"""Every guard, in whichever layer owns it: the error names the problem and the fix."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk
from tests.helpers import max_weight_difference
from toolkit.data.checks import shape_dataset, shape_inputs
from toolkit.errors import (
    EmptyDataError,
    InputShapeError,
    LabelError,
    LogitsMismatchError,
    NonFiniteInputError,
    NonFiniteLossError,
    OptimizerArgumentError,
)
from toolkit.evaluation.losses import check_labels, check_logits  # noqa: E402
from toolkit.models.inspect import model_input_shape  # noqa: E402

SPARSE_LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def seed_softmax_model():
    """The seed's model: Dense(10, activation="softmax") on a 784 input."""
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("train", [tk.fit_batch, tk.train_minibatch, tk.train_online])
def test_softmax_with_from_logits_true_is_refused(train, small):
    with pytest.raises(LogitsMismatchError, match="softmax.*from_logits=True.*remove the activation"):
        train(seed_softmax_model(), small[0], loss=SPARSE_LOGITS, verbose=0)


def test_sigmoid_with_from_logits_true_is_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(LogitsMismatchError, match="sigmoid"):
        check_logits(model, keras.losses.BinaryCrossentropy(from_logits=True))


def test_softmax_layer_and_custom_output_are_detected():
    softmax_layer = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Softmax()])
    with pytest.raises(LogitsMismatchError):
        check_logits(softmax_layer, SPARSE_LOGITS)

    class Probabilities(keras.layers.Layer):
        def call(self, x):
            return keras.ops.softmax(x)

    custom = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), Probabilities()])
    with pytest.raises(LogitsMismatchError):
        check_logits(custom, SPARSE_LOGITS, probe=np.random.rand(8, 4).astype("float32"))


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy",
                                  keras.losses.SparseCategoricalCrossentropy()])
def test_logits_with_from_logits_false_is_refused(loss, small):
    with pytest.raises(LogitsMismatchError, match="raw logits.*from_logits=True"):
        tk.fit_batch(tk.models.mlp(), small[0], loss=loss, verbose=0)


def test_matching_pairs_pass():
    check_logits(tk.models.mlp(), SPARSE_LOGITS)
    check_logits(seed_softmax_model(), keras.losses.SparseCategoricalCrossentropy())


def test_rgb_images_into_a_784_model_explain_grayscale():
    rgb = np.zeros((4, 28, 28, 3), np.float32)
    with pytest.raises(InputShapeError, match=r"\(28, 28, 3\).*\(784,\).*color_mode='grayscale'"):
        tk.fit_batch(seed_softmax_model(), (rgb, np.zeros(4)), loss="sparse_categorical_crossentropy", verbose=0)


def test_wrong_sized_samples_are_refused_in_every_loop(small):
    x = np.zeros((8, 20, 20), np.float32)
    for train in (tk.fit_batch, tk.train_minibatch, tk.train_online):
        with pytest.raises(InputShapeError, match=r"\(20, 20\).*\(28, 28\).*mlp\(input_shape=\(20, 20\)\)"):
            train(tk.models.mlp(), (x, np.zeros(8, np.int64)), verbose=0)


def test_inputs_of_the_right_size_are_reshaped_and_uint8_scaled():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    shaped = shape_inputs(np.full((2, 28, 28), 255, np.uint8), model_input_shape(model))
    assert shaped.shape == (2, 784) and shaped.dtype == np.float32 and shaped.max() == 1.0


def test_dataset_inputs_are_reshaped_scaled_and_checked():
    model = tk.models.cnn()
    images = tf.data.Dataset.from_tensor_slices((np.full((6, 28, 28), 255, np.uint8), np.zeros(6))).batch(3)
    x, _ = next(iter(shape_dataset(images, model_input_shape(model))))
    assert x.shape == (3, 28, 28, 1) and float(tf.reduce_max(x)) == 1.0
    rgb = tf.data.Dataset.from_tensor_slices((np.zeros((6, 28, 28, 3), np.float32), np.zeros(6))).batch(3)
    with pytest.raises(InputShapeError, match="grayscale"):
        shape_dataset(rgb, model_input_shape(tk.models.mlp()))


@pytest.mark.parametrize("train", [tk.fit_batch, tk.train_minibatch, tk.train_online])
def test_labels_out_of_range_are_refused(train, small):
    (x, y), _ = small
    y = y.copy()
    y[3] = 10
    with pytest.raises(LabelError, match="0 to 10.*10 outputs.*0..9.*num_classes=11"):
        train(tk.models.mlp(), (x, y), verbose=0)


def test_negative_and_fractional_labels_are_refused(small):
    (x, y), _ = small
    with pytest.raises(LabelError, match="-1 to"):
        check_labels(np.array([-1, 2]), tk.models.mlp(), SPARSE_LOGITS)
    with pytest.raises(LabelError, match="integer class ids"):
        check_labels(np.array([0.5, 2.0]), tk.models.mlp(), SPARSE_LOGITS)


def test_one_hot_labels_with_a_sparse_loss_suggest_the_fix():
    with pytest.raises(LabelError, match="one-hot.*argmax.*CategoricalCrossentropy"):
        check_labels(np.eye(10)[[1, 2, 3]], tk.models.mlp(), SPARSE_LOGITS)


def test_labels_that_arrive_later_in_a_stream_are_checked_too(small):
    (x, y), _ = small
    y = y.copy()
    y[550] = 12
    with pytest.raises(LabelError, match="0..9"):
        tk.train_online(tk.models.mlp(), tk.Stream.from_arrays(x, y, shuffle=False), log_every=100, verbose=0)


@pytest.mark.parametrize("train", [tk.fit_batch, tk.train_minibatch, tk.train_online])
def test_empty_data_is_refused(train):
    empty = (np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64))
    with pytest.raises(EmptyDataError, match="empty"):
        train(tk.models.mlp(), empty, verbose=0)


def test_empty_dataset_and_generator_are_refused():
    empty_ds = tf.data.Dataset.from_tensor_slices((np.zeros((0, 28, 28), np.float32), np.zeros(0))).batch(4)
    with pytest.raises(EmptyDataError, match="image_dataset_from_directory found no images"):
        tk.fit_batch(tk.models.mlp(), empty_ds, verbose=0)
    with pytest.raises(EmptyDataError):
        tk.train_online(tk.models.mlp(), tk.Stream.from_generator(lambda: iter(())), max_samples=10, verbose=0)


def test_endless_stream_needs_max_samples(small):
    endless = tk.Stream.from_arrays(*small[0], endless=True)
    with pytest.raises(ValueError, match="max_samples"):
        tk.train_online(tk.models.mlp(), endless, verbose=0)


def test_keras2_optimizer_arguments_are_refused():
    with pytest.raises(OptimizerArgumentError, match="learning_rate=0.1"):
        tk.make_optimizer("sgd", lr=0.1)
    with pytest.raises(OptimizerArgumentError, match="ignored by Keras 3.*InverseTimeDecay"):
        tk.make_optimizer("sgd", learning_rate=0.1, decay=1e-4)
    with pytest.raises(OptimizerArgumentError):
        tk.make_optimizer({"class_name": "adam", "config": {"lr": 0.1}})
    assert float(tk.make_optimizer("sgd", learning_rate=0.1, momentum=0.9).momentum) == pytest.approx(0.9)


def test_loops_refuse_keras2_arguments_in_an_optimizer_spec(small):
    with pytest.raises(OptimizerArgumentError):
        tk.fit_batch(tk.models.mlp(), small[0], optimizer={"class_name": "sgd", "config": {"decay": 0.1}}, verbose=0)


def _poisoned(small, at: int):
    (x, y), _ = small
    x = x.copy()
    x[at] = np.inf
    return x, y


@pytest.mark.parametrize("train", [tk.fit_batch, tk.train_minibatch])
def test_non_finite_inputs_are_refused_naming_the_sample(train, small):
    with pytest.raises(NonFiniteInputError, match=r"x\[300\] holds NaN or inf"):
        train(tk.models.mlp(), _poisoned(small, at=300), verbose=0)


def test_non_finite_samples_in_a_stream_are_refused_naming_the_position(small):
    stream = tk.Stream.from_arrays(*_poisoned(small, at=437), shuffle=False)
    with pytest.raises(NonFiniteInputError, match="sample 437 of the stream"):
        tk.train_online(tk.models.mlp(), stream, log_every=100, verbose=0)


@tf.custom_gradient
def _nan_gradient(t):
    """The identity forward, a NaN gradient backward: what a bad custom op (or a 0 * inf) does to a step."""
    return tf.identity(t), lambda upstream: upstream * np.nan


def test_fit_catches_weights_ruined_behind_a_finite_loss(small):
    """A NaN gradient behind a finite loss: one batch, one epoch ruins the weights, and only the check after
    the epoch can see it (the batch's loss was computed before the update)."""
    (x, y), _ = small
    trap = keras.layers.Lambda(_nan_gradient)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(16, name="before"),
                              trap, keras.layers.Dense(10)])
    dataset = tf.data.Dataset.from_tensor_slices((x[:32], y[:32])).batch(32)
    with pytest.raises(NonFiniteLossError, match="After epoch 1 the weights.*before.*loss stayed finite"):
        tk.fit_batch(model, dataset, epochs=1, verbose=0)


def fragile_mlp() -> keras.Model:
    """An MLP whose loss turns NaN on any pixel above 1.5 (sqrt of a negative number)."""
    model = tk.models.mlp(seed=0)
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(lambda t: keras.ops.sqrt(1.5 - t)),
                             *model.layers])


def test_online_nan_stops_before_the_bad_update_and_names_the_sample(small, tmp_path):
    (x, y), _ = small
    x = x.copy()
    x[150] = 2.0  # finite, so the input guard lets it through; the loss is NaN there
    stream = tk.Stream.from_arrays(x, y, shuffle=False)
    model = fragile_mlp()
    expected = r"at sample 150 of the stream \(update 151\).*backup.*this run: 0.01;"
    with pytest.raises(NonFiniteLossError, match=expected):
        tk.train_online(model, stream, checkpoint_dir=str(tmp_path), log_every=50, verbose=0)
    # the model holds the weights it had after sample 149: those of a clean run over 150 samples
    clean = fragile_mlp()
    tk.train_online(clean, stream, max_samples=150, log_every=50, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert max_weight_difference(model, clean) == 0.0
    assert json.loads((tmp_path / "backup" / "training_metadata.json").read_text())["epoch"] == 3  # 150 samples


def test_minibatch_and_fit_nan_name_where_it_happened(small):
    (x, y), _ = small
    x = x.copy()
    x[150] = 2.0
    with pytest.raises(NonFiniteLossError, match=r"at x\[150\] in epoch 1 \(update 5\)"):
        tk.train_minibatch(fragile_mlp(), (x, y), batch_size=32, shuffle=False, verbose=0)
    with pytest.raises(NonFiniteLossError, match=r"at x\[150\] in epoch 1"):  # shuffled: still the index into x
        tk.train_minibatch(fragile_mlp(), (x, y), batch_size=32, shuffle=True, verbose=0)
    # Keras's fit: with oneDNN (TensorFlow's default on Intel CPUs) the fused ReLU turns the NaN activations
    # into 0, so the loss stays finite while the weights go NaN and the epoch-end check stops the run; without
    # it (AMD CPUs) the loss itself turns NaN in batch 5 (x[150]). Either way the run stops, saying where.
    with pytest.raises(NonFiniteLossError,
                       match=r"After epoch 1 the weights.*loss stayed finite|became nan at epoch 1, batch 5 "):
        tk.fit_batch(fragile_mlp(), (x, y), batch_size=32, shuffle=False, verbose=0)


def nan_on_label_8(y_true, logits):
    """Crossentropy that is NaN for label 8 (0 * sqrt(negative))."""
    crossentropy = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    label = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "float32")
    return crossentropy + 0.0 * keras.ops.sqrt(1.5 - label / 5.0)


def test_fit_names_the_batch_where_the_loss_turned_nan(small):
    (x, y), _ = small
    y = y % 8
    y[150] = 8  # the only 8: in the fifth batch of 32
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 5\b.*this run: 0.001"):
        tk.fit_batch(tk.models.mlp(), (x, y), loss=nan_on_label_8, batch_size=32, shuffle=False, verbose=0)


@tf.custom_gradient
def _nan_gradient_for_marked_samples(hidden, inputs):
    """Identity forward; the backward pass is NaN when an input pixel exceeds 1.5."""
    def grad(upstream):
        marked = tf.reduce_max(inputs) > 1.5
        return upstream * tf.where(marked, np.float32(np.nan), np.float32(1.0)), tf.zeros_like(inputs)
    return tf.identity(hidden), grad


def nan_gradient_mlp() -> keras.Model:
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    hidden = keras.layers.Dense(32, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(0))(flat)
    hidden = keras.layers.Lambda(lambda pair: _nan_gradient_for_marked_samples(*pair))([hidden, flat])
    return keras.Model(inputs, keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(1))(hidden))


def test_a_nan_gradient_behind_a_finite_loss_is_caught_at_its_sample(small):
    """The fast path checks only losses; the weights check at the chunk's end triggers a checked replay."""
    (x, y), _ = small
    x = x.copy()
    x[150] = 2.0
    model = nan_gradient_mlp()
    with pytest.raises(NonFiniteLossError, match=r"gradient or the update it made became NaN/inf "
                                                 r"\(the loss stayed finite\) at the "
                                                 r"batch starting at sample 150 of the stream \(update 151\)"):
        tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=100, verbose=0)
    clean = nan_gradient_mlp()
    tk.train_online(clean, tk.Stream.from_arrays(x, y, shuffle=False), max_samples=150, log_every=100, verbose=0)
    assert max_weight_difference(model, clean) == 0.0


def test_datasets_of_unknown_size_are_not_mistaken_for_empty(small):
    (x, y), _ = small
    generated = tf.data.Dataset.from_generator(lambda: zip(x[:100], y[:100]), output_signature=(
        tf.TensorSpec((28, 28), tf.float32), tf.TensorSpec((), tf.int32))).batch(32)
    history = tk.fit_batch(tk.models.mlp(), generated, verbose=0)
    assert history.history["samples"] == [128]  # 4 batches counted as 32 each (the last holds 4)
    # Keras 3.15 advances optimizer.iterations once more than the batches on data of unknown size
    # (the weights see 4 updates); fit_batch reports the optimizer's own count.
    assert history.history["updates"][0] in (4, 5)
