"""Chapter 3's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import PYTHON_BEHIND_A_GRAPH_OP, Mistake

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
        Mistake(
            "Channels-first layers read a (batch, 28, 28, 1) digit as 28 channels of 28x1 images: keep Keras's "
            "default channels_last for images stored height, width, channel.",
            'return keras.Sequential([\n    keras.layers.RandomRotation(15 / 360, fill_mode="constant", data_format="channels_first"),\n    keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", data_format="channels_first"),\n    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant", data_format="channels_first"),\n    keras.layers.RandomZoom((-0.1, 0.2), (-0.1, 0.2), fill_mode="constant", data_format="channels_first"),\n])',
        ),
        Mistake(
            "zoom_range=[0.9, 1.2] scales the coordinates, so 0.9 zooms in by 10% and 1.2 zooms out by 20%: in "
            "RandomZoom, where negative zooms in, that is (-0.1, 0.2), not (-0.2, 0.1).",
            'return keras.Sequential([\n    keras.layers.RandomRotation(15 / 360, fill_mode="constant"),\n    keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),\n    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),\n    keras.layers.RandomZoom((-0.2, 0.1), (-0.2, 0.1), fill_mode="constant"),\n])',
        ),
        Mistake(
            "ImageDataGenerator draws the width's and the height's zoom independently, while RandomZoom without "
            "width_factor zooms the width with the height, keeping the aspect ratio: give width_factor=(-0.1, 0.2) "
            "too.",
            """return keras.Sequential([
    keras.layers.RandomRotation(15 / 360, fill_mode="constant"),
    keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),
    keras.layers.RandomZoom((-0.1, 0.2), fill_mode="constant"),
])""",
        ),
        Mistake(
            "The toolkit's AugmentSpec zooms evenly and cannot express zoom_range=[0.9, 1.2]: write RandomZoom((-0.1, 0.2), ...) "
            "yourself.",
            """return tk.augment.augmenter(AugmentSpec(rotation_degrees=15, width_shift=2 / 28, height_shift=2 / 28,
                                        shear_degrees=10, zoom=0.1, fill_mode="constant"))""",
            lazy=True,
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
        Mistake(
            "A shuffle without a seed gives a new order on every run: pass seed=seed so the same seed replays the same order.",
            'return (tf.data.Dataset.from_tensor_slices((images, labels))\n        .shuffle(len(images))\n        .batch(batch_size)\n        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)\n        .prefetch(tf.data.AUTOTUNE))',
        ),
        Mistake(
            "With reshuffle_each_iteration=False every epoch repeats the first epoch's order: leave it True (the "
            "default), so that each epoch gets a new order.",
            """return (tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=False)
        .batch(batch_size)
        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
        ),
        Mistake(
            "This sets TensorFlow's global seed, process-wide state that changes every later random op of the "
            "program, instead of giving the shuffle its own: pass seed=seed to shuffle.",
            """tf.random.set_seed(seed)
return (tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images))
        .batch(batch_size)
        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
        ),
        Mistake(
            "A shuffle buffer of one batch only mixes neighbours: the buffer must hold every sample for a uniform shuffle.",
            'return (tf.data.Dataset.from_tensor_slices((images, labels))\n        .shuffle(batch_size, seed=seed)\n        .batch(batch_size)\n        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)\n        .prefetch(tf.data.AUTOTUNE))',
        ),
        Mistake(
            "The toolkit's augment_dataset takes an AugmentSpec, not your layers, so the given augmentation never runs: "
            "map the layers yourself with training=True.",
            """from toolkit.data.augment import augment_dataset
batches = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images), seed=seed).batch(batch_size)
return augment_dataset(batches, AugmentSpec(), seed=seed)""",
            lazy=True,
        ),
    ),
    "3": (
        Mistake(
            "Feeds raw 0-255 pixels to a model trained on [0, 1]: rescale by 1/255 inside the models.",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Reshape(shape), augmentation, model])
server = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Reshape(shape), model])
return trainer, server""",
        ),
        Mistake(
            "Scales the pixels to [-1, 1], but the model was trained on [0, 1]: Rescaling(1 / 255).",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 127.5, offset=-1),
                            keras.layers.Reshape(shape), augmentation, model])
server = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 127.5, offset=-1),
                           keras.layers.Reshape(shape), model])
return trainer, server""",
        ),
        Mistake(
            "Reads each row column by column: a CSV row lists the pixels row by row (pixel r * width + c), which is "
            "Reshape((height, width, channels)) as it stands.",
            """height, width, channels = model.input_shape[1:]


def preprocessing():
    return [keras.Input((height * width * channels,)), keras.layers.Rescaling(1 / 255),
            keras.layers.Reshape((width, height, channels)), keras.layers.Permute((2, 1, 3))]


return keras.Sequential([*preprocessing(), augmentation, model]), keras.Sequential([*preprocessing(), model])""",
        ),
        Mistake(
            "Serves the training model: a plain call, server(rows), runs its random layers, because Keras 3's "
            "preprocessing layers default to training=True (only fit, evaluate, predict or training=False switch "
            "them off): deploy a model without them.",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 255),
                            keras.layers.Reshape(shape), augmentation, model])
return trainer, trainer""",
        ),
        Mistake(
            "Trains a copy (clone_model), so the model passed in, and the server built on it, never learn.",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 255),
                            keras.layers.Reshape(shape), augmentation, keras.models.clone_model(model)])
server = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 255),
                           keras.layers.Reshape(shape), model])
return trainer, server""",
        ),
        Mistake(
            "The server holds a copy of the weights taken before training, so it never follows the trainer: build "
            "it on the model itself, and the two share its weights.",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 255),
                            keras.layers.Reshape(shape), augmentation, model])
exported = keras.models.clone_model(model)
exported.set_weights(model.get_weights())
server = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Rescaling(1 / 255),
                           keras.layers.Reshape(shape), exported])
return trainer, server""",
        ),
        Mistake(
            "A Lambda layer holds Python code, which load_model refuses to load in safe mode: scale and reshape "
            "with Rescaling and Reshape, which are saved as settings.",
            """shape = tuple(model.input_shape[1:])
trainer = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Lambda(lambda x: x / 255.0),
                            keras.layers.Reshape(shape), augmentation, model])
server = keras.Sequential([keras.Input((math.prod(shape),)), keras.layers.Lambda(lambda x: x / 255.0),
                           keras.layers.Reshape(shape), model])
return trainer, server""",
        ),
        Mistake(
            "The models take images, not the raw rows the service sends: put the scaling and the reshape inside "
            "them.",
            """return keras.Sequential([keras.Input(model.input_shape[1:]), augmentation, model]), model""",
            lazy=True,
        ),
        Mistake(
            "The toolkit's with_augmentation builds its own layers from an AugmentSpec, for image inputs: put the "
            "scaling, the reshape and the given augmentation in front of the model yourself.",
            """return tk.augment.with_augmentation(model, AugmentSpec(rotation_degrees=36, zoom=0.2)), model""",
            lazy=True,
        ),
    ),
    "4": (
        Mistake(
            "This erases at inference too: return the images unchanged unless `training` is true.",
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
            "This puts the square at one position for the whole batch: draw a top row and a left column for every "
            "image.",
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
        Mistake(
            "randint's upper bound is exclusive, so height - size never puts the square on the last row: draw corners "
            "up to height - size inclusive (high = height - size + 1).",
            'if not training:\n    return images\ncount, height, width = keras.ops.shape(images)[0], images.shape[1], images.shape[2]\nerase = keras.random.uniform((count,), seed=self.generator) < self.probability\ntop = keras.random.randint((count, 1, 1), 0, height - self.size, seed=self.generator)\nleft = keras.random.randint((count, 1, 1), 0, width - self.size, seed=self.generator)\nrows = keras.ops.arange(height)[None, :, None]\ncols = keras.ops.arange(width)[None, None, :]\ninside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)\nmask = inside & erase[:, None, None]\nreturn keras.ops.where(mask[..., None], keras.ops.zeros_like(images), images)',
        ),
        Mistake(
            "Erasing when the uniform draw is above p erases with probability 1 - p: erase when it is below p.",
            'if not training:\n    return images\ncount, height, width = keras.ops.shape(images)[0], images.shape[1], images.shape[2]\nerase = keras.random.uniform((count,), seed=self.generator) >= self.probability\ntop = keras.random.randint((count, 1, 1), 0, height - self.size + 1, seed=self.generator)\nleft = keras.random.randint((count, 1, 1), 0, width - self.size + 1, seed=self.generator)\nrows = keras.ops.arange(height)[None, :, None]\ncols = keras.ops.arange(width)[None, None, :]\ninside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)\nmask = inside & erase[:, None, None]\nreturn keras.ops.where(mask[..., None], keras.ops.zeros_like(images), images)',
        ),
        Mistake(
            "This erases in NumPy, which needs concrete arrays: in fit or a tf.data pipeline the layer is compiled "
            "and its batch is symbolic, of unknown size. Build the mask for the whole batch with keras.ops.",
            """if not training:
    return images
erased = keras.ops.convert_to_numpy(images).copy()
height, width = erased.shape[1], erased.shape[2]
erase = keras.ops.convert_to_numpy(keras.random.uniform((len(erased),), seed=self.generator)) < self.probability
tops = keras.ops.convert_to_numpy(keras.random.randint((len(erased),), 0, height - self.size + 1, seed=self.generator))
lefts = keras.ops.convert_to_numpy(keras.random.randint((len(erased),), 0, width - self.size + 1, seed=self.generator))
for i in np.flatnonzero(erase):
    erased[i, tops[i]:tops[i] + self.size, lefts[i]:lefts[i] + self.size] = 0
return erased""",
        ),
        Mistake(
            "This loops over the images in Python, which needs the batch size when the layer is compiled (in fit or "
            "tf.data it is unknown): build one mask for the whole batch with keras.ops.",
            """if not training:
    return images
height, width = images.shape[1], images.shape[2]
rows, cols = keras.ops.arange(height)[:, None], keras.ops.arange(width)[None, :]
erased = []
for i in range(images.shape[0]):
    top = keras.random.randint((), 0, height - self.size + 1, seed=self.generator)
    left = keras.random.randint((), 0, width - self.size + 1, seed=self.generator)
    inside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)
    inside = inside & (keras.random.uniform((), seed=self.generator) < self.probability)
    erased.append(keras.ops.where(inside[..., None], 0.0, images[i]))
return keras.ops.stack(erased)""",
        ),
        Mistake(
            "Keras's own RandomErasing draws rectangles of random sizes: the exercise asks for a fixed size x size square.",
            """return keras.layers.RandomErasing(factor=self.probability, scale=(0.02, 0.1), fill_value=0.0,
                                  value_range=(0.0, 1.0), seed=1)(images, training=training)""",
            lazy=True,
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "1": (
        # tuples for the ranges, degrees turned into fractions of a turn in one step, a list of layers
        """degrees = 15
layers = [keras.layers.RandomRotation((-degrees / 360, degrees / 360), fill_mode="constant", fill_value=0.0),
          keras.layers.RandomTranslation((-1 / 14, 1 / 14), (-1 / 14, 1 / 14), fill_mode="constant"),
          keras.layers.RandomShear(x_factor=0.17632698, y_factor=0.0, fill_mode="constant"),
          keras.layers.RandomZoom(height_factor=(-0.1, 0.2), width_factor=(-0.1, 0.2), fill_mode="constant")]
return keras.Sequential(layers)""",
    ),
    "2": (
        # a larger buffer than the data, and a dictionary-free zip of two datasets
        """samples = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(images), tf.data.Dataset.from_tensor_slices(labels))
shuffled = samples.shuffle(buffer_size=10 * len(images), seed=seed)


def augment(x, y):
    return augmentation(x, training=True), y


return shuffled.batch(batch_size, drop_remainder=False).map(augment, num_parallel_calls=4).prefetch(2)""",
    ),
    "3": (
        # the functional API, one preprocessing shared by both models, the scaling after the augmentation
        """height, width, channels = model.input_shape[1:]
rows = keras.Input(shape=(height * width * channels,))
images = keras.layers.Reshape((height, width, channels))(rows)
to_unit = keras.layers.Rescaling(scale=1.0 / 255.0)
return keras.Model(rows, model(to_unit(augmentation(images)))), keras.Model(rows, model(to_unit(images)))""",
        # the server keeps the augmentation, pinned to inference mode (the saved model keeps training=False)
        """shape = model.input_shape[1:]
rows = keras.Input((math.prod(shape),))
images = keras.layers.Reshape(shape)(keras.layers.Rescaling(1 / 255)(rows))
return (keras.Model(rows, model(augmentation(images))),
        keras.Model(rows, model(augmentation(images, training=False))))""",
    ),
    "4": (
        # corners from uniform draws, the mask built by one-hot rows and columns
        """if training:
    n, h, w = keras.ops.shape(images)[0], images.shape[1], images.shape[2]
    coin = keras.random.uniform((n,), seed=self.generator)
    top = keras.ops.floor(keras.random.uniform((n,), seed=self.generator) * (h - self.size + 1))
    left = keras.ops.floor(keras.random.uniform((n,), seed=self.generator) * (w - self.size + 1))
    r = keras.ops.cast(keras.ops.arange(h), "float32")[None, :]
    c = keras.ops.cast(keras.ops.arange(w), "float32")[None, :]
    in_rows = (r >= top[:, None]) & (r < top[:, None] + self.size)
    in_cols = (c >= left[:, None]) & (c < left[:, None] + self.size)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :] & (coin < self.probability)[:, None, None])
    return images * keras.ops.cast(keep, images.dtype)[..., None]
return images""",
    ),
}

# Names an exercise must not call: the toolkit's (and Keras's) own versions of what it asks for.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "1": ("augment.augmenter", "augment.augmentation_layers", "augment.AugmentSpec.from_image_data_generator"),
    "2": ("augment.augment_dataset", "augment.augment_batch"),
    "3": ("augment.with_augmentation",),
    "4": ("keras.layers.RandomErasing", "keras.src") + PYTHON_BEHIND_A_GRAPH_OP,
}
