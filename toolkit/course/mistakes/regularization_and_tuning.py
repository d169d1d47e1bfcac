"""Chapter 5's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import PYTHON_BEHIND_A_GRAPH_OP, Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            "This is the original, non-inverted dropout: divide the kept units by 1 - rate in training, and leave "
            "the inputs untouched at inference.",
            """if not training:
    return inputs * (1 - self.rate)
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs, keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This keeps a unit with probability `rate` instead of dropping it with that probability: drop where the "
            "uniform number is below `rate`.",
            """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) < self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This drops units when `training` is not given (None): only `training=True` means training, so test "
            "`if not training`.",
            """if training is False or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This draws the mask with NumPy, which ignores the layer's seed and runs only once when the step is "
            "compiled: draw it with `keras.random.uniform(..., seed=self.generator)`.",
            """if not training or self.rate == 0:
    return inputs
keep = np.random.default_rng().random(tuple(inputs.shape)) >= self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This forgets to scale the kept units: divide them by 1 - rate so that their expected value is unchanged.",
            """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs, keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This keeps a unit where its number is below 1 - rate, dropout's other common convention, but the "
            "exercise fixes one (the check supplies the numbers): drop the unit where its number is below `rate`.",
            """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) < 1 - self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This draws one mask for the whole batch, so every sample loses the same units: draw a number for every "
            "unit of every sample (the shape of the inputs).",
            """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs)[1:], seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            "This calls Keras's own dropout, which the exercise asks you to write: draw a uniform number per unit "
            "and drop the unit where it is below `rate`.",
            """if not training or self.rate == 0:
    return inputs
return keras.random.dropout(inputs, self.rate, seed=self.generator)""",
            lazy=True,
        ),
        Mistake(
            "This calls a Keras Dropout layer, which the exercise asks you to write, and whose seed is not the "
            "layer's: draw the mask from `self.generator` yourself.",
            """return keras.layers.Dropout(self.rate)(inputs, training=bool(training))""",
            lazy=True,
        ),
    ),
    "2": (
        Mistake(
            "This waits one epoch too many: stop at the epoch that makes `patience` epochs without improvement "
            "(`wait >= patience`).",
            """best, best_epoch, wait = float("inf"), 0, 0
for epoch, loss in enumerate(val_losses, start=1):
    if loss < best - min_delta:
        best, best_epoch, wait = loss, epoch, 0
    else:
        wait += 1
        if wait > patience:
            return epoch, best_epoch
return len(val_losses), best_epoch""",
        ),
        Mistake(
            "This ignores `min_delta`: an epoch improves only when its loss is more than `min_delta` below the best.",
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
        Mistake(
            "This compares each loss with the previous epoch's instead of the best so far: keep the best loss and "
            "measure improvement against it.",
            """previous, best, best_epoch, wait = float("inf"), float("inf"), 0, 0
for epoch, loss in enumerate(val_losses, start=1):
    if loss < best:
        best, best_epoch = loss, epoch
    if loss < previous - min_delta:
        wait = 0
    else:
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    previous = loss
return len(val_losses), best_epoch""",
        ),
        Mistake(
            "This counts epochs from 0: the exercise counts them from 1, as Keras's logs do.",
            """best, best_epoch, wait = float("inf"), 0, 0
for epoch, loss in enumerate(val_losses):
    if loss < best - min_delta:
        best, best_epoch, wait = loss, epoch, 0
    else:
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
return len(val_losses) - 1, best_epoch""",
        ),
    ),
    "3": (
        Mistake(
            "This declares a grid of learning rates instead of a log-scale range: use "
            "`hp.Float(..., sampling=\"log\")`.",
            """rate = hp.Choice("learning_rate", [1e-4, 1e-3, 1e-2])
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),),
                      dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This is the seed's pairing, a softmax output with a loss that expects logits: end the model with a "
            "linear layer.",
            """rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(hp.Int("width", 32, 256, step=32), activation="relu"),
                          keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This declares the learning rate but compiles Adam at its default: pass the tuned value to "
            "`keras.optimizers.Adam`.",
            """hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),),
                      dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This declares the dropout rate but never uses it: a hyperparameter the model ignores is tuned for "
            "nothing, so pass it to the model.",
            """rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
hp.Float("dropout", 0.0, 0.5, step=0.1)
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),), dropout=0.2, seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This declares the width but builds a fixed one: pass the tuned width to the hidden layer.",
            """rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
hp.Int("width", 32, 256, step=32)
model = tk.models.mlp(hidden=(128,), dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This samples the learning rate on a linear scale, so nearly every trial lands above 1e-3: use "
            "`sampling=\"log\"`.",
            """rate = hp.Float("learning_rate", 1e-4, 1e-2)
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),),
                      dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "This reuses the toolkit's `MLPHyperModel.build`, which declares other hyperparameters and compiles "
            "nothing: declare the three asked for and compile the model yourself.",
            """return tuning.MLPHyperModel(tuning.SearchSpace(learning_rate=(1e-4, 1e-2), batch_size=(64,), width=(32, 256),
                                              dropout=(0.0, 0.5))).build(hp)""",
            lazy=True,
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "1": (
        """mask = keras.ops.cast(keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate,
                      inputs.dtype)
return inputs * mask / (1 - self.rate) if training else inputs""",
        # float64 draws: another stream of numbers than float32's, the same dropout
        """if not training or self.rate == 0:
    return inputs
uniform = keras.random.uniform(tuple(inputs.shape), dtype="float64", seed=self.generator)
return keras.ops.where(uniform < self.rate, 0.0, inputs / (1 - self.rate))""",
    ),
    "2": (
        """best_loss, best_epoch, since = float("inf"), 0, 0
for epoch in range(1, len(val_losses) + 1):
    since = 0 if val_losses[epoch - 1] < best_loss - min_delta else since + 1
    if since == 0:
        best_loss, best_epoch = val_losses[epoch - 1], epoch
    elif since == patience:
        return epoch, best_epoch
return len(val_losses), best_epoch""",
    ),
    "3": (
        """width = hp.Int("width", min_value=32, max_value=256, step=32)
dropout = hp.Float("dropout", min_value=0.0, max_value=0.5, step=0.1)
learning_rate = hp.Float("learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(width, activation="relu"),
                          keras.layers.Dropout(dropout), keras.layers.Dense(10)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
return model""",
    ),
}

FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Keras's and TensorFlow's dropouts, under any name (keras.src is Keras's private code), and NumPy behind a graph op
    "1": ("keras.random.dropout", "keras.layers.Dropout", "tf.nn.dropout", "tf.nn.experimental.stateless_dropout",
          "keras.src") + PYTHON_BEHIND_A_GRAPH_OP,
    "2": ("keras.callbacks.EarlyStopping",),
}
