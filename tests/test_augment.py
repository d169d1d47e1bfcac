"""toolkit.data.augment: seeded, identity at inference, new every epoch, shape- and range-preserving,
the ImageDataGenerator mapping, and the image-folder round trip."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk
from toolkit.data.augment import AugmentSpec, augment_dataset, augmenter, with_augmentation

EVERYTHING = AugmentSpec(rotation_degrees=20, width_shift=0.1, height_shift=0.1, shear_degrees=10, zoom=0.1,
                         horizontal_flip=True, contrast=0.3, noise_std=0.1)


@pytest.fixture
def batches(mnist):
    return tf.data.Dataset.from_tensor_slices((mnist.x_train[:256, ..., None], mnist.y_train[:256])).batch(32)


def images_of(dataset):
    return np.concatenate([x.numpy() for x, *_ in dataset])


def test_same_seed_same_augmentations_and_parallel_equals_sequential(batches):
    first = images_of(augment_dataset(batches, EVERYTHING, seed=3))
    again = images_of(augment_dataset(batches, EVERYTHING, seed=3))
    sequential = images_of(augment_dataset(batches, EVERYTHING, seed=3, parallel=False))
    other_seed = images_of(augment_dataset(batches, EVERYTHING, seed=4))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, sequential)
    assert not np.array_equal(first, other_seed)


def test_in_model_augmentation_is_seeded(mnist):
    x = mnist.x_train[:16, ..., None]
    a, b = augmenter(EVERYTHING, seed=9), augmenter(EVERYTHING, seed=9)
    np.testing.assert_allclose(a(x, training=True), b(x, training=True))


def test_augmentations_differ_across_epochs_and_images(batches):
    dataset = augment_dataset(batches, EVERYTHING, seed=0)
    epoch_1, epoch_2 = images_of(dataset), images_of(dataset)
    assert not np.array_equal(epoch_1, epoch_2)
    layer = augmenter(EVERYTHING, seed=0)
    x = np.repeat(images_of(batches)[:1], 2, axis=0)
    once = keras.ops.convert_to_numpy(layer(x, training=True))
    assert not np.allclose(once[0], once[1])  # the same image, augmented two ways in one batch
    assert not np.allclose(once, layer(x, training=True))  # and differently on the next call


def test_identity_at_inference(mnist):
    x = mnist.x_train[:8, ..., None]
    np.testing.assert_array_equal(augmenter(EVERYTHING)(x, training=False), x)
    base = tk.models.cnn(seed=0)
    model = with_augmentation(base, EVERYTHING, seed=0)
    np.testing.assert_allclose(model(x, training=False), base(x, training=False), atol=1e-6)
    assert not np.allclose(model(x, training=True), base(x, training=False), atol=1e-3)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1)])
def test_shapes_dtypes_and_value_ranges_are_kept(mnist, shape):
    x = mnist.x_train[:64].reshape(64, *shape)
    dataset = tf.data.Dataset.from_tensor_slices((x, mnist.y_train[:64])).batch(16)
    out = images_of(augment_dataset(dataset, EVERYTHING, seed=1))
    assert out.shape == x.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 and out.std() > 0.1
    labels = np.concatenate([y.numpy() for _, y in augment_dataset(dataset, EVERYTHING, seed=1)])
    np.testing.assert_array_equal(labels, mnist.y_train[:64])  # labels pass through untouched
    wide = AugmentSpec(contrast=0.5, noise_std=0.5, value_range=(0.0, 255.0))
    out = keras.ops.convert_to_numpy(augmenter(wide)(x.reshape(64, 28, 28, 1) * 255, training=True))
    assert 0.0 <= out.min() and out.max() <= 255.0


def test_augmented_models_train_with_the_toolkit_loops(mnist):
    model = with_augmentation(tk.models.mlp(seed=0), AugmentSpec(rotation_degrees=10), seed=0)
    history = tk.fit_batch(model, (mnist.x_train[:256], mnist.y_train[:256]), epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    online = tk.train_online(model, (mnist.x_train[:64], mnist.y_train[:64]), verbose=0)
    assert online.last("updates") == 2 * 8 + 64  # compiled by fit_batch, it goes on with its optimizer


def test_image_data_generator_arguments_map_to_layers_in_its_units():
    seed_spec = AugmentSpec.from_image_data_generator(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2,
                                                      shear_range=0.2, zoom_range=0.2, horizontal_flip=True,
                                                      fill_mode="nearest")
    names = [type(layer).__name__ for layer in tk.augment.augmentation_layers(seed_spec)]
    assert names == ["RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomFlip"]
    shear = tk.augment.augmentation_layers(seed_spec)[2]
    assert shear.x_factor[1] == pytest.approx(math.tan(math.radians(0.2)))  # 0.2 degrees: 0.35% of the width
    rotation = tk.augment.augmentation_layers(seed_spec)[0]
    assert rotation.factor[1] == pytest.approx(20 / 360)
    with pytest.raises(TypeError, match="brightness_range"):
        AugmentSpec.from_image_data_generator(brightness_range=(0.5, 1.5))
    with pytest.raises(ValueError, match="fraction"):
        AugmentSpec.from_image_data_generator(width_shift_range=4)


def test_random_noise_round_trips_through_saving(tmp_path, mnist):
    model = with_augmentation(tk.models.mlp(seed=0), AugmentSpec(noise_std=0.1), seed=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    x = mnist.x_train[:4]
    np.testing.assert_allclose(restored(x, training=False), model(x, training=False), atol=1e-6)


def test_image_folder_round_trip(tmp_path, mnist):
    x, y = mnist.x_train[:120], mnist.y_train[:120]
    folder = tk.data.export_image_folder(x, y, tmp_path / "digits", per_class=5)
    assert sorted(p.name for p in folder.iterdir()) == [str(c) for c in range(10)]
    assert all(len(list((folder / str(c)).glob("*.png"))) == 5 for c in range(10))
    loaded = keras.utils.image_dataset_from_directory(folder, color_mode="grayscale", image_size=(28, 28),
                                                      batch_size=64, shuffle=False, verbose=False)
    images, labels = (np.concatenate(parts) for parts in zip(*((a.numpy(), b.numpy()) for a, b in loaded)))
    expected = np.concatenate([x[y == c][:5] for c in range(10)])
    assert images.shape == (50, 28, 28, 1)
    np.testing.assert_allclose(images[..., 0] / 255.0, expected, atol=1 / 255)  # PNG keeps 8-bit pixels
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 5))
