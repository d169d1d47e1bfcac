"""Chapter 6's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

_LEAVES = """def leaves(layer):
    if isinstance(layer, keras.Model):
        return [leaf for inner in layer.layers for leaf in leaves(inner)]
    return [layer]

"""

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            "This draws each budget on its own, so the budgets are not nested: draw one order per class and take "
            "every budget from its start.",
            """rng = np.random.default_rng(seed)
train = {k: np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)]))
         for k in budgets}
validation = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), val_per_class, replace=False)
                                     for c in np.unique(y)]))
return train, validation""",
        ),
        Mistake(
            "This takes the first samples of each class, with no random draw at all: shuffle each class's indices "
            "with the seeded generator first.",
            """train, validation = {k: [] for k in budgets}, []
for c in np.unique(y):
    members = np.flatnonzero(y == c)
    validation.append(members[:val_per_class])
    for k in budgets:
        train[k].append(members[val_per_class:val_per_class + k])
return {k: np.sort(np.concatenate(v)) for k, v in train.items()}, np.sort(np.concatenate(validation))""",
        ),
        Mistake(
            "This makes a fresh generator for every class, so every class gets the same draw: make one generator "
            "and draw every class from it.",
            """train, validation = {k: [] for k in budgets}, []
for c in np.unique(y):
    members = np.random.default_rng(seed).permutation(np.flatnonzero(y == c))
    validation.append(members[:val_per_class])
    for k in budgets:
        train[k].append(members[val_per_class:val_per_class + k])
return {k: np.sort(np.concatenate(v)) for k, v in train.items()}, np.sort(np.concatenate(validation))""",
        ),
        Mistake(
            "Seeding class c with seed + c makes seed s + 1 repeat the draws of seed s, one class along, so the runs "
            "of a seed sweep are not independent: draw every class from one generator made from the seed.",
            """train, validation = {k: [] for k in budgets}, []
for c in np.unique(y):
    members = np.random.default_rng(seed + int(c)).permutation(np.flatnonzero(y == c))
    validation.append(members[:val_per_class])
    for k in budgets:
        train[k].append(members[val_per_class:val_per_class + k])
return {k: np.sort(np.concatenate(v)) for k, v in train.items()}, np.sort(np.concatenate(validation))""",
        ),
        Mistake(
            "This draws the validation set apart from the training budgets, so the two overlap: take the validation "
            "samples and the budgets from one draw per class, without sharing any.",
            """rng = np.random.default_rng(seed)
train, validation = {k: [] for k in budgets}, []
for c in np.unique(y):
    members = np.flatnonzero(y == c)
    order = rng.permutation(members)
    validation.append(rng.choice(members, val_per_class, replace=False))
    for k in budgets:
        train[k].append(order[:k])
return {k: np.sort(np.concatenate(v)) for k, v in train.items()}, np.sort(np.concatenate(validation))""",
        ),
        Mistake(
            "This calls the toolkit's `few_labels` for each budget, which draws them apart, neither nested nor kept "
            "out of the validation set: draw one order per class yourself.",
            """train = {k: np.sort(transfer.few_labels(np.arange(len(y)), y, k, seed)[0]) for k in budgets}
return train, np.sort(transfer.few_labels(np.arange(len(y)), y, val_per_class, seed + 1)[0])""",
            lazy=True,
        ),
    ),
    "2": (
        Mistake(
            "This forgets to freeze the features, so training changes the pretrained model: set the features' "
            "`trainable` to False.",
            """features = keras.Model(pretrained.inputs, pretrained.layers[-2].output)
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
        Mistake(
            "This probes the old logits instead of the features: read the second-to-last layer's output.",
            """features = keras.Model(pretrained.inputs, pretrained.output)
features.trainable = False
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
        Mistake(
            "This calls `transfer.with_new_head`, which the exercise forbids and which copies the network: build the "
            "probe on the pretrained model's own layers.",
            """return transfer.with_new_head(pretrained, num_classes)""",
            lazy=True,
        ),
        Mistake(
            "This clones the architecture without its weights, so the probe reads random features: reuse the "
            "pretrained layers themselves.",
            """copy = keras.models.clone_model(pretrained)
features = keras.Model(copy.inputs, copy.layers[-2].output)
features.trainable = False
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
        Mistake(
            "This copies the pretrained weights into a clone, so the probe holds a second copy and no longer follows "
            "the pretrained model: build the probe on the pretrained layers themselves.",
            """copy = keras.models.clone_model(pretrained)
copy.set_weights(pretrained.get_weights())
features = keras.Model(copy.inputs, copy.layers[-2].output)
features.trainable = False
return keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])""",
        ),
        Mistake(
            "This freezes the whole probe, new layer included, so nothing trains: freeze only the features.",
            """features = keras.Model(pretrained.inputs, pretrained.layers[-2].output)
probe = keras.Sequential([keras.Input(pretrained.input_shape[1:]), features, keras.layers.Dense(num_classes)])
probe.trainable = False
return probe""",
        ),
    ),
    "3": (
        Mistake(
            "This unfreezes every layer, batch normalization included: freeze the BatchNormalization layers and all "
            "but the last `n` layers that learn.",
            """features.trainable = True
return features""",
        ),
        Mistake(
            "This looks only at the top level, so a nested model counts as one layer and the batch normalization "
            "inside it stays trainable: look inside nested models.",
            """features.trainable = True
learning = [layer for layer in features.layers if layer.weights
            and not isinstance(layer, keras.layers.BatchNormalization)]
for layer in features.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
for position, layer in enumerate(learning):
    layer.trainable = position >= len(learning) - n
return features""",
        ),
        Mistake(
            "This looks only two levels deep, so layers in models nested deeper are missed: recurse into nested "
            "models at every depth.",
            """features.trainable = True
flat = []
for layer in features.layers:
    flat.extend(layer.layers if isinstance(layer, keras.Model) else [layer])
learning = [layer for layer in flat if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]
for layer in flat:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
for position, layer in enumerate(learning):
    layer.trainable = position >= len(learning) - n
return features""",
        ),
        Mistake(
            "This calls the toolkit's `transfer.unfreeze`, which unfreezes every layer but batch normalization: "
            "unfreeze only the last `n` layers that learn.",
            """return transfer.unfreeze(features)""",
            lazy=True,
        ),
        Mistake(
            "This counts the batch normalization layers among the `n`: count only the other layers with weights.",
            _LEAVES + """features.trainable = True
learning = [layer for layer in leaves(features) if layer.weights]
for position, layer in enumerate(learning):
    layer.trainable = position >= len(learning) - n and not isinstance(layer, keras.layers.BatchNormalization)
return features""",
        ),
        Mistake(
            "This leaves the model itself frozen, and a frozen model hides the weights of every layer inside it: "
            "make the containers trainable, then freeze layers one by one.",
            _LEAVES + """learning = [layer for layer in leaves(features) if layer.weights
            and not isinstance(layer, keras.layers.BatchNormalization)]
for position, layer in enumerate(learning):
    layer.trainable = position >= len(learning) - n
return features""",
        ),
        Mistake(
            "This unfreezes the first `n` layers, the most generic ones, instead of the last `n`.",
            _LEAVES + """features.trainable = True
learning = [layer for layer in leaves(features) if layer.weights
            and not isinstance(layer, keras.layers.BatchNormalization)]
for layer in leaves(features):
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
for position, layer in enumerate(learning):
    layer.trainable = position < n
return features""",
        ),
        Mistake(
            "This freezes every normalization layer, LayerNormalization included: only batch normalization keeps "
            "statistics that fine-tuning would overwrite.",
            _LEAVES + """features.trainable = True
normalization = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
learning = [layer for layer in leaves(features) if layer.weights and not isinstance(layer, normalization)]
for layer in leaves(features):
    if isinstance(layer, normalization):
        layer.trainable = False
for position, layer in enumerate(learning):
    layer.trainable = position >= len(learning) - n
return features""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "1": (
        """rng = np.random.default_rng(seed)
top = max(budgets)
order = {c: np.flatnonzero(y == c)[rng.permutation(int(np.sum(y == c)))] for c in sorted(set(y.tolist()))}
validation = np.sort(np.concatenate([o[top:top + val_per_class] for o in order.values()]))
return {k: np.sort(np.concatenate([o[:k] for o in order.values()])) for k in budgets}, validation""",
        # one independent stream per class, spawned from the seed (NumPy's advice for parallel streams)
        """classes = np.unique(y)
streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(len(classes))]
orders = [stream.permutation(np.flatnonzero(y == c)) for c, stream in zip(classes, streams)]
train = {k: np.sort(np.concatenate([order[val_per_class:val_per_class + k] for order in orders])) for k in budgets}
return train, np.sort(np.concatenate([order[:val_per_class] for order in orders]))""",
    ),
    "2": (
        """inputs = keras.Input(pretrained.input_shape[1:])
x = inputs
for layer in pretrained.layers[:-1]:
    layer.trainable = False
    x = layer(x)
return keras.Model(inputs, keras.layers.Dense(num_classes)(x))""",
    ),
    "3": (
        """features.trainable = True
stack, flat = [features], []
while stack:
    layer = stack.pop(0)
    if isinstance(layer, keras.Model):
        stack = list(layer.layers) + stack
    else:
        flat.append(layer)
norms = [layer for layer in flat if isinstance(layer, keras.layers.BatchNormalization)]
others = [layer for layer in flat if layer.weights and layer not in norms]
for layer in norms:
    layer.trainable = False
for layer in others[:max(len(others) - n, 0)]:
    layer.trainable = False
for layer in others[max(len(others) - n, 0):]:
    layer.trainable = True
return features""",
    ),
}

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "1": ("transfer.few_labels",),
    "2": ("transfer.with_new_head", "transfer.feature_extractor"),
    "3": ("transfer.unfreeze",),
}
