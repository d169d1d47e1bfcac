"""The compiled GradientTape stepper behind the online and mini-batch loops (chapter 1).

One ``tf.function`` (XLA-compiled by default) runs a whole chunk of updates: it loops
over ``steps`` micro-batches inside the graph instead of returning to Python after every
sample, which is what makes per-sample SGD fast. For each micro-batch it

1. predicts first (test-then-train): the per-sample loss and correctness it returns are
   those of the model *before* the update;
2. stops before the update if the loss is NaN or infinite, so the model keeps its last
   good weights. Checking every gradient too would halve per-sample speed, so instead the
   chunk snapshots the state and checks the weights once at its end; if an update made them
   non-finite (a NaN gradient can hide behind a finite loss, and a diverging optimizer can make a
   non-finite update from finite gradients), it restores the snapshot and replays the chunk with
   per-step checks of the gradients and of the updated weights, stopping at the exact bad update
   with the state from before it;
3. otherwise applies one optimizer step on the masked mean loss (padding and not-yet-labelled
   samples have mask 0; a micro-batch with no labelled sample makes no update).

Learning rates live in optimizer variables, so changing one never retraces the step.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.config import is_op_determinism_enabled  # what Keras's fit reads

from toolkit.distributed.strategy import check_strategy_scope
from toolkit.errors import ArgumentError
from toolkit.evaluation.losses import correctness_fn, per_example_loss
from toolkit.models.inspect import (
    behaves_same_in_training,
    computes_in_low_precision,
    draws_random_numbers,
    has_activity_regularizers,
    has_convolutions,
    supports_xla,
)

# On a CPU, XLA's compile (about half a second) pays off where a step is little work and TensorFlow's
# per-op overhead dominates. Above this many multiply-adds per step (batch size x trainable parameters)
# the plain graph runs as fast and compiles 2x sooner (bench/online_throughput.py: the course's MLP at
# batch 256 is 26 M; per-sample SGD is 0.1 M and batch 32 is 3.3 M).
XLA_STEP_WORK = 2**23


def xla_by_default(model: keras.Model, batch_size: int | None = None) -> bool:
    """Whether ``jit_compile="auto"`` compiles with XLA: when every layer supports it (Keras marks
    those that do not, e.g. image augmentation), except on a CPU for convolutions, where XLA convolves
    far more slowly than TensorFlow's own kernels (57x on the course's CNN, bench/distributed.py), and
    for steps of more than ``XLA_STEP_WORK`` multiply-adds.

    Under op determinism ``model.fit`` never compiles with XLA, and XLA draws other random numbers than
    the plain graph and rounds low precision differently, so a model that draws random numbers (dropout,
    noise) or computes in float16/bfloat16 then runs without XLA too: its results are those of ``fit``.
    (Without op determinism, pass the ``jit_compile`` that
    ``fit`` used to get its masks; ``history.params["jit_compile"]`` records the engine of every run.)
    """
    if not supports_xla(model):
        return False
    if (draws_random_numbers(model) or computes_in_low_precision(model)) and is_op_determinism_enabled():
        return False
    if tf.config.list_logical_devices("GPU"):
        return True
    step_work = (batch_size or 1) * sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return not has_convolutions(model) and step_work <= XLA_STEP_WORK


@dataclass
class ChunkResult:
    """Per-sample outputs of one chunk, padding removed.

    ``loss``/``correct``: the evaluated pass for each processed sample (NaN/absent past a stop);
    ``steps``: micro-batches run (including a stopping one); ``finite``: False if it stopped on a
    non-finite loss; ``updates``: weight updates made by the end of each micro-batch, counted from
    the chunk's start (``optimizer.iterations`` counts one per ``gradient_accumulation_steps``
    micro-batches), so ``updates[-1]`` is the chunk's total.
    """

    loss: np.ndarray
    correct: np.ndarray | None
    steps: int
    finite: bool
    updates: np.ndarray

    def then(self, later: ChunkResult) -> ChunkResult:
        """This chunk's results followed by those of the chunk run right after it."""
        return ChunkResult(np.concatenate([self.loss, later.loss]),
                           None if self.correct is None else np.concatenate([self.correct, later.correct]),
                           self.steps + later.steps, later.finite,
                           np.concatenate([self.updates, later.updates + self.total_updates]))

    @property
    def total_updates(self) -> int:
        """Weight updates the whole chunk made."""
        return int(self.updates[-1]) if len(self.updates) else 0

    def split(self, ends: Sequence[int], batch_size: int) -> Iterator[ChunkResult]:
        """The results of consecutive parts of the chunk, which end at samples ``ends`` (each part
        whole micro-batches but the last); parts after a stop are left out."""
        start_sample, start_step, before = 0, 0, 0
        for end in ends:
            end_step = min(-(-int(end) // batch_size), self.steps)
            updates = self.updates[start_step:end_step] - before
            stopped = not self.finite and end_step == self.steps
            part = slice(start_sample, int(end))
            yield ChunkResult(self.loss[part], None if self.correct is None else self.correct[part],
                              end_step - start_step, not stopped, updates)
            if stopped:
                return
            start_sample, start_step = int(end), end_step
            before += int(updates[-1]) if len(updates) else 0


class TapeStepper:
    """Runs compiled GradientTape updates over chunks of micro-batches (chapters 1 and 4).

    ``prequential=True`` returns each sample's loss/correctness as predicted *before* its
    update in inference mode (online learning); ``False`` returns the training pass's values,
    as ``model.fit`` reports them (mini-batch epochs). ``jit_compile="auto"`` compiles with XLA
    when it helps (see ``xla_by_default``; ``batch_size``, if known, sizes the step).

    With a ``strategy`` (``tf.distribute``), every micro-batch is a *global* batch: each replica
    takes its slice, the loss is averaged over the whole global batch (so summing the replicas'
    gradients, as the optimizer does, gives the single-device gradient), regularisation is
    divided among the replicas, the NaN stop is decided on the all-reduced loss, and the
    outputs come back in the global batch's order. The model and optimizer must be built in
    ``strategy.scope()``.
    """

    def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, *,
                 prequential: bool = True, jit_compile: bool | str = "auto", batch_size: int | None = None,
                 strategy: tf.distribute.Strategy | None = None):
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.replicas = strategy.num_replicas_in_sync if strategy else 1
        self.loss_fn = per_example_loss(loss)
        self.correct_fn = correctness_fn(model, loss)
        self.prequential = prequential
        # Padding a micro-batch changes nothing where every layer computes the same in training; with
        # dropout or batch normalization a short batch must run at its own size, as in ``fit``.
        self.pads_exactly = (behaves_same_in_training(model) and not has_activity_regularizers(model)) or (
            strategy is not None)
        self.reuse_training_pass = not prequential or behaves_same_in_training(model)
        self._chose_xla = jit_compile == "auto"
        if jit_compile == "auto":
            jit_compile = xla_by_default(model, batch_size) and strategy is None
        if strategy is not None:
            check_strategy_scope(model, optimizer, strategy)
            jit_compile = False  # the step calls strategy.run, which XLA cannot compile around
        self.variables = model.trainable_variables
        with strategy.scope() if strategy else contextlib.nullcontext():
            optimizer.build(self.variables)
            self._state = [*model.variables, *optimizer.variables]
            self._snapshot = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in self._state]
            self._before_update = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in self._state]
        self._compile(jit_compile)
        self._restore = tf.function(lambda: [v.assign(s) for v, s in zip(self._state, self._snapshot)],
                                    autograph=False)

    def _compile(self, jit_compile: bool) -> None:
        self.jit_compile = jit_compile
        self.run_chunk = tf.function(self._run_chunk, jit_compile=jit_compile, autograph=False)
        self.run_checked_chunk = tf.function(lambda *a: self._run_chunk(*a, check_gradients=True),
                                             jit_compile=jit_compile, autograph=False)

    def _call(self, function, inputs):
        """Run a compiled chunk; if XLA was chosen automatically and refuses the graph (for example
        a pooling gradient with op determinism on), compile without XLA and run again. XLA fails
        while compiling, before the chunk has changed anything."""
        try:
            return function(*inputs)
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError) as error:
            if not (self._chose_xla and self.jit_compile and "XLA" in str(error)):
                raise
            checked = function is self.run_checked_chunk
            warnings.warn(f"XLA cannot compile this model's step ({str(error).splitlines()[0][:100]}); running "
                          "without XLA.", stacklevel=3)
            self._compile(False)
            return (self.run_checked_chunk if checked else self.run_chunk)(*inputs)

    def _evaluated(self, y, outputs):
        loss = self.loss_fn(y, outputs)
        correct = self.correct_fn(y, outputs) if self.correct_fn else tf.zeros_like(loss)
        return tf.cast(loss, tf.float32), correct

    def _forward_backward(self, x, y, mask, x_pred, y_pred, labelled):
        """One micro-batch on one replica: ``(gradients, loss share, predicted loss, correct)``.

        ``labelled`` counts the labelled samples of the *whole* micro-batch, so the replicas'
        loss shares add up to the micro-batch's mean loss.
        """
        if self.strategy is not None:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            per = tf.shape(x)[0] // self.replicas

            def local(t):
                return None if t is None else t[replica * per:(replica + 1) * per]

            x, y, mask, x_pred, y_pred = (local(t) for t in (x, y, mask, x_pred, y_pred))
        if x_pred is not None or not self.reuse_training_pass:
            seen_x, seen_y = (x, y) if x_pred is None else (x_pred, y_pred)
            pred_loss, pred_correct = self._evaluated(seen_y, self.model(seen_x, training=False))
        with tf.GradientTape() as tape:
            outputs = self.model(x, training=True)
            losses = tf.cast(self.loss_fn(y, outputs), tf.float32)
            # global_batch_size by keyword: the second positional argument is sample_weight
            labelled_count = tf.cast(tf.maximum(labelled, 1.0), tf.int32)
            loss = tf.nn.compute_average_loss(losses, sample_weight=mask, global_batch_size=labelled_count)
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n([tf.cast(e, tf.float32) for e in self.model.losses]))
            scaled = self.optimizer.scale_loss(loss)
        if x_pred is None and self.reuse_training_pass:
            pred_loss, pred_correct = self._evaluated(y, outputs)
        return tape.gradient(scaled, self.variables), loss, pred_loss, pred_correct

    @staticmethod
    def _gradients_finite(grads):
        return tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])

    def _apply(self, grads):
        self.optimizer.apply_gradients(zip(grads, self.variables))

    def _step(self, x, y, mask, x_pred, y_pred, check_gradients):
        labelled = tf.reduce_sum(mask)
        if self.strategy is None:
            grads, loss, pred_loss, pred_correct = self._forward_backward(x, y, mask, x_pred, y_pred, labelled)
            finite = tf.math.is_finite(loss)
            if check_gradients:
                finite = tf.logical_and(finite, self._gradients_finite(grads))
        else:  # decide in cross-replica context: MirroredStrategy cannot update inside a tf.cond
            grads, loss, pred_loss, pred_correct = self.strategy.run(
                self._forward_backward, args=(x, y, mask, x_pred, y_pred, labelled))
            finite = tf.math.is_finite(self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None))
            if check_gradients:
                ok = self.strategy.run(lambda g: tf.cast(self._gradients_finite(g), tf.float32), args=(grads,))
                everywhere = self.strategy.reduce(tf.distribute.ReduceOp.SUM, ok, axis=None)  # ReduceOp has no MIN
                finite = tf.logical_and(finite, everywhere > self.replicas - 0.5)
            pred_loss = self.strategy.gather(pred_loss, axis=0)
            pred_correct = self.strategy.gather(pred_correct, axis=0)

        def update():
            if self.strategy is None:
                self._apply(grads)
            else:
                self.strategy.run(self._apply, args=(grads,))
            return tf.constant(True)

        if check_gradients:  # the replay: keep the state before the update, to undo an update that is not finite
            for saved, variable in zip(self._before_update, self._state):
                saved.assign(variable)
        tf.cond(tf.logical_and(finite, labelled > 0), update, lambda: tf.constant(False))
        if check_gradients:  # finite gradients can still make a non-finite update (a diverging optimizer)
            updated_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in self.variables])
            for saved, variable in zip(self._before_update, self._state):
                variable.assign(tf.where(updated_finite, variable, saved))
            finite = tf.logical_and(finite, updated_finite)
        return pred_loss, pred_correct, finite

    def _run_chunk(self, x, y, mask, steps, x_pred=None, y_pred=None, check_gradients=False):
        for saved, variable in zip(self._snapshot, self._state):
            saved.assign(variable)
        size = x.shape[0]
        losses = tf.TensorArray(tf.float32, size=size, element_shape=mask.shape[1:])
        correct = tf.TensorArray(tf.float32, size=size, element_shape=mask.shape[1:])
        updates = tf.TensorArray(tf.int64, size=size, element_shape=())
        iterations_before = tf.cast(self.optimizer.iterations, tf.int64)

        def keep_going(i, finite, *arrays):
            return tf.logical_and(i < steps, finite)

        def body(i, finite, losses, correct, updates):
            xp = None if x_pred is None else x_pred[i]
            yp = None if y_pred is None else y_pred[i]
            step_loss, step_correct, finite = self._step(x[i], y[i], mask[i], xp, yp, check_gradients)
            made = tf.cast(self.optimizer.iterations, tf.int64) - iterations_before
            return i + 1, finite, losses.write(i, step_loss), correct.write(i, step_correct), updates.write(i, made)

        steps_run, finite, losses, correct, updates = tf.while_loop(
            keep_going, body, (tf.constant(0), tf.constant(True), losses, correct, updates))
        weights_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in self.variables])
        return losses.stack(), correct.stack(), updates.stack(), steps_run, finite, weights_finite

    def run(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, steps_per_chunk: int,
            mask: np.ndarray | None = None, x_pred: np.ndarray | None = None,
            y_pred: np.ndarray | None = None) -> ChunkResult:
        """Learn from up to ``steps_per_chunk * batch_size`` samples in one compiled call.

        Inputs are padded to that fixed shape, so the step traces once per input signature.
        ``mask`` (1 = labelled) defaults to all ones; ``x_pred``/``y_pred`` are the samples to
        predict at each step when labels arrive late (they default to ``x``/``y``). With a
        strategy, ``batch_size`` is the global batch and must split evenly among the replicas.
        """
        if batch_size % self.replicas:
            raise ArgumentError(f"The batch of {batch_size} cannot be split evenly among {self.replicas} replicas: "
                             f"use a multiple of {self.replicas} (tk.distribute.global_batch_size helps).")
        n = len(x)
        capacity = steps_per_chunk * batch_size
        if not 0 < n <= capacity:
            raise ArgumentError(f"A chunk holds 1..{capacity} samples, got {n}.")
        mask = np.ones(n, np.float32) if mask is None else mask.astype(np.float32)
        short = n % batch_size
        if short and not self.pads_exactly:  # the short last micro-batch runs at its own size
            def part(a, where):
                return None if a is None else a[where]
            head, tail = slice(0, n - short), slice(n - short, n)
            result = (self._run_padded(x[head], y[head], batch_size, steps_per_chunk, mask[head],
                                       part(x_pred, head), part(y_pred, head)) if n > short else None)
            if result is not None and not result.finite:
                return result
            last = self._run_padded(x[tail], y[tail], short, 1, mask[tail], part(x_pred, tail), part(y_pred, tail))
            return last if result is None else result.then(last)
        return self._run_padded(x, y, batch_size, steps_per_chunk, mask, x_pred, y_pred)

    def _run_padded(self, x, y, batch_size, steps_per_chunk, mask, x_pred, y_pred) -> ChunkResult:
        """One compiled call of ``steps_per_chunk`` micro-batches, the inputs padded to fill it."""
        n, capacity = len(x), steps_per_chunk * batch_size

        def fold(a: np.ndarray) -> tf.Tensor:
            if n < capacity:  # pad to the compiled shape
                a = np.concatenate([a, np.zeros((capacity - n, *a.shape[1:]), a.dtype)])
            return tf.convert_to_tensor(a.reshape(steps_per_chunk, batch_size, *a.shape[1:]))

        inputs = (fold(x), fold(y), fold(mask), tf.constant(-(-n // batch_size)))
        if x_pred is not None:
            inputs += (fold(x_pred), fold(y_pred))
        losses, correct, updates, steps_run, finite, weights_finite = self._call(self.run_chunk, inputs)
        if not weights_finite:  # an applied update was not finite: replay, checking every gradient
            self._restore()
            losses, correct, updates, steps_run, finite, _ = self._call(self.run_checked_chunk, inputs)
        done = min(int(steps_run) * batch_size, n)
        return ChunkResult(
            loss=losses.numpy().reshape(-1)[:done],
            correct=correct.numpy().reshape(-1)[:done] if self.correct_fn else None,
            steps=int(steps_run), finite=bool(finite), updates=updates.numpy()[:int(steps_run)],
        )

