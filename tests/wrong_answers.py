"""Wrong answers a learner plausibly writes: two for every exercise of every chapter.

``WRONG[chapter][exercise]`` holds two answers. Each answer replaces the exercise cell's solution
blocks (``### BEGIN SOLUTION`` ... ``### END SOLUTION``): a string for a cell with one block, a tuple
of strings for a cell with several. ``tests/test_chapters.py`` grades a submission made of every
exercise's first wrong answer, then one of every second, and each exercise must FAIL.
"""

from __future__ import annotations

WRONG: dict[str, dict[str, tuple]] = {
    "01_batch_vs_online": {
        "1": (
            # train, then test: the learner has already seen the label it is scored on
            """correct = 0
for x, y in zip(xs, ys):
    learner.learn_one(x, y)
    correct += learner.predict_one(x) == y
return correct / len(xs)""",
            # leaves out the predictions made before anything was learned
            """correct = total = 0
for x, y in zip(xs, ys):
    guess = learner.predict_one(x)
    if guess is not None:
        correct += guess == y
        total += 1
    learner.learn_one(x, y)
return correct / total""",
        ),
        "2": (
            # forgets the labels still in flight when the stream ends
            """for t in range(n):
    yield ("predict", t)
    if t - delay >= 0:
        yield ("learn", t - delay)""",
            # learns before it predicts
            """for t in range(n):
    if t - delay >= 0:
        yield ("learn", t - delay)
    yield ("predict", t)
for s in range(max(n - delay, 0), n):
    yield ("learn", s)""",
        ),
        "3": (
            # returns the loss after the update, not before
            """with tf.GradientTape() as tape:
    value = tk.default_loss()(y, model(x, training=True))
grads = tape.gradient(value, model.trainable_variables)
optimizer.apply_gradients(zip(grads, model.trainable_variables))
return float(tk.default_loss()(y, model(x, training=False)))""",
            # computes the gradients and never applies them
            """with tf.GradientTape() as tape:
    value = tk.default_loss()(y, model(x, training=True))
tape.gradient(value, model.trainable_variables)
return float(value)""",
        ),
        "4": (
            # the whole batch in one tape: the right numbers, without the memory saving
            """with tf.GradientTape() as tape:
    value = tk.default_loss()(y, model(x, training=True))
return tape.gradient(value, model.trainable_variables)""",
            # sums the micro-batch gradients and forgets to average them
            """total = [tf.zeros_like(v) for v in model.trainable_variables]
for start in range(0, len(x), micro_batch):
    with tf.GradientTape() as tape:
        value = tk.default_loss()(y[start:start + micro_batch], model(x[start:start + micro_batch], training=True))
    total = [t + g for t, g in zip(total, tape.gradient(value, model.trainable_variables))]
return total""",
        ),
        "5": (
            # compares with the previous window instead of the mean of all earlier ones
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < window_accuracies[index - 1] - drop:
        return index
return None""",
            # includes the window itself in the mean, and flags a drop of exactly `drop`
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] <= np.mean(window_accuracies[:index + 1]) - drop:
        return index
return None""",
        ),
    },
}
WRONG["02_optimizers"] = {
    "1": (
        # no bias correction: the first steps are about 3x too large
        """g = keras.ops.cast(gradient, variable.dtype)
m, v = self.m[self._get_variable_index(variable)], self.v[self._get_variable_index(variable)]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(v, self.beta_2 * v + (1 - self.beta_2) * keras.ops.square(g))
self.assign_sub(variable, learning_rate * m / (keras.ops.sqrt(v) + self.epsilon))""",
        # the seed's version: beta_1 and beta_2 used as learning rates, no square root
        """g = keras.ops.cast(gradient, variable.dtype)
t = keras.ops.cast(self.iterations + 1, variable.dtype)
m, v = self.m[self._get_variable_index(variable)], self.v[self._get_variable_index(variable)]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(v, self.beta_2 * v + (1 - self.beta_2) * keras.ops.square(g))
m_hat = m / (1 - keras.ops.power(self.beta_1, t))
v_hat = v / (1 - keras.ops.power(self.beta_2, t))
self.assign_sub(variable, learning_rate * m_hat / (v_hat + self.epsilon))""",
    ),
    "2": (
        # Keras's form, as shown in section 1: epsilon inside the root, the rate inside the buffer
        """g = keras.ops.cast(gradient, variable.dtype)
index = self._get_variable_index(variable)
v, b = self.v[index], self.b[index]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
self.assign(b, self.momentum * b + learning_rate * g / keras.ops.sqrt(v + self.epsilon))
self.assign_sub(variable, b)""",
        # forgets the momentum buffer: plain RMSprop in PyTorch's form
        """g = keras.ops.cast(gradient, variable.dtype)
v = self.v[self._get_variable_index(variable)]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
self.assign_sub(variable, learning_rate * g / (keras.ops.sqrt(v) + self.epsilon))""",
    ),
    "3": (
        # a smaller constant rate is not a schedule
        "return 0.02",
        # counts epochs, not steps: the rate is gone after 4 samples
        "return keras.optimizers.schedules.CosineDecay(0.05, decay_steps=4)",
    ),
    "4": (
        # off by a factor of two: 1 / lambda_max is where the fastest direction converges in one step
        """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(1.0 / np.max(np.linalg.eigvalsh(hessian.numpy())))""",
        # the smallest eigenvalue: the slowest direction, not the one that diverges first
        """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(2.0 / np.min(np.linalg.eigvalsh(hessian.numpy())))""",
    ),
    "5": (
        # sigma^2 / B: sampling with replacement, so a full batch still looks noisy
        """mean = per_sample_gradients.mean(axis=0)
return float(np.mean(np.sum((per_sample_gradients - mean) ** 2, axis=1)) / batch_size)""",
        # N instead of N - 1 in the correction
        """n = len(per_sample_gradients)
mean = per_sample_gradients.mean(axis=0)
spread = np.mean(np.sum((per_sample_gradients - mean) ** 2, axis=1))
return float(spread / batch_size * (n - batch_size) / n)""",
    ),
}
WRONG["03_data_augmentation"] = {
    "1": (
        # ImageDataGenerator's numbers pasted in: degrees as the rotation factor, pixels as the shift
        """return keras.Sequential([
    keras.layers.RandomRotation(15, fill_mode="constant"),
    keras.layers.RandomTranslation(0.3, 0.3, fill_mode="constant"),
    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),
    keras.layers.RandomZoom((-0.1, 0.2), (-0.1, 0.2), fill_mode="constant"),
])""",
        # the integer shift range read as +-3 pixels: ImageDataGenerator draws whole pixels in {-2, ..., 2}
        """return keras.Sequential([
    keras.layers.RandomRotation(15 / 360, fill_mode="constant"),
    keras.layers.RandomTranslation(3 / 28, 3 / 28, fill_mode="constant"),
    keras.layers.RandomShear(x_factor=math.tan(math.radians(10)), y_factor=0.0, fill_mode="constant"),
    keras.layers.RandomZoom((-0.1, 0.2), (-0.1, 0.2), fill_mode="constant"),
])""",
    ),
    "2": (
        # shuffles whole batches: the same samples always travel together
        """return (tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
        # calls the layers without training=True: at inference augmentation layers do nothing
        """return (tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda x, y: (augmentation(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE))""",
    ),
    "3": (
        # the order turned around: augments the model's outputs instead of its inputs
        """return keras.Sequential([keras.Input(model.input_shape[1:]), model, augmentation])""",
        # trains a copy, so the model passed in never learns
        """copy = keras.models.clone_model(model)
return keras.Sequential([keras.Input(model.input_shape[1:]), augmentation, copy])""",
    ),
    "4": (
        # erases at inference too
        """count, height, width = keras.ops.shape(images)[0], images.shape[1], images.shape[2]
erase = keras.random.uniform((count,), seed=self.generator) < self.probability
top = keras.random.randint((count, 1, 1), 0, height - self.size + 1, seed=self.generator)
left = keras.random.randint((count, 1, 1), 0, width - self.size + 1, seed=self.generator)
rows = keras.ops.arange(height)[None, :, None]
cols = keras.ops.arange(width)[None, None, :]
inside = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)
mask = inside & erase[:, None, None]
return keras.ops.where(mask[..., None], keras.ops.zeros_like(images), images)""",
        # one position for the whole batch
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
}
WRONG["04_distributed_training"] = {
    "1": (
        # every worker shuffles with a seed of its own, so the workers disagree on the batches
        """order = np.random.default_rng(seed + worker_index).permutation(len(x))
share = global_batch // num_workers
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index * share:start + (worker_index + 1) * share]
    batches.append((x[mine], y[mine]))
return batches""",
        # takes every num_workers-th sample of the batch instead of a contiguous slice
        """order = np.random.default_rng(seed).permutation(len(x))
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index:start + global_batch:num_workers]
    batches.append((x[mine], y[mine]))
return batches""",
    ),
    "2": (
        # every replica sends its whole vector to every other one: right sums, (R - 1) N numbers each
        """total = np.sum([np.asarray(v, dtype=np.float64) for v in vectors], axis=0)
return [total.copy() for _ in vectors], [len(vectors[0]) * (len(vectors) - 1)] * len(vectors)""",
        # stops after the reduce-scatter: each replica holds only one summed chunk
        """replicas = len(vectors)
chunks = [np.array_split(np.asarray(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
for step in range(replicas - 1):
    messages = [(i, (i - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] += payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
    ),
    "3": (
        # averages over the replica's own slice: the summed gradients come out R times too large
        """with tf.GradientTape() as tape:
    loss = tf.reduce_mean(per_example(y, ex_model(x, training=True)))
ex_optimizer.apply_gradients(zip(tape.gradient(loss, ex_model.trainable_variables), ex_model.trainable_variables))
return loss""",
        # the positional trap of section 3: global_batch is read as sample_weight
        """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, ex_model(x, training=True)), global_batch)
ex_optimizer.apply_gradients(zip(tape.gradient(loss, ex_model.trainable_variables), ex_model.trainable_variables))
return loss""",
    ),
}
WRONG["05_regularization_and_tuning"] = {
    "1": (
        # the original, non-inverted dropout: no rescaling in training, scaled down at inference instead
        """if not training:
    return inputs * (1 - self.rate)
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs, keras.ops.zeros_like(inputs))""",
        # keeps a unit with probability `rate` instead of dropping it with that probability
        """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) < self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
    ),
    "2": (
        # waits one epoch too many before stopping
        """best, best_epoch, wait = float("inf"), 0, 0
for epoch, loss in enumerate(val_losses, start=1):
    if loss < best - min_delta:
        best, best_epoch, wait = loss, epoch, 0
    else:
        wait += 1
        if wait > patience:
            return epoch, best_epoch
return len(val_losses), best_epoch""",
        # ignores min_delta
        """best, best_epoch, wait = float("inf"), 0, 0
for epoch, loss in enumerate(val_losses, start=1):
    if loss < best:
        best, best_epoch, wait = loss, epoch, 0
    else:
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
return len(val_losses), best_epoch""",
    ),
    "3": (
        # a grid of learning rates instead of a log-scale range
        """rate = hp.Choice("learning_rate", [1e-4, 1e-3, 1e-2])
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),),
                      dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        # the seed's pairing: a softmax output with a loss that expects logits
        """rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(hp.Int("width", 32, 256, step=32), activation="relu"),
                          keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
    ),
}
WRONG["06_pretraining_and_finetuning"] = {
    "1": (
        # the first k of each class: no random draw at all
        "return np.sort(np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)]))",
        # a fresh generator for every class
        """return np.sort(np.concatenate([np.random.default_rng(seed).choice(np.flatnonzero(y == c), k, replace=False)
                               for c in np.unique(y)]))""",
    ),
    "2": (
        # forgets to freeze the features, so training changes the pretrained model
        """features = keras.Model(pretrained.inputs, pretrained.layers[-2].output)
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        # probes the old logits instead of the features
        """features = keras.Model(pretrained.inputs, pretrained.output)
features.trainable = False
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
    ),
    "3": (
        # unfreezes everything, batch normalization included
        """features.trainable = True
return features""",
        # looks only at the top level, and misses the batch normalization inside the nested model
        """features.trainable = True
for layer in features.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
return features""",
    ),
}

# Issue 20: wrong answers that learners tried and that passed the earlier checks, then right answers written
# differently that failed them. ``test_chapters.py`` grades submission k made of every exercise's k-th answer
# here (the solution where an exercise has fewer), at a check seed drawn for the run.
MORE_WRONG: dict[str, dict[str, tuple]] = {
    "01_batch_vs_online": {
        "1": (
            # a fresh learner made inside the function: the one passed in is ignored
            """learner = NearestCentroid()
correct = 0
for x, y in zip(xs, ys):
    correct += learner.predict_one(x) == y
    learner.learn_one(x, y)
return correct / len(xs)""",
            # counts the prediction None as class 0
            """correct = 0
for x, y in zip(xs, ys):
    guess = learner.predict_one(x)
    correct += (0 if guess is None else guess) == y
    learner.learn_one(x, y)
return correct / len(xs)""",
        ),
        "3": (
            # compile + train_on_batch instead of a tape
            """model.compile(optimizer=optimizer, loss=tk.default_loss())
return float(model.train_on_batch(x, y))""",
        ),
        "4": (
            # every micro-batch in one tape: the right numbers, without the memory saving
            """with tf.GradientTape() as tape:
    parts = [tk.default_loss()(y[s:s + micro_batch], model(x[s:s + micro_batch], training=True))
             for s in range(0, len(x), micro_batch)]
    value = tf.add_n(parts) / len(parts)
return tape.gradient(value, model.trainable_variables)""",
        ),
        "5": (
            # the median of the earlier windows
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.median(window_accuracies[:index]) - drop:
        return index
return None""",
            # the max of the earlier windows
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.max(window_accuracies[:index]) - drop:
        return index
return None""",
            # the mean of only the last three windows
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.mean(window_accuracies[max(0, index - 3):index]) - drop:
        return index
return None""",
        ),
    },
}

RIGHT: dict[str, dict[str, tuple]] = {
    "01_batch_vs_online": {
        "1": ("""hits = []
for x, y in zip(xs, ys):
    hits.append(learner.predict_one(x) == y)
    learner.learn_one(x, y)
return float(np.mean(hits))""",),
        # yields NumPy integers
        "2": ("""for t in np.arange(n):
    yield ("predict", t)
    if t >= delay:
        yield ("learn", t - delay)
yield from (("learn", s) for s in np.arange(max(n - delay, 0), n))""",),
        "3": ("""loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
with tf.GradientTape() as tape:
    value = loss_fn(y, model(x, training=True))
optimizer.apply(tape.gradient(value, model.trainable_variables), model.trainable_variables)
return value.numpy().item()""",),
        "4": ("""sums = None
for start in range(0, len(x), micro_batch):
    xb, yb = x[start:start + micro_batch], y[start:start + micro_batch]
    with tf.GradientTape() as tape:
        value = tk.default_loss()(yb, model(xb, training=True)) * len(xb)
    grads = tape.gradient(value, model.trainable_variables)
    sums = grads if sums is None else [a + b for a, b in zip(sums, grads)]
return [g / len(x) for g in sums]""",),
        # mean - acc > drop: a float tie at [0.8, 0.5, ...] failed it before
        "5": ("""for index in range(1, len(window_accuracies)):
    if sum(window_accuracies[:index]) / index - window_accuracies[index] > drop:
        return index
return None""",),
    },
}

MORE_WRONG["02_optimizers"] = {
    # 2 / the largest row sum of |H| (the infinity norm): equal to 2 / lambda_max only when rows sum to it
    "4": ("""with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(2.0 / np.abs(hessian.numpy()).sum(axis=1).max())""",),
}
RIGHT["02_optimizers"] = {
    # returns a NumPy scalar (a float subclass), not a float: its repr is np.float64(...)
    "4": ("""with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
return np.float64(2.0) / np.linalg.eigvalsh(outer.jacobian(grad, theta).numpy()).max()""",),
}

MORE_WRONG["04_distributed_training"] = {
    # drops the last global batch even when it is full
    "1": ("""order = np.random.default_rng(seed).permutation(len(x))
share = global_batch // num_workers
batches = []
for start in range(0, len(x) - global_batch, global_batch):
    mine = order[start + worker_index * share:start + (worker_index + 1) * share]
    batches.append((x[mine], y[mine]))
return batches""",),
    "2": (
        # equal chunks of len // replicas: the tail of an uneven vector is lost; and it works on the caller's vectors
        """replicas = len(vectors)
size = len(vectors[0]) // replicas
chunks = [[v[k * size:(k + 1) * size] for k in range(replicas)] for v in vectors]
sent = [0] * replicas
for step in range(replicas - 1):
    messages = [(i, (i - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] += payload
        sent[i] += len(payload)
for step in range(replicas - 1):
    messages = [(i, (i + 1 - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] = payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
    ),
}
