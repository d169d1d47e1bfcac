"""The course's models (chapters 1-6). Every model outputs logits: no softmax at the end.

Pair them with ``SparseCategoricalCrossentropy(from_logits=True)`` and turn logits into
probabilities with ``keras.ops.softmax`` only when you need probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras


def mlp(
    input_shape: Sequence[int] = (28, 28),
    hidden: Sequence[int] = (128,),
    num_classes: int = 10,
    *,
    dropout: float = 0.0,
    kernel_regularizer: keras.regularizers.Regularizer | str | None = None,
    seed: int | None = None,
    name: str = "mlp",
) -> keras.Model:
    """The seed's 784 -> 128 -> 10 network, corrected: it flattens its input and outputs logits.

    The seed's ``Dense(10, activation="softmax")`` paired with ``from_logits=True`` applied
    softmax twice; here the last layer is linear. ``dropout`` follows every hidden layer, and
    ``kernel_regularizer`` (for example ``keras.regularizers.L1(1e-4)``) penalises every kernel:
    Keras adds the penalties to the loss that ``fit`` and the toolkit's loops minimise. Used in
    chapters 1, 2 and 5.
    """
    init = keras.initializers.GlorotUniform(seed=seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=tuple(input_shape)), keras.layers.Flatten()]
    for width in hidden:
        layers.append(keras.layers.Dense(width, activation="relu", kernel_initializer=init,
                                         kernel_regularizer=kernel_regularizer))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, seed=seed))
    layers.append(keras.layers.Dense(num_classes, kernel_initializer=init, kernel_regularizer=kernel_regularizer,
                                     name="logits"))
    return keras.Sequential(layers, name=name)


def cnn(
    input_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    filters: Sequence[int] = (16, 32),
    hidden: Sequence[int] = (),
    dropout: float = 0.0,
    seed: int | None = None,
    name: str = "cnn",
) -> keras.Model:
    """A small convolutional network: conv-pool blocks, flatten, optional ReLU ``hidden`` layers, then a
    linear logits layer. A hidden layer gives the network an embedding that ``transfer.with_new_head`` can
    reuse. Used in chapters 3, 4 and 6, where images keep their (28, 28, 1) shape.
    """
    init = keras.initializers.GlorotUniform(seed=seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=tuple(input_shape))]
    for width in filters:
        layers += [
            keras.layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer=init),
            keras.layers.MaxPooling2D(),
        ]
    layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(width, activation="relu", kernel_initializer=init) for width in hidden]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, seed=seed))
    layers.append(keras.layers.Dense(num_classes, kernel_initializer=init, name="logits"))
    return keras.Sequential(layers, name=name)
