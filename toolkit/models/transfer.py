"""Pretraining and fine-tuning helpers (chapter 6).

The seed pretrained with PyTorch ``transformers``. The course does the same idea offline on
MNIST: pretrain a CNN on digits 0-4 (the source task), then reuse its features for digits 5-9
with a handful of labels (the target task), frozen or fine-tuned at a low learning rate.
"""

from __future__ import annotations

import keras

from toolkit.data.subsets import few_labels, select_classes
from toolkit.models.inspect import clone_with_weights, leaf_layers

__all__ = ["select_classes", "few_labels", "feature_extractor", "unfreeze", "with_new_head"]


def feature_extractor(model: keras.Model, *, trainable: bool = False, name: str = "features") -> keras.Model:
    """A copy of ``model`` up to its last hidden output: everything but the logits layer (chapter 6).

    The copy has its own weights, so fine-tuning it leaves ``model`` (the pretrained one)
    untouched. ``trainable=False`` freezes it; ``trainable=True`` unfreezes it with ``unfreeze``, so any
    BatchNormalization inside keeps its pretrained statistics.
    """
    copy = clone_with_weights(model)
    features = keras.Model(copy.inputs, copy.layers[-2].output, name=name)
    features.trainable = False
    return unfreeze(features) if trainable else features


def unfreeze(features: keras.Model) -> keras.Model:
    """Make ``features`` trainable for fine-tuning, except its BatchNormalization layers (chapter 6).

    A BatchNormalization layer with ``trainable=False`` runs in inference mode and keeps the statistics it
    learned in pretraining; a trainable one would re-estimate them from the small target batches. In
    Keras 3, calling the features with ``training=False`` inside a functional model (keras.io's recipe)
    does not protect them: ``fit`` calls the outer model with ``training=True``, which overrides it
    (keras-team/keras#20285). Freezing the BatchNormalization layers themselves does.
    """
    features.trainable = True
    for layer in leaf_layers(features):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return features


def with_new_head(pretrained: keras.Model, num_classes: int, *, trainable: bool = False,
                  seed: int | None = None) -> keras.Model:
    """The pretrained features (a copy, frozen unless ``trainable``) topped with a fresh logits layer for
    ``num_classes`` classes (chapter 6). To fine-tune later, ``unfreeze(model.get_layer("features"))``."""
    features = feature_extractor(pretrained, trainable=trainable)
    head = keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                              name="new_logits")
    return keras.Sequential([keras.Input(shape=pretrained.input_shape[1:]), features, head],
                            name=f"{pretrained.name}_transfer")
