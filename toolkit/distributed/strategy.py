"""Distribution strategies, runnable without GPUs, and the checks that a model lives in one (chapter 4).

- ``get_strategy()``: a ``MirroredStrategy`` over every GPU or, without a GPU, over logical CPU
  devices, so data parallelism runs for real on a laptop, in CI and in free Colab.
- ``global_batch_size``, ``scale_learning_rate``, ``distribute_dataset``, ``tf_config``: the
  arithmetic and plumbing every data-parallel job needs.
- ``check_model_in_scope``, ``check_strategy_scope``, ``check_fit_strategy``: clear errors for a
  model or optimizer built outside ``strategy.scope()``, and for ``fit`` where it fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import keras
import tensorflow as tf

from toolkit.errors import DistributionSetupError

log = logging.getLogger(__name__)


def configure_cpu_replicas(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices; must run before TensorFlow initialises."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as error:
        existing = tf.config.get_logical_device_configuration(cpu) or [None]
        if len(existing) != count:
            raise DistributionSetupError(
                f"TensorFlow is already running with {len(existing)} logical CPU device(s), so the CPU cannot be "
                f"split into {count} now. Call tk.distribute.get_strategy() before anything else runs TensorFlow "
                "(right after the imports; in a notebook, restart the kernel first)."
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")][:count]


def get_strategy(devices: list[str] | None = None, cpu_replicas: int = 2) -> tf.distribute.MirroredStrategy:
    """A ``MirroredStrategy`` over ``devices``, else every GPU, else ``cpu_replicas`` logical CPU
    devices (configured first; call this before TensorFlow runs anything). Logs its choice."""
    gpus = tf.config.list_physical_devices("GPU")
    if devices is None:
        devices = [f"/gpu:{i}" for i in range(len(gpus))] if gpus else configure_cpu_replicas(cpu_replicas)
    strategy = tf.distribute.MirroredStrategy(devices)
    kind = "GPUs" if gpus and devices[0].lower().startswith("/gpu") else "logical CPU devices (no GPU in use)"
    log.info("MirroredStrategy: %d replicas on %s: %s", strategy.num_replicas_in_sync, kind, ", ".join(devices))
    return strategy


def describe(strategy: tf.distribute.Strategy) -> str:
    """One line: how many replicas, on which devices (chapter 4)."""
    devices = getattr(strategy.extended, "worker_devices", ())
    return f"{type(strategy).__name__}: {strategy.num_replicas_in_sync} replicas on {', '.join(devices)}"


def global_batch_size(per_replica_batch: int, strategy: tf.distribute.Strategy) -> int:
    """The global batch: what one step processes over all replicas together."""
    return per_replica_batch * strategy.num_replicas_in_sync


def scale_learning_rate(learning_rate: float, batch_size: int, base_batch_size: int) -> float:
    """The linear scaling rule (Goyal et al. 2017): k times the batch, k times the learning rate."""
    return learning_rate * batch_size / base_batch_size


def distribute_dataset(dataset: tf.data.Dataset, strategy: tf.distribute.Strategy):
    """Split each global batch of ``dataset`` among the replicas (for hand-written ``strategy.run`` loops)."""
    return strategy.experimental_distribute_dataset(dataset)


def tf_config(addresses: list[str], index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of workers at ``addresses`` ("host:port")."""
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """The ``MultiWorkerMirroredStrategy`` described by ``TF_CONFIG``; create it before anything else."""
    if "TF_CONFIG" not in os.environ:
        raise DistributionSetupError(
            "TF_CONFIG is not set, so this process does not know its cluster. Start the workers with "
            "`python -m toolkit distribute --workers N`, which sets it, or set it yourself (tk.distribute.tf_config)."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def writes_checkpoints(strategy) -> bool:
    """Whether this process is the one whose checkpoints count: always, except on the non-chief
    workers of a multi-worker job (they must save too, but to a directory of their own)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def check_model_in_scope(model: keras.Model, strategy) -> None:
    """Fail when the model's weights were created outside ``strategy.scope()`` (chapter 4)."""
    if not strategy.extended.variable_created_in_scope(model.trainable_variables[0].value):
        raise DistributionSetupError(
            "The model's weights were created outside strategy.scope(), so they are not mirrored on the "
            "replicas. Build the model inside it: `with strategy.scope(): model = tk.models.mlp()`."
        )


def check_strategy_scope(model: keras.Model, optimizer: keras.optimizers.Optimizer, strategy) -> None:
    """Fail when the model's or the optimizer's variables were created outside ``strategy.scope()``:
    they would not be mirrored on every replica (chapter 4)."""
    check_model_in_scope(model, strategy)
    if not strategy.extended.variable_created_in_scope(optimizer.iterations.value):
        raise DistributionSetupError(
            "The optimizer was created outside strategy.scope(). Create it inside, next to the model "
            "(`with strategy.scope(): optimizer = keras.optimizers.Adam()`), or pass its name (\"adam\")."
        )


def check_fit_strategy(model: keras.Model, strategy) -> None:
    """``model.fit`` works under ``MirroredStrategy``, not under ``MultiWorkerMirroredStrategy``
    (TF 2.21 / Keras 3.15 fail with "Attempt to convert a value (PerReplica...)") (chapter 4)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise DistributionSetupError(
            "model.fit fails under MultiWorkerMirroredStrategy with TensorFlow 2.21 and Keras 3.15 "
            "(\"Attempt to convert a value (PerReplica...)\"). Use the custom loop, which works: "
            "tk.train_minibatch(model, data, strategy=strategy, ...)."
        )
    check_model_in_scope(model, strategy)


@contextlib.contextmanager
def prepare_distributed_fit(model: keras.Model, probe) -> Iterator[None]:
    """Build ``model`` for ``fit`` from ``probe`` (an ``(x, y)`` batch, or the online loop's dict), and let
    ``fit`` run a toolkit train step under a ``tf.distribute`` strategy (chapters 1 and 4).

    The model, its compiled loss and metrics and its optimizer are built before ``fit``: a metric built
    inside the compiled step creates variables there, and ``tf.function`` then traces the step twice.
    Under a strategy, Keras 3.15's ``fit`` also builds the model from its first batch, reduced over the
    replicas; that batch may be a dict the model does not take (the online loop's), and under
    ``MultiWorkerMirroredStrategy`` the reduction fails ("Attempt to convert a value (PerReplica...)"), so
    within the block that build (with nothing left to build) is skipped. Under
    ``MultiWorkerMirroredStrategy`` the train and test steps also return their logs as 1-element vectors: ``fit``
    averages each over axis 0 there ("Invalid reduction dimension 0" for a scalar).
    """
    strategy = model.distribute_strategy
    if isinstance(probe, dict):
        probe = (probe["x"], probe["y"])
    with strategy.scope():
        model._symbolic_build(data_batch=probe)
        model.optimizer.build(model.trainable_variables)
    if model._distribute_strategy is None:
        yield
        return
    own = {name: vars(model).get(name) for name in ("train_step", "test_step")}  # set on this model object
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        for name in own:
            step = getattr(model, name)
            setattr(model, name, lambda data, step=step: {k: tf.reshape(v, [1]) for k, v in step(data).items()})
    try:
        yield
    finally:
        del model._maybe_symbolic_build
        for name, step in own.items():
            if step is not None:
                setattr(model, name, step)
            elif name in vars(model):
                delattr(model, name)
