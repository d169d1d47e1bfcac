"""Pretraining and fine-tuning helpers (chapter 6).

The seed pretrained with PyTorch ``transformers``. The course does the same idea offline on
MNIST: pretrain a CNN on digits 0-4 (the source task), then reuse its features for digits 5-9
with a handful of labels (the target task), frozen or fine-tuned at a low learning rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np


def select_classes(x: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``classes`` only, relabelled 0..len(classes)-1 in the order given (chapter 6).

    ``select_classes(x, y, [5, 6, 7, 8, 9])`` turns digit 5 into label 0, and so on.
    """
    classes = list(classes)
    keep = np.isin(y, classes)
    if not keep.any():
        raise ValueError(f"No sample has a label in {classes}; the labels present are {sorted(set(y.tolist()))}.")
    relabel = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([relabel[int(label)] for label in y[keep]], dtype=y.dtype)


def few_labels(x: np.ndarray, y: np.ndarray, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` samples of every class, drawn without replacement with ``seed``, shuffled (chapter 6)."""
    rng = np.random.default_rng(seed)
    picks = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < per_class:
            raise ValueError(f"Class {label} has only {len(members)} samples; ask for per_class <= {len(members)}.")
        picks.append(rng.choice(members, per_class, replace=False))
    order = rng.permutation(np.concatenate(picks))
    return x[order], y[order]


def feature_extractor(model: keras.Model, *, trainable: bool = False, name: str = "features") -> keras.Model:
    """A copy of ``model`` up to its last hidden output: everything but the logits layer (chapter 6).

    The copy has its own weights, so fine-tuning it leaves ``model`` (the pretrained one)
    untouched. ``trainable=False`` freezes it; ``trainable=True`` unfreezes it with ``unfreeze``, so any
    BatchNormalization inside keeps its pretrained statistics.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    features = keras.Model(copy.inputs, copy.layers[-2].output, name=name)
    features.trainable = False
    return unfreeze(features) if trainable else features


def _layers_within(layer: keras.Layer) -> list[keras.Layer]:
    return [layer, *(inner for child in getattr(layer, "layers", []) for inner in _layers_within(child))]


def unfreeze(features: keras.Model) -> keras.Model:
    """Make ``features`` trainable for fine-tuning, except its BatchNormalization layers (chapter 6).

    A BatchNormalization layer with ``trainable=False`` runs in inference mode and keeps the statistics it
    learned in pretraining; a trainable one would re-estimate them from the small target batches. In
    Keras 3, calling the features with ``training=False`` inside a functional model (keras.io's recipe)
    does not protect them: ``fit`` calls the outer model with ``training=True``, which overrides it
    (keras-team/keras#20285). Freezing the BatchNormalization layers themselves does.
    """
    features.trainable = True
    for layer in _layers_within(features):
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
