"""Subprocess for the MirroredStrategy tests: logical CPU devices must be set before TensorFlow
starts, so each run gets a fresh process. ``python tests/distributed_cases.py mirrored|too-late|mwms-fit``
prints one JSON line of results."""

from __future__ import annotations

import json
import sys


def mirrored() -> dict:
    """2 replicas against one device, on the same global batches, for every training path."""
    import toolkit as tk

    strategy = tk.distribute.get_strategy(cpu_replicas=2)
    import keras

    from tests.helpers import max_weight_difference

    tk.seed_everything(0)
    data = tk.load_mnist("subset")
    x, y = data.x_train[:1024], data.y_train[:1024]
    results = {"replicas": strategy.num_replicas_in_sync}

    def twins(make_optimizer, **model_args):
        single = tk.models.mlp(seed=1, **model_args)
        with strategy.scope():
            mirrored_model, optimizer = tk.models.mlp(seed=1, **model_args), make_optimizer()
        return single, mirrored_model, optimizer

    single, mirrored_model, optimizer = twins(lambda: keras.optimizers.Adam(1e-3))
    tk.fit_batch(single, (x, y), optimizer=keras.optimizers.Adam(1e-3), batch_size=64, shuffle=False, verbose=0)
    tk.fit_batch(mirrored_model, (x, y), optimizer=optimizer, batch_size=64, shuffle=False, verbose=0,
                 strategy=strategy)
    results["fit"] = max_weight_difference(single, mirrored_model)

    single, mirrored_model, optimizer = twins(lambda: keras.optimizers.Adam(1e-3))
    tk.train_minibatch(single, (x, y), optimizer=keras.optimizers.Adam(1e-3), batch_size=64, epochs=2, verbose=0)
    history = tk.train_minibatch(mirrored_model, (x, y), optimizer=optimizer, batch_size=64, epochs=2, verbose=0,
                                 strategy=strategy)
    results["custom_loop"] = max_weight_difference(single, mirrored_model)
    results["custom_loop_updates"] = history.last("updates")

    def regularised():
        hidden = keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01),
                                    kernel_initializer=keras.initializers.GlorotUniform(3))
        return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), hidden,
                                 keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(4))])

    single = regularised()
    with strategy.scope():
        mirrored_model = regularised()
    tk.train_minibatch(single, (x, y), optimizer="sgd", batch_size=64, shuffle=False, verbose=0)
    tk.train_minibatch(mirrored_model, (x, y), optimizer="sgd", batch_size=64, shuffle=False, verbose=0,
                       strategy=strategy)
    results["regularised"] = max_weight_difference(single, mirrored_model)

    single, mirrored_model, optimizer = twins(lambda: keras.optimizers.SGD(0.05))
    stream = tk.Stream.from_arrays(x, y, shuffle=False)
    a = tk.train_online(single, stream, optimizer=keras.optimizers.SGD(0.05), batch_size=8, verbose=0)
    b = tk.train_online(mirrored_model, stream, optimizer=optimizer, batch_size=8, verbose=0, strategy=strategy)
    results["online"] = max_weight_difference(single, mirrored_model)
    results["online_prequential_gap"] = max(abs(p - q) for p, q in zip(a.history["loss"], b.history["loss"]))

    results.update(shards_and_clipping(strategy, x, y))
    errors = {}
    for name, call in {
        "model_outside_scope": lambda: tk.train_minibatch(tk.models.mlp(), (x, y), strategy=strategy, verbose=0),
        "optimizer_outside_scope": lambda: tk.train_minibatch(mirrored_model, (x, y), strategy=strategy, verbose=0,
                                                              optimizer=keras.optimizers.SGD(0.1)),
        "uneven_batch": lambda: tk.train_online(mirrored_model, (x, y), batch_size=1, strategy=strategy, verbose=0),
        "fit_outside_scope": lambda: tk.fit_batch(tk.models.mlp(), (x, y), strategy=strategy, verbose=0),
    }.items():
        try:
            call()
        except ValueError as error:
            errors[name] = str(error)
    results["errors"] = errors
    # A diverging update from finite gradients (an infinite learning rate), under the strategy: the run stops
    # after that batch (MirroredStrategy cannot synchronise an update inside a tf.cond), and says so.
    with strategy.scope():
        diverging, sgd = tk.models.mlp(seed=2), keras.optimizers.SGD(float("inf"))
    start = diverging.get_weights()
    try:
        tk.train_minibatch(diverging, (x, y), optimizer=sgd, batch_size=64, verbose=0, strategy=strategy)
        results["diverging_stopped"] = False
    except tk.NonFiniteLossError as error:
        results["diverging_stopped"] = "the weights hold NaN/inf" in str(error)
    results["diverging_kept"] = all(bool((a == b).all()) for a, b in zip(start, diverging.get_weights()))
    return results


def shards_and_clipping(strategy, x, y) -> dict:
    """What each replica receives, batch statistics over a partial last batch, and clipping: two replicas
    against one device (issue: multi-GPU input as TensorFlow means it)."""
    import keras
    import tensorflow as tf

    import toolkit as tk
    from tests.helpers import max_weight_difference

    class RowsSeen(keras.layers.Layer):
        """Records the most rows one call received in training (on the first replica)."""

        def build(self, input_shape):
            self.rows = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                        aggregation="only_first_replica")

        def call(self, inputs, training=False):
            if training:
                self.rows.assign(tf.maximum(self.rows, tf.cast(tf.shape(inputs)[0], "float32")))
            return inputs

    results = {}
    with strategy.scope():
        watched = keras.Sequential([keras.Input((28, 28)), RowsSeen(), *tk.models.mlp(seed=1).layers])
    tk.train_minibatch(watched, (x, y), optimizer="sgd", batch_size=64, verbose=0)
    results["rows_per_replica"] = float(watched.layers[0].rows.numpy())

    def normalised():
        init = keras.initializers.GlorotUniform(5)
        return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                 keras.layers.Dense(32, kernel_initializer=init),
                                 keras.layers.BatchNormalization(synchronized=True), keras.layers.ReLU(),
                                 keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(6))])

    single = normalised()
    with strategy.scope():
        replicated = normalised()
    part = (x[:1000], y[:1000])  # batches of 64: the last holds 40, 20 per replica
    tk.train_minibatch(single, part, optimizer=keras.optimizers.SGD(0.1), batch_size=64, shuffle=False, verbose=0)
    tk.train_minibatch(replicated, part, optimizer=keras.optimizers.SGD(0.1), batch_size=64, shuffle=False,
                       verbose=0)
    results["batchnorm_partial_batch"] = max_weight_difference(single, replicated)

    def clipped():
        return keras.optimizers.SGD(0.5, global_clipnorm=0.05)

    single = tk.models.mlp(seed=2)
    with strategy.scope():
        ours, keras_fit = tk.models.mlp(seed=2), tk.models.mlp(seed=2)
    tk.train_minibatch(single, (x, y), optimizer=clipped(), batch_size=64, shuffle=False, verbose=0)
    tk.train_minibatch(ours, (x, y), optimizer=clipped(), batch_size=64, shuffle=False, verbose=0)
    with strategy.scope():
        keras_fit.compile(optimizer=clipped(), loss=tk.default_loss())
    keras_fit.fit(x, y, batch_size=64, shuffle=False, verbose=0)
    results["clipped_toolkit"] = max_weight_difference(single, ours)
    results["clipped_keras_fit"] = max_weight_difference(single, keras_fit)
    return results


def too_late() -> dict:
    """Asking for logical CPU devices after TensorFlow has started."""
    import tensorflow as tf

    import toolkit as tk

    tf.constant(1.0) + 1  # TensorFlow starts here
    try:
        tk.distribute.get_strategy(cpu_replicas=3)
    except tk.errors.DistributionSetupError as error:
        return {"error": str(error)}
    return {"error": None}


def mwms_fit() -> dict:
    """fit_batch refuses MultiWorkerMirroredStrategy, naming the loop that works."""
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # no TF_CONFIG: a one-worker cluster
    import toolkit as tk

    with strategy.scope():
        model = tk.models.mlp()
    data = tk.load_mnist("subset")
    try:
        tk.fit_batch(model, (data.x_train[:64], data.y_train[:64]), strategy=strategy, verbose=0)
    except tk.errors.DistributionSetupError as error:
        return {"error": str(error)}
    return {"error": None}


if __name__ == "__main__":
    print(json.dumps({"mirrored": mirrored, "too-late": too_late, "mwms-fit": mwms_fit}[sys.argv[1]]()))
