"""Chapter 5's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            'The original, non-inverted dropout: no rescaling in training, scaled down at inference instead.',
            """if not training:
    return inputs * (1 - self.rate)
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) >= self.rate
return keras.ops.where(keep, inputs, keras.ops.zeros_like(inputs))""",
        ),
        Mistake(
            'Keeps a unit with probability `rate` instead of dropping it with that probability.',
            """if not training or self.rate == 0:
    return inputs
keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.generator) < self.rate
return keras.ops.where(keep, inputs / (1 - self.rate), keras.ops.zeros_like(inputs))""",
        ),
    ),
    "2": (
        Mistake(
            'Waits one epoch too many before stopping.',
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
            'Ignores min_delta.',
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
    ),
    "3": (
        Mistake(
            'A grid of learning rates instead of a log-scale range.',
            """rate = hp.Choice("learning_rate", [1e-4, 1e-3, 1e-2])
model = tk.models.mlp(hidden=(hp.Int("width", 32, 256, step=32),),
                      dropout=hp.Float("dropout", 0.0, 0.5, step=0.1), seed=0)
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
        Mistake(
            "The seed's pairing: a softmax output with a loss that expects logits.",
            """rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(hp.Int("width", 32, 256, step=32), activation="relu"),
                          keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(rate), loss=tk.default_loss(), metrics=["accuracy"])
return model""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
}
