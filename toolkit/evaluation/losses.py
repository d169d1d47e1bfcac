"""The loss, understood once: its kind, whether it expects logits, its per-sample form, which
predictions it counts as correct, and the checks that a model, its labels and its loss fit together
(chapters 1-6).

>>> loss_kind("sparse_categorical_crossentropy"), loss_from_logits(default_loss())
('sparse_categorical', True)
"""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from toolkit.errors import LabelError, LogitsMismatchError, TrainingSetupError
from toolkit.models.inspect import PROBABILITY_ACTIVATIONS, num_outputs, output_activation

DEFAULT_LOSS = {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}}
LossKind = Literal["sparse_categorical", "categorical", "binary"]


def default_loss() -> keras.losses.Loss:
    """The course's classification loss: sparse crossentropy on logits (chapters 1-6)."""
    return keras.losses.get(DEFAULT_LOSS)


def loss_name(loss) -> str:
    """The snake_case name of a loss given as a string, a function or a ``keras.losses.Loss``."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        wrapped = getattr(loss, "fn", None)  # LossFunctionWrapper subclasses name their function
        return wrapped.__name__ if wrapped is not None else loss.name
    return getattr(loss, "__name__", type(loss).__name__)


def loss_kind(loss) -> LossKind | None:
    """Which kind of classification loss this is, or ``None`` (a regression loss, a custom one)."""
    name = loss_name(loss)
    for kind in ("sparse_categorical", "categorical", "binary"):
        if kind in name:
            return kind
    return None


def loss_from_logits(loss) -> bool | None:
    """``from_logits`` of a loss (``False`` for Keras's string and function forms); ``None`` if it has none."""
    if isinstance(loss, keras.losses.Loss):
        return loss.get_config().get("from_logits")
    return False if "crossentropy" in loss_name(loss) else None


def per_example_loss(loss):
    """The loss without its reduction: one value per sample (losses given as strings or functions
    are Keras's per-sample functions already). A ``keras.losses.Loss`` is called through its own
    ``call``, as its ``__call__`` does before reducing, so every setting it holds is kept (rebuilding
    it from ``get_config`` would drop those the config omits, such as ``Huber``'s ``delta``)."""
    if isinstance(loss, keras.losses.Loss):
        def per_sample(y_true, y_pred):
            return loss.call(keras.ops.convert_to_tensor(y_true, dtype=loss.dtype),
                             keras.ops.convert_to_tensor(y_pred, dtype=loss.dtype))
        return per_sample
    if isinstance(loss, str):
        return keras.losses.get(loss)
    return loss


def check_reduction(loss) -> None:
    """Refuse the loss settings the tape loops cannot honour, naming them (chapter 1): they average the
    per-sample losses over each batch, as ``sum_over_batch_size`` (Keras's default) does."""
    if not isinstance(loss, keras.losses.Loss):
        return
    if loss.reduction not in ("sum_over_batch_size", "mean_with_sample_weight"):
        raise TrainingSetupError(
            f"The tape loops average the loss over each batch, but this loss has reduction={loss.reduction!r}. "
            "Use the default reduction (\"sum_over_batch_size\"), or scale the learning rate instead of summing.")
    if getattr(loss, "ignore_class", None) is not None:
        raise TrainingSetupError(
            f"The tape loops do not support ignore_class={loss.ignore_class}: drop the samples with that label "
            "before training (x, y = x[y != c], y[y != c]), or train with tk.fit_batch.")


def correctness_fn(model: keras.Model, loss):
    """``fn(y, outputs) -> float32 0/1 per sample`` for classification losses, else ``None``."""
    kind = loss_kind(loss)
    if kind == "sparse_categorical":
        return lambda y, out: tf.cast(tf.equal(tf.argmax(out, -1), tf.cast(tf.reshape(y, [-1]), tf.int64)), tf.float32)
    if kind == "categorical":
        return lambda y, out: tf.cast(tf.equal(tf.argmax(out, -1), tf.argmax(y, -1)), tf.float32)
    if kind == "binary" and num_outputs(model) == 1:
        cut = 0.0 if loss_from_logits(loss) else 0.5
        return lambda y, out: tf.cast(tf.equal(tf.reshape(out, [-1]) > cut, tf.reshape(y, [-1]) > 0.5), tf.float32)
    return None


def _looks_like_probabilities(outputs: np.ndarray) -> bool:
    if outputs.ndim < 2 or outputs.shape[-1] < 2:
        return bool(np.all((outputs >= 0) & (outputs <= 1)))
    return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3))


def check_logits(model: keras.Model, loss, probe: np.ndarray | None = None) -> None:
    """Fail when a probability output meets ``from_logits=True``, or raw logits meet ``from_logits=False``.

    The model's last activation decides; when it cannot be read (a custom layer), a probe
    batch's outputs do: rows of non-negative values summing to 1 are probabilities.
    """
    from_logits = loss_from_logits(loss)
    if from_logits is None:
        return
    activation = output_activation(model)
    if activation is None and probe is not None and len(probe):
        outputs = keras.ops.convert_to_numpy(model(probe[:32], training=False))
        activation = "softmax" if _looks_like_probabilities(outputs) else "linear"
    if activation is None:
        return
    name = loss_name(loss)
    if from_logits and activation in PROBABILITY_ACTIVATIONS:
        raise LogitsMismatchError(
            f"The model ends in a {activation} but the loss ({name}) has from_logits=True: the loss "
            f"expects raw scores and would apply the {activation} a second time. (Keras 3 on TensorFlow "
            "sometimes spots this, warns and uses the scores behind the activation, but a cast, a wrapper "
            "or another backend breaks that rescue and the loss cannot go below 1.46 nats.) Fix: remove "
            "the activation from the last layer (Dense(units) with no activation, as tk.models does) and "
            "keep from_logits=True; apply keras.ops.softmax at prediction time."
        )
    if not from_logits and activation not in PROBABILITY_ACTIVATIONS:
        raise LogitsMismatchError(
            f"The model outputs raw logits (last activation: {activation}) but the loss ({name}) has "
            "from_logits=False, so it reads logits as probabilities. Fix: use "
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True) (or the matching "
            "crossentropy with from_logits=True)."
        )


def check_labels(y: np.ndarray, model: keras.Model, loss) -> None:
    """Fail when labels cannot index the model's outputs under the loss (range, one-hot, floats)."""
    y = np.asarray(y)
    classes, kind, name = num_outputs(model), loss_kind(loss), loss_name(loss)
    if classes is None or not y.size:
        return
    if kind == "sparse_categorical":
        if y.ndim == 2 and y.shape[1] == classes and classes > 1:
            raise LabelError(
                f"The labels are one-hot (shape {y.shape}) but {name} expects integer class ids. "
                "Fix: pass y.argmax(axis=1), or use CategoricalCrossentropy(from_logits=True)."
            )
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise LabelError(f"{name} needs integer class ids, but the labels hold fractions (e.g. {y.flat[0]}).")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            raise LabelError(
                f"Labels run from {low} to {high}, but the model has {classes} outputs, so valid "
                f"labels are 0..{classes - 1}. Fix: build the model with num_classes={high + 1}, or "
                "remap the labels to 0..num_classes-1."
            )
    elif kind == "binary" and (y.min() < 0 or y.max() > 1):
        raise LabelError(f"{name} needs labels in [0, 1], but they run from {y.min()} to {y.max()}.")
