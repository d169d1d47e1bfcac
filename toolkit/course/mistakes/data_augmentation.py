"""Chapter 3's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            "ImageDataGenerator's numbers pasted in: degrees as the rotation factor, pixels as the shift.",
            """return keras.Sequential([
    keras.layers.RandomRotation(15, fill_mode="constant"),
    keras.layers.RandomTranslation(0.3, 0.3, fill_mode="constant"),
    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),
    keras.layers.RandomZoom((-0.1, 0.2), (-0.1, 0.2), fill_mode="constant"),
])""",
        ),
        Mistake(
            'The integer shift range read as +-3 pixels: ImageDataGenerator draws whole pixels in {-2, ..., 2}.',
            """return keras.Sequential([
    keras.layers.RandomRotation(15 / 360, fill_mode="constant"),
    keras.layers.RandomTranslation(3 / 28, 3 / 28, fill_mode="constant"),
    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),
    keras.layers.RandomZoom((-0.1, 0.2), (-0.1, 0.2), fill_mode="constant"),
])""",
        ),
    ),
    "2": (
        Mistake(
            'Shuffles whole batches: the same samples always travel together.',
            """return (tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
        ),
        Mistake(
            'Calls the layers without training=True: at inference augmentation layers do nothing.',
            """return (tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda x, y: (augmentation(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
        ),
    ),
    "3": (
        Mistake(
            "The order turned around: augments the model's outputs instead of its inputs.",
            'return keras.Sequential([keras.Input(model.input_shape[1:]), model, augmentation])',
        ),
        Mistake(
            'Trains a copy, so the model passed in never learns.',
            """copy = keras.models.clone_model(model)
return keras.Sequential([keras.Input(model.input_shape[1:]), augmentation, copy])""",
        ),
    ),
    "4": (
        Mistake(
            'Erases at inference too.',
            """count, height, width = keras.ops.shape(images)[0], images.shape[1], images.shape[2]
erase = keras.random.uniform((count,), seed=self.generator) < self.probability
top = keras.random.randint((count, 1, 1), 0, height - self.size + 1, seed=self.generator)
left = keras.random.randint((count, 1, 1), 0, width - self.size + 1, seed=self.generator)
rows = keras.ops.arange(height)[None, :, None]
cols = keras.ops.arange(width)[None, None, :]
inside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)
mask = inside & erase[:, None, None]
return keras.ops.where(mask[..., None], keras.ops.zeros_like(images), images)""",
        ),
        Mistake(
            'One position for the whole batch.',
            """if not training:
    return images
count, height, width = keras.ops.shape(images)[0], images.shape[1], images.shape[2]
erase = keras.random.uniform((count,), seed=self.generator) < self.probability
top = keras.random.randint((), 0, height - self.size + 1, seed=self.generator)
left = keras.random.randint((), 0, width - self.size + 1, seed=self.generator)
rows = keras.ops.arange(height)[None, :, None]
cols = keras.ops.arange(width)[None, None, :]
inside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)
mask = inside & erase[:, None, None]
return keras.ops.where(mask[..., None], keras.ops.zeros_like(images), images)""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
}
