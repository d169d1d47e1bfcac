"""What a model is made of: its input and output shapes, its output activation, its layers, and the
layer kinds the loops care about, listed once (chapters 1-6).

>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
>>> model_input_shape(model), num_outputs(model), output_activation(model)
((4,), 3, 'softmax')
"""

from __future__ import annotations

import keras


def _layer_types(*names: str) -> tuple[type, ...]:
    return tuple(getattr(keras.layers, name) for name in names if hasattr(keras.layers, name))


CONVOLUTIONS = _layer_types("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv1DTranspose",
                            "Conv2DTranspose", "Conv3DTranspose")
# Layers whose ``activation`` produces their output.
WITH_ACTIVATION = (*_layer_types("Dense", "EinsumDense", "Activation"), *CONVOLUTIONS)
# Layers that compute the same output with ``training=True`` as at inference: a model made only of
# these can reuse its training pass as its prediction. Dropout, batch norm, augmentation and unknown
# custom layers are not in the list.
SAME_IN_TRAINING = (*WITH_ACTIVATION, *_layer_types(
    "InputLayer", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Flatten", "Reshape", "Permute",
    "RepeatVector", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Rescaling", "Normalization",
    "LayerNormalization", "UnitNormalization", "Embedding", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Identity"))
PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid", "log_softmax")


def model_input_shape(model: keras.Model) -> tuple[int, ...] | None:
    """The per-sample input shape the model expects, or ``None`` when the model declares none."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list) or shape is None or any(d is None for d in shape[1:]):
        return None
    return tuple(shape[1:])


def num_outputs(model: keras.Model) -> int | None:
    """Width of the model's output (number of classes), or ``None`` if it is not known."""
    try:
        return int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError):
        return None


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
    if isinstance(layer, WITH_ACTIVATION):
        return _activation_name(layer.activation)
    return None


def leaf_layers(layer: keras.Layer) -> list[keras.Layer]:
    """All non-container layers of a (possibly nested) model."""
    if isinstance(layer, keras.Model):
        return [leaf for inner in layer.layers for leaf in leaf_layers(inner)]
    return [layer]


def behaves_same_in_training(model: keras.Model) -> bool:
    """True when every layer is known to compute the same output with ``training=True``."""
    return all(isinstance(layer, SAME_IN_TRAINING) for layer in leaf_layers(model))


def has_convolutions(model: keras.Model) -> bool:
    """Whether any layer of the model convolves."""
    return any(isinstance(layer, CONVOLUTIONS) for layer in leaf_layers(model))


def pools(model: keras.Model) -> bool:
    """Whether any layer of the model pools (max or average, global or not)."""
    return any("Pooling" in type(layer).__name__ for layer in leaf_layers(model))


def draws_random_numbers(model: keras.Model) -> bool:
    """Whether a layer draws random numbers from a seed generator (dropout, noise, augmentation)."""
    return any(getattr(layer, "_seed_generators", None) for layer in leaf_layers(model))


def has_activity_regularizers(model: keras.Model) -> bool:
    """Whether a layer penalises its outputs (``activity_regularizer``): padding a batch would add to it."""
    return any(getattr(layer, "activity_regularizer", None) is not None for layer in leaf_layers(model))


def computes_in_low_precision(model: keras.Model) -> bool:
    """Whether a layer computes in float16 or bfloat16 (a mixed-precision policy)."""
    return any(str(getattr(layer, "compute_dtype", "float32")) in ("float16", "bfloat16")
               for layer in leaf_layers(model))


def supports_xla(model: keras.Model) -> bool:
    """Whether every layer can be XLA-compiled (Keras marks those that cannot, e.g. image augmentation)."""
    return all(getattr(layer, "supports_jit", True) for layer in leaf_layers(model))


def clone_with_weights(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its own variables holding the same values (chapters 1, 2 and 6)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
