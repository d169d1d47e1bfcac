"""Seeded image augmentation built from Keras preprocessing layers (chapter 3).

The removed ``ImageDataGenerator`` is replaced by Keras 3 layers (``RandomRotation``,
``RandomTranslation``, ``RandomShear``, ``RandomZoom``, ``RandomFlip``, ``RandomContrast``)
plus ``RandomNoise``. They run in one of two places:

- **in the tf.data pipeline** (``augment_dataset``): a parallel map on the CPU, with prefetch,
  while the accelerator trains. Each batch draws from its own stateless seed, taken from a
  seeded ``tf.data.Dataset.random`` stream that changes every epoch. The parallel map therefore
  gives exactly the sequential map's images, run after run. (Keras layers called directly in a
  parallel map race on their shared random state and are not reproducible.)
- **inside the model** (``with_augmentation``): the layers run on the accelerator as part of the
  forward pass, only in training; at inference they are the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import tensorflow as tf

from toolkit.errors import ArgumentError, UnsupportedDataError


@dataclass(frozen=True)
class AugmentSpec:
    """What to randomise, in plain units.

    ``rotation_degrees``: ± degrees. ``width_shift``/``height_shift``: ± fraction of the size.
    ``shear_degrees``: ± shear angle. ``zoom``: ± fraction (0.2 = 80% to 120%, independently per axis).
    ``contrast``: ± fraction. ``noise_std``: Gaussian noise in pixel units. ``value_range``: the
    pixel range, kept after every transform. ``fill_mode``: how uncovered pixels are filled.
    """

    rotation_degrees: float = 0.0
    width_shift: float = 0.0
    height_shift: float = 0.0
    shear_degrees: float = 0.0
    zoom: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    contrast: float = 0.0
    noise_std: float = 0.0
    fill_mode: str = "nearest"
    value_range: tuple[float, float] = (0.0, 1.0)

    @classmethod
    def from_image_data_generator(cls, *, rotation_range: float = 0.0, width_shift_range: float = 0.0,
                                  height_shift_range: float = 0.0, shear_range: float = 0.0, zoom_range: float = 0.0,
                                  horizontal_flip: bool = False, vertical_flip: bool = False,
                                  fill_mode: str = "nearest", **unsupported) -> AugmentSpec:
        """The same augmentation as ``ImageDataGenerator(**arguments)``, in that class's units:
        ``shear_range`` was an angle in **degrees**, shifts below 1 fractions of the size."""
        if unsupported:
            raise UnsupportedDataError(
                f"No layer equivalent here for ImageDataGenerator arguments {sorted(unsupported)}.")
        for name, shift in (("width_shift_range", width_shift_range), ("height_shift_range", height_shift_range)):
            if not 0 <= shift < 1:
                raise ArgumentError(f"{name}={shift}: give shifts as a fraction of the image size, below 1.")
        return cls(rotation_degrees=rotation_range, width_shift=width_shift_range, height_shift=height_shift_range,
                   shear_degrees=shear_range, zoom=zoom_range, horizontal_flip=horizontal_flip,
                   vertical_flip=vertical_flip, fill_mode=fill_mode)


@keras.saving.register_keras_serializable(package="toolkit")
class RandomNoise(keras.layers.Layer):
    """Adds Gaussian noise in training and clips to ``value_range``; the identity at inference.

    Unlike ``keras.layers.GaussianNoise`` it keeps pixels in range and offers the preprocessing
    layers' ``get_random_transformation``/``transform_images`` pair, so one seed drives it
    in the tf.data pipeline as well.
    """

    def __init__(self, stddev: float, value_range=(0.0, 1.0), seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.value_range, self.seed = stddev, tuple(value_range), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        return keras.random.normal(keras.ops.shape(images), stddev=self.stddev, dtype=images.dtype,
                                   seed=seed or self.seed_generator)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return keras.ops.clip(images + transformation, *self.value_range)

    def call(self, images, training=None):
        return self.transform_images(images, self.get_random_transformation(images, bool(training)), bool(training))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "value_range": self.value_range, "seed": self.seed}


def augmentation_layers(spec: AugmentSpec, seed: int | None = 0) -> list[keras.layers.Layer]:
    """The Keras layers for ``spec``, in ImageDataGenerator's order (geometry, flips, then pixels)."""
    fill = {"fill_mode": spec.fill_mode}
    layers: list[keras.layers.Layer] = []

    def seeded(index: int) -> dict:
        return {"seed": None if seed is None else seed + index}

    if spec.rotation_degrees:
        layers.append(keras.layers.RandomRotation(spec.rotation_degrees / 360.0, **fill, **seeded(1)))
    if spec.width_shift or spec.height_shift:
        layers.append(keras.layers.RandomTranslation(spec.height_shift, spec.width_shift, **fill, **seeded(2)))
    if spec.shear_degrees:
        factor = math.tan(math.radians(spec.shear_degrees))  # RandomShear takes the shear as a fraction of the size
        layers.append(keras.layers.RandomShear(x_factor=factor, y_factor=0.0, **fill, **seeded(3)))
    if spec.zoom:
        layers.append(keras.layers.RandomZoom((-spec.zoom, spec.zoom), (-spec.zoom, spec.zoom), **fill, **seeded(4)))
    flips = "horizontal_and_vertical" if spec.horizontal_flip and spec.vertical_flip else (
        "horizontal" if spec.horizontal_flip else "vertical" if spec.vertical_flip else None)
    if flips:
        layers.append(keras.layers.RandomFlip(flips, **seeded(5)))
    if spec.contrast:
        layers.append(keras.layers.RandomContrast(spec.contrast, value_range=spec.value_range, **seeded(6)))
    if spec.noise_std:
        layers.append(RandomNoise(spec.noise_std, spec.value_range, **seeded(7)))
    return layers


class _BatchSeed(keras.random.SeedGenerator):
    """A stateless stand-in for a SeedGenerator: every draw gets its own seed, derived from one
    per-batch seed and the draw's position in the traced function. It holds no variable, so
    parallel calls cannot race on it."""

    def __init__(self, seed: tf.Tensor):  # no super().__init__: no state variable on purpose
        self._seed, self._draws = seed, 0

    def next(self, ordered=True):
        self._draws += 1
        return self._seed + tf.constant([0, 7919], tf.int32) * self._draws


def _with_channels(transform):
    """Run ``transform`` on (batch, H, W) images by adding and removing a channel axis."""
    def run(images, *args):
        if images.shape.rank == 3:
            return transform(images[..., None], *args)[..., 0]
        return transform(images, *args)
    return run


def augment_batch(layers: list[keras.layers.Layer], images: tf.Tensor, batch_seed: tf.Tensor) -> tf.Tensor:
    """Augment one batch with ``layers``, every random draw fixed by ``batch_seed`` (an int64)."""
    base = tf.stack([tf.cast(batch_seed % 2**31, tf.int32), tf.constant(0, tf.int32)])

    def transform(batch):
        for index, layer in enumerate(layers):
            seed = _BatchSeed(base + tf.constant([0, 1000003], tf.int32) * (index + 1))
            batch = layer.transform_images(batch, layer.get_random_transformation(batch, training=True, seed=seed),
                                           training=True)
        return batch

    return _with_channels(transform)(images)


def augment_dataset(dataset: tf.data.Dataset, spec: AugmentSpec, *, seed: int = 0, parallel: bool = True,
                    ) -> tf.data.Dataset:
    """Augment a batched ``(images, labels)`` dataset in the input pipeline (chapter 3).

    ``parallel=True`` maps on all CPU cores and prefetches; ``False`` maps one batch at a time, the
    slow baseline. Both give the same images for the same ``seed``; every epoch draws new ones.
    """
    layers = augmentation_layers(spec, seed=None)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    paired = tf.data.Dataset.zip(dataset, seeds)
    def augment(data, batch_seed):
        return (augment_batch(layers, data[0], batch_seed), *data[1:])

    if not parallel:
        return paired.map(augment)
    return paired.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def augmenter(spec: AugmentSpec, seed: int | None = 0, name: str = "augmentation") -> keras.Sequential:
    """The augmentation as one Keras model, to call on (batch, H, W, C) images (chapter 3)."""
    return keras.Sequential(augmentation_layers(spec, seed), name=name)


def with_augmentation(model: keras.Model, spec: AugmentSpec, seed: int | None = 0) -> keras.Model:
    """``model`` with the augmentation in front of it, run wherever the model runs (the GPU, in Colab);
    inputs keep the model's shape. Chapter 3. ``fit`` applies it; ``evaluate``, ``predict`` and
    ``training=False`` skip it, but a plain call ``augmented(x)`` augments, because Keras 3's random
    preprocessing layers default to ``training=True``: serve the bare ``model``."""
    input_shape = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    if input_shape is None or len(input_shape) not in (2, 3):
        raise ArgumentError(f"with_augmentation needs a model whose input is an image, got input shape {input_shape}.")
    inputs = keras.Input(input_shape)
    images = keras.layers.Reshape((*input_shape, 1))(inputs) if len(input_shape) == 2 else inputs
    images = augmenter(spec, seed)(images)
    if len(input_shape) == 2:
        images = keras.layers.Reshape(input_shape)(images)
    return keras.Model(inputs, model(images), name=f"augmented_{model.name}")
