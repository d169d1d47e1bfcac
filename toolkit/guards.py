"""Input checks that stop the seeds' mistakes with an error naming the problem and the fix (chapter 1).

Each check raises a subclass of :class:`TrainingSetupError` (a ``ValueError``), except the
non-finite loss, which is a :class:`NonFiniteLossError` raised while training.
"""

from __future__ import annotations

import math

import keras
import numpy as np


class TrainingSetupError(ValueError):
    """Base class: the model, loss, optimizer or data cannot train together as given."""


class LogitsMismatchError(TrainingSetupError):
    """The model's output activation disagrees with the loss's ``from_logits``."""


class InputShapeError(TrainingSetupError):
    """The samples do not fit the model's input."""


class LabelError(TrainingSetupError):
    """The labels do not fit the model's output or the loss."""


class EmptyDataError(TrainingSetupError):
    """There is nothing to train or evaluate on."""


class NonFiniteInputError(TrainingSetupError):
    """Some samples hold NaN or inf values."""


class OptimizerArgumentError(TrainingSetupError):
    """A tf.keras 2 / Keras 2 optimizer argument that Keras 3 rejects or silently ignores."""


class DistributionSetupError(TrainingSetupError):
    """The model, optimizer or loop does not fit the tf.distribute strategy it is used with."""


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message names the sample or batch and the last good state."""


PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid", "log_softmax")


def loss_name(loss) -> str:
    """The snake_case name of a loss given as a string, a function or a ``keras.losses.Loss``."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        wrapped = getattr(loss, "fn", None)  # LossFunctionWrapper subclasses name their function
        return wrapped.__name__ if wrapped is not None else loss.name
    return getattr(loss, "__name__", type(loss).__name__)


def loss_from_logits(loss) -> bool | None:
    """``from_logits`` of a loss (``False`` for Keras's string and function forms); ``None`` if it has none."""
    if isinstance(loss, keras.losses.Loss):
        return loss.get_config().get("from_logits")
    return False if "crossentropy" in loss_name(loss) else None


def _activation_name(activation) -> str | None:
    if activation is None:
        return "linear"
    try:
        return keras.activations.serialize(activation)
    except Exception:  # a custom callable
        return getattr(activation, "__name__", None)


def output_activation(model: keras.Model) -> str | None:
    """Name of the activation that produces the model's output, or ``None`` if it cannot be told."""
    layer = model.layers[-1] if model.layers else None
    while isinstance(layer, keras.Model) and layer.layers:  # a nested model as the last layer
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, (keras.layers.Dense, keras.layers.Activation, keras.layers.Conv2D,
                          keras.layers.Conv1D, keras.layers.EinsumDense)):
        return _activation_name(layer.activation)
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


def check_finite_inputs(x: np.ndarray, where: str = "x[{}]", first_id: int = 0) -> None:
    """Fail on NaN/inf input values, naming the first bad sample. (A NaN input need not show in
    the loss: ReLU maps it to 0 while its gradient silently turns the weights into NaN.)"""
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise NonFiniteInputError(
                f"{where.format(first_id + bad)} holds NaN or inf values ({int((~finite).sum())} such samples "
                "here). Drop or repair them before training, e.g. keep = np.isfinite(x).all(axis=(1, 2))."
            )


def check_not_empty(count: int | None, what: str = "training data") -> None:
    """Fail on an empty data set or stream."""
    if count == 0:
        raise EmptyDataError(
            f"The {what} is empty: there is nothing to learn from. Check the path, filter or split "
            "that produced it (for example, image_dataset_from_directory found no images)."
        )


def model_input_shape(model: keras.Model) -> tuple[int, ...] | None:
    """The per-sample input shape the model expects, or ``None`` when the model declares none."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list) or shape is None or any(d is None for d in shape[1:]):
        return None
    return tuple(shape[1:])


def shape_inputs(x: np.ndarray, model: keras.Model) -> np.ndarray:
    """Reshape and scale samples for the model: uint8 pixels become float32 in [0, 1], and a sample
    whose size matches the model's input (28x28 vs 784) is reshaped. A mismatch raises InputShapeError."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype != np.float32 and np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    expected = model_input_shape(model)
    sample = x.shape[1:]
    if expected is None or sample == expected:
        return x
    if math.prod(sample) == math.prod(expected):
        return x.reshape((len(x), *expected))
    hint = ""
    if sample and sample[-1] == 3 and math.prod(sample) // 3 == math.prod(expected):
        hint = (" The images have 3 colour channels but the model expects grayscale: load them with "
                "color_mode='grayscale' (image_dataset_from_directory) or tf.image.rgb_to_grayscale.")
    raise InputShapeError(
        f"Each sample has shape {sample} ({math.prod(sample)} values) but the model expects "
        f"{expected} ({math.prod(expected)} values).{hint} Otherwise build the model for this input, "
        f"for example tk.models.mlp(input_shape={sample})."
    )


def shape_dataset(dataset, model: keras.Model):
    """``shape_inputs`` for a batched ``tf.data.Dataset`` of ``(x, y)``: uint8 images are scaled to
    [0, 1] and samples of the right size reshaped; a mismatch raises InputShapeError."""
    import tensorflow as tf

    x_spec = dataset.element_spec[0]
    expected = model_input_shape(model)
    sample = tuple(x_spec.shape[1:])
    scale = x_spec.dtype == tf.uint8
    reshape = expected is not None and None not in sample and sample != expected
    if reshape:
        shape_inputs(np.zeros((1, *sample), np.float32), model)  # raises with the fix if sizes differ
    elif not scale:
        return dataset

    def fit_sample(x, y):
        x = tf.cast(x, tf.float32) / 255.0 if scale else x
        return (tf.reshape(x, [-1, *expected]) if reshape else x), y

    return dataset.map(fit_sample, num_parallel_calls=tf.data.AUTOTUNE)


def num_outputs(model: keras.Model) -> int | None:
    """Width of the model's output (number of classes), or ``None`` if it is not known."""
    try:
        return int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError):
        return None


def check_labels(y: np.ndarray, model: keras.Model, loss) -> None:
    """Fail when labels cannot index the model's outputs under the loss (range, one-hot, floats)."""
    y = np.asarray(y)
    classes = num_outputs(model)
    name = loss_name(loss)
    if classes is None or not y.size:
        return
    if "sparse_categorical" in name:
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
    elif "binary" in name and (y.min() < 0 or y.max() > 1):
        raise LabelError(f"{name} needs labels in [0, 1], but they run from {y.min()} to {y.max()}.")


def check_optimizer_kwargs(kwargs: dict) -> None:
    """Reject Keras 2 optimizer arguments: ``lr`` (Keras 3 raises a bare error) and ``decay``
    (Keras 3 accepts it with only a warning and ignores it, so the learning rate never decays)."""
    if "lr" in kwargs:
        raise OptimizerArgumentError(
            f"lr={kwargs['lr']} is the Keras 2 spelling; Keras 3 optimizers take learning_rate="
            f"{kwargs['lr']}."
        )
    if "decay" in kwargs:
        raise OptimizerArgumentError(
            f"decay={kwargs['decay']} is ignored by Keras 3 (only a warning is printed), so the "
            "learning rate would never decay. Fix: pass a schedule as the learning rate, e.g. "
            "learning_rate=keras.optimizers.schedules.InverseTimeDecay(initial_learning_rate, "
            f"decay_steps=1, decay_rate={kwargs['decay']}), which is what decay= used to do."
        )


def check_model_in_scope(model: keras.Model, strategy) -> None:
    """Fail when the model's weights were created outside ``strategy.scope()`` (chapter 4)."""
    if not strategy.extended.variable_created_in_scope(model.trainable_variables[0].value):
        raise DistributionSetupError(
            "The model's weights were created outside strategy.scope(), so they are not mirrored on the "
            "replicas. Build the model inside it: `with strategy.scope(): model = tk.models.mlp()`."
        )


def check_strategy_scope(model: keras.Model, optimizer: keras.optimizers.Optimizer, strategy) -> None:
    """Fail when the model's or the optimizer's variables were created outside ``strategy.scope()``:
    they would not be mirrored on every replica (chapter 4)."""
    check_model_in_scope(model, strategy)
    if not strategy.extended.variable_created_in_scope(optimizer.iterations.value):
        raise DistributionSetupError(
            "The optimizer was created outside strategy.scope(). Create it inside, next to the model "
            "(`with strategy.scope(): optimizer = keras.optimizers.Adam()`), or pass its name (\"adam\")."
        )


def check_fit_strategy(model: keras.Model, strategy) -> None:
    """``model.fit`` works under ``MirroredStrategy``, not under ``MultiWorkerMirroredStrategy``
    (TF 2.21 / Keras 3.15 fail with "Attempt to convert a value (PerReplica...)") (chapter 4)."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise DistributionSetupError(
            "model.fit fails under MultiWorkerMirroredStrategy with TensorFlow 2.21 and Keras 3.15 "
            "(\"Attempt to convert a value (PerReplica...)\"). Use the custom loop, which works: "
            "tk.train_minibatch(model, data, strategy=strategy, ...)."
        )
    check_model_in_scope(model, strategy)
