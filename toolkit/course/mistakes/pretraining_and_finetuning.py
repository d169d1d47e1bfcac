"""Chapter 6's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            'The first k of each class: no random draw at all.',
            'return np.sort(np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)]))',
        ),
        Mistake(
            'A fresh generator for every class.',
            """return np.sort(np.concatenate([np.random.default_rng(seed).choice(np.flatnonzero(y == c), k, replace=False)
                               for c in np.unique(y)]))""",
        ),
    ),
    "2": (
        Mistake(
            'Forgets to freeze the features, so training changes the pretrained model.',
            """features = keras.Model(pretrained.inputs, pretrained.layers[-2].output)
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
        Mistake(
            'Probes the old logits instead of the features.',
            """features = keras.Model(pretrained.inputs, pretrained.output)
features.trainable = False
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
    ),
    "3": (
        Mistake(
            'Unfreezes everything, batch normalization included.',
            """features.trainable = True
return features""",
        ),
        Mistake(
            'Looks only at the top level, and misses the batch normalization inside the nested model.',
            """features.trainable = True
for layer in features.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
return features""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
}
