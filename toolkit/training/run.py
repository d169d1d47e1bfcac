"""What every loop does around ``model.fit``: compile once, check the data, attach the toolkit's callbacks,
checkpoint and resume with Keras's own ``BackupAndRestore`` (chapters 1-6).

``fit_batch`` runs ``fit`` with Keras's own train step; ``train_minibatch`` and ``train_online`` run it with
a GradientTape step of the toolkit's (``toolkit.training.steps``). The callbacks, in ``fit``'s order: the
user's, the ``NonFiniteGuard``, the ``RunHistory`` (the History, last among those that read the logs),
then the backup, so that a run killed between the two saves resumes with no row lost.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.config import is_op_determinism_enabled  # what Keras's fit reads

from toolkit.distributed.strategy import check_model_in_scope, prepare_distributed_fit
from toolkit.errors import ArgumentError, TrainingSetupError
from toolkit.evaluation.losses import check_labels, check_logits, check_reduction, default_loss, loss_kind
from toolkit.models.inspect import (
    computes_in_low_precision,
    draws_random_numbers,
    has_convolutions,
    pools,
    supports_xla,
)
from toolkit.optim.factory import make_optimizer
from toolkit.training.callbacks import NonFiniteGuard
from toolkit.training.checkpoints import backup_callbacks, backup_dir
from toolkit.training.history import RunHistory

# On a CPU, XLA's compile (about half a second) pays off where a step is little work and TensorFlow's
# per-op overhead dominates. Above this many multiply-adds per step (batch size x trainable parameters)
# the plain graph runs as fast and compiles 2x sooner (bench/online_throughput.py: the course's MLP at
# batch 256 is 26 M; per-sample SGD is 0.1 M and batch 32 is 3.3 M).
XLA_STEP_WORK = 2**23


def replicated(model: keras.Model) -> bool:
    """Whether the model trains under a strategy of several replicas or workers. On CPUs XLA refuses
    replicated variables there ("tf.Variable on a different device") and has no collectives across workers;
    GPUs run a replicated step compiled."""
    strategy = model.distribute_strategy
    return strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def xla_by_default(model: keras.Model, batch_size: int | None = None) -> bool:
    """Whether ``jit_compile="auto"`` compiles with XLA: when every layer supports it (Keras marks
    those that do not, e.g. image augmentation), except on a CPU for convolutions, where XLA convolves
    far more slowly than TensorFlow's own kernels (57x on the course's CNN, bench/distributed.py), and
    for steps of more than ``XLA_STEP_WORK`` multiply-adds.

    Under op determinism ``model.fit`` never compiles with XLA, and XLA draws other random numbers than
    the plain graph and rounds low precision differently, so a model that draws random numbers (dropout,
    noise) or computes in float16/bfloat16 then runs without XLA too: its results are those of ``fit``.
    Under a strategy, XLA is used on GPUs only. Pooling gradients have no deterministic XLA kernel, so a
    model that pools runs without XLA under op determinism. (Without op determinism, pass the ``jit_compile``
    that ``fit`` used to get its masks; ``model.jit_compile`` records the engine of every run.)
    """
    if not supports_xla(model):
        return False
    if replicated(model):
        return bool(tf.config.list_logical_devices("GPU"))
    if (draws_random_numbers(model) or computes_in_low_precision(model) or pools(model)) and \
            is_op_determinism_enabled():
        return False
    if tf.config.list_logical_devices("GPU"):
        return True
    step_work = (batch_size or 1) * sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return not has_convolutions(model) and step_work <= XLA_STEP_WORK


def compile_for_run(model: keras.Model, *, optimizer, loss, metrics, jit_compile, default_optimizer: str,
                    batch_size: int | None = None, strategy: tf.distribute.Strategy | None = None) -> None:
    """Compile ``model`` for a run, as ``model.compile`` does, inside the strategy scope the model was built in.

    ``optimizer=None`` keeps a model that is already compiled as it is (what trains was given once, to
    ``compile``); an uncompiled model then gets ``default_optimizer``. ``loss=None`` is the course's loss
    (sparse crossentropy on logits); ``metrics=None`` is accuracy for a classification loss, none otherwise.
    ``jit_compile="auto"`` with a ``batch_size`` (the online loop's micro-batch) uses XLA where it pays
    (``xla_by_default``); without one it is Keras's own "auto", as in ``fit`` (XLA for every model that
    supports it, unless op determinism is on), except under a strategy on CPUs, where XLA fails.
    """
    if jit_compile not in (True, False, "auto"):
        raise ArgumentError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
    if strategy is not None:
        check_model_in_scope(model, strategy)
    if optimizer is None and model.compiled:
        return
    loss = default_loss() if loss is None else loss
    check_reduction(loss)
    if metrics is None:
        metrics = ["accuracy"] if loss_kind(loss) is not None else []
    if jit_compile == "auto" and batch_size is not None:
        jit_compile = xla_by_default(model, batch_size)
    elif jit_compile == "auto" and replicated(model) and not tf.config.list_logical_devices("GPU"):
        jit_compile = False  # Keras's compile would choose XLA wherever op determinism is off
    with model.distribute_strategy.scope():
        deterministic = is_op_determinism_enabled()
        model.compile(optimizer=make_optimizer(optimizer or default_optimizer), loss=loss, metrics=list(metrics),
                      jit_compile=jit_compile and not deterministic)
    if jit_compile is True and deterministic:
        # Keras refuses XLA whenever op determinism is on ("not all ops are supported"), with a warning; the
        # rule above already left out what XLA cannot run deterministically, so the choice stands.
        model._jit_compile = True


def check_data(model: keras.Model, x_probe, y_probe) -> None:
    """The guards every loop runs on a probe of its data: labels in range and of the loss's kind, and
    logits against ``from_logits`` (``TrainingSetupError`` naming the fix)."""
    if not model.compiled:
        raise TrainingSetupError("The model is not compiled: pass optimizer= (and loss=), or call "
                                 "model.compile(optimizer=..., loss=..., metrics=[...]) first.")
    if not model.built:  # a model without an Input: build it as fit does, symbolically (no call's side effects)
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=(x_probe, y_probe))
    loss = model.loss
    check_labels(y_probe, model, loss)
    check_logits(model, loss, x_probe)


def resumed_epoch(model: keras.Model, initial_epoch: int) -> int:
    """The epoch ``fit`` starts at: the one after the newest backup when ``BackupAndRestore`` restored one
    (it tells ``fit`` through ``model._initial_epoch``, which ``fit`` reads), else ``initial_epoch``."""
    return getattr(model, "_initial_epoch", None) or initial_epoch


def run_fit(model: keras.Model, step, *, fit_args: dict, callbacks: Sequence[keras.callbacks.Callback],
            history: RunHistory, checkpoint_dir: str | Path | None, resume: bool, guard: NonFiniteGuard | None = None,
            probe=None) -> RunHistory:
    """``model.fit(**fit_args)`` with ``step`` as its train step (``None``: Keras's own), the user's
    ``callbacks``, the NaN guard, the history and the backup; raises ``NonFiniteLossError`` after a clean
    end when the loss turned NaN/inf."""
    from toolkit.training.steps import training_with

    guard = guard or NonFiniteGuard()
    if checkpoint_dir is not None:
        guard.checkpoint = str(backup_dir(checkpoint_dir))
    listed = [*callbacks, guard, history, *backup_callbacks(checkpoint_dir, resume)]
    with warnings.catch_warnings(), (training_with(model, step) if step is not None else contextlib.nullcontext()), \
            prepare_distributed_fit(model, probe):
        warnings.filterwarnings("ignore", message="Your input ran out of data")  # a stream's last window
        model._initial_epoch = None  # set by a BackupAndRestore of this run only (Keras never clears it)
        try:
            model.fit(**fit_args, callbacks=listed)
        finally:
            model._initial_epoch = None
    guard.raise_if_stopped(history)
    return history
