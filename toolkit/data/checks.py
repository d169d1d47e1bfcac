"""Input checks and shaping: clear errors for empty data, NaN/inf samples and samples that do not fit
the model's input, and uint8 pixels scaled to [0, 1] (chapter 1).

>>> shape_inputs(np.zeros((2, 784), np.uint8), (28, 28)).shape
(2, 28, 28)
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.errors import EmptyDataError, InputShapeError, NonFiniteInputError


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


def shape_inputs(x: np.ndarray, expected: tuple[int, ...] | None) -> np.ndarray:
    """Reshape and scale samples for a model whose per-sample input shape is ``expected``: uint8 pixels
    become float32 in [0, 1], and a sample of the right size (28x28 vs 784) is reshaped. A sample of
    another size raises InputShapeError, naming ``color_mode='grayscale'`` when 3 colour channels are why."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype != np.float32 and np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
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


def shape_dataset(dataset, expected: tuple[int, ...] | None):
    """``shape_inputs`` for a batched ``tf.data.Dataset`` of ``(x, y)``: uint8 images are scaled to
    [0, 1] and samples of the right size reshaped; a mismatch raises InputShapeError."""
    import tensorflow as tf

    x_spec = dataset.element_spec[0]
    sample = tuple(x_spec.shape[1:])
    scale = x_spec.dtype == tf.uint8
    reshape = expected is not None and None not in sample and sample != expected
    if reshape:
        shape_inputs(np.zeros((1, *sample), np.float32), expected)  # raises with the fix if sizes differ
    elif not scale:
        return dataset

    def fit_sample(x, y):
        x = tf.cast(x, tf.float32) / 255.0 if scale else x
        return (tf.reshape(x, [-1, *expected]) if reshape else x), y

    return dataset.map(fit_sample, num_parallel_calls=tf.data.AUTOTUNE)
