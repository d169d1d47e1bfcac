"""The GradientTape train steps that the loops run inside Keras's own trainer (chapters 1 and 4).

As Keras's guide "Customizing what happens in fit()" does, the loops keep ``fit``'s machinery (callbacks,
compiled metrics, History, progress bar, ``BackupAndRestore``, distributed input) and replace only the
body that ``fit`` compiles, ``train_step``:

* ``MinibatchStep`` is ``fit``'s own step written out with ``tf.GradientTape``: one update per batch.
* ``OnlineStep`` learns a *chunk* of a stream (one Keras batch) one micro-batch at a time inside the
  compiled call: each micro-batch is predicted first, then learned (prequential, as river's
  ``progressive_val_score``), so per-sample SGD does not return to Python after every sample.

Both stop updating at a NaN/inf loss, so the model keeps its last good weights; the loss then reaches
every callback as NaN (``keras.callbacks.TerminateOnNaN`` acts on it) and ``NonFiniteGuard`` names the
sample. Under a ``tf.distribute`` strategy each replica receives only its shard of the batch (Keras's
``experimental_distribute_dataset``), and an optimizer's clipping acts on the all-reduced gradient, as on
one device (Keras's own step clips each replica's share before the all-reduce: tensorflow#33929).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import keras
import tensorflow as tf
from keras.src.losses.loss import unscale_loss_for_distribution  # what Keras's own train_step reports

from toolkit.models.inspect import behaves_same_in_training


def _replicas() -> int:
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


def clip_globally(optimizer: keras.optimizers.Optimizer, grads: list) -> list:
    """Each replica's share of the clipped *global* gradient (chapter 4).

    On one device, or for an optimizer that does not clip, ``grads`` is returned as it is. Under a strategy
    with R replicas, the gradients are summed over the replicas (what the optimizer would apply), clipped
    by the optimizer's own rule, and divided by R: the optimizer's per-replica clipping then finds nothing
    to clip, and its all-reduce sums the shares back to the clipped global gradient.
    """
    replicas = _replicas()
    if replicas == 1 or not (optimizer.clipnorm or optimizer.global_clipnorm or optimizer.clipvalue):
        return grads
    total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
    return [g / replicas for g in optimizer._clip_gradients(total)]


def _update_loss_tracker(model: keras.Model, loss, count) -> None:
    """Add a batch's mean loss, weighted by its ``count`` samples, to the ``loss`` that ``fit`` logs."""
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(unscale_loss_for_distribution(loss), sample_weight=count)


def _results(model: keras.Model, x, y, y_pred, sample_weight=None) -> dict:
    """Update the compiled metrics and return every metric's result, as Keras's own step does."""
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _weights_finite(variables) -> tf.Tensor:
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in variables])


class MinibatchStep:
    """``fit``'s train step written out with ``tf.GradientTape``: forward pass, loss (with the model's
    regularization losses), gradients, one update (chapter 1).

    On one device a batch whose loss is NaN/inf makes no update, nor does any batch after it, so the model
    keeps its last good weights; its loss reaches every callback as NaN. The check is one comparison per
    step: a NaN gradient behind a finite loss, or an update that diverges from finite gradients, is made
    (as ``fit`` makes it) and shows as a NaN loss at the next batch or in the weights at the epoch's end
    (``NonFiniteGuard``), where the error says that the weights hold it. Under a strategy every update is
    made, as in ``fit`` (MirroredStrategy cannot synchronise an update inside a ``tf.cond``).
    """

    def __init__(self, model: keras.Model):
        self.model = model
        first_only = tf.VariableAggregation.ONLY_FIRST_REPLICA
        with model.distribute_strategy.scope():
            self.batches = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=first_only)  # this run's
            # the batch (counted from this run's first) whose loss was first NaN/inf; -1: none. From then on no
            # update is made, also by the later batches of the same compiled call (steps_per_execution)
            self.stopped_at = tf.Variable(-1, dtype=tf.int64, trainable=False, aggregation=first_only)

    def __call__(self, data) -> dict:
        model = self.model
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            scaled = model.optimizer.scale_loss(loss)
        # a NaN or inf loss is logged as NaN, as fit's next batches log it once its update has broken the weights
        finite = tf.math.is_finite(loss)
        reported = tf.where(finite, loss, tf.constant(float("nan"), loss.dtype))
        _update_loss_tracker(model, reported, tf.shape(tf.nest.flatten(x)[0])[0])
        first_stop = tf.logical_and(tf.logical_not(finite), self.stopped_at < 0)
        self.stopped_at.assign(tf.where(first_stop, self.batches, self.stopped_at))
        self.batches.assign_add(1)
        variables = model.trainable_variables
        if not variables:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)  # as fit warns
            return _results(model, x, y, y_pred, sample_weight)
        grads = clip_globally(model.optimizer, tape.gradient(scaled, variables))
        if _replicas() > 1:
            model.optimizer.apply_gradients(zip(grads, variables))
        else:
            tf.cond(self.stopped_at < 0, lambda: _apply(model.optimizer, grads, variables), lambda: tf.constant(False))
        return _results(model, x, y, y_pred, sample_weight)


def _assign(variables, values) -> tf.Tensor:
    for variable, value in zip(variables, values):
        variable.assign(value)
    return tf.constant(True)


def _apply(optimizer, grads, variables) -> tf.Tensor:
    optimizer.apply_gradients(zip(grads, variables))
    return tf.constant(True)


class OnlineStep:
    """Learn one chunk of a stream, one micro-batch of ``batch_size`` samples at a time (chapter 1).

    A chunk is a dict of ``x``, ``y``, ``mask`` and ``ids`` (each row's place in the stream), plus ``x_pred``,
    ``y_pred`` and ``pred_mask`` when labels arrive late (``toolkit.training.online.chunks``): at
    micro-batch i the step predicts ``x_pred[i]`` (the newest samples) and learns ``x[i]`` (the samples whose
    labels have just arrived). A mask is 0 where there is nothing to learn or score: no label yet, or
    padding at the stream's end. Without late labels the sample learned is the one predicted, and a model
    that computes the same in training (no dropout or batch statistics) reuses the training pass as its
    prediction. The compiled metrics and ``loss`` are those of the predictions made *before* each update,
    so ``fit``'s logs are prequential.

    A micro-batch with no label makes no update. At a NaN/inf loss the chunk makes no further update. A
    NaN can also hide behind a finite loss (a NaN gradient, or a diverging optimizer's update): then the
    weights are non-finite at the chunk's end, and the step restores the state it saved at the chunk's
    start. Either way ``stopped_at`` holds the sample (counted from the run's start) where it stopped,
    and the logged ``loss`` is NaN, so every callback sees it.
    """

    def __init__(self, model: keras.Model, batch_size: int):
        self.model, self.batch_size = model, batch_size
        self.reuse_training_pass = behaves_same_in_training(model)
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)
            self.state = [*model.variables, *model.optimizer.variables]
            self.snapshot = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in self.state]
            self.stopped_at = tf.Variable(-1, dtype=tf.int64, trainable=False,  # -1: no stop
                                          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            # True when the weights turned NaN/inf from a finite loss: the chunk was undone from its start
            self.update_undone = tf.Variable(False, trainable=False,
                                             aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def _micro_batch(self, x, y, mask, x_pred, y_pred, pred_mask, allowed=True):
        """Predict, then learn one micro-batch (if ``allowed``): ``(prediction, its loss summed over the
        scored samples, whether the loss learned was finite)``."""
        model = self.model
        size = tf.cast(tf.shape(mask)[0], tf.float32)
        if x_pred is not None or not self.reuse_training_pass:
            seen_x, seen_y = (x, y) if x_pred is None else (x_pred, y_pred)
            prediction = model(seen_x, training=False)
            predicted_loss = model.compute_loss(x=seen_x, y=seen_y, y_pred=prediction, sample_weight=pred_mask,
                                                training=False)
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=outputs, sample_weight=mask, training=True)
            # compute_loss divides by the micro-batch's size; learn the mean over its labelled samples
            labelled = tf.reduce_sum(mask)
            mean = loss * tf.cast(size, loss.dtype) / tf.cast(tf.maximum(labelled, 1.0), loss.dtype)
            scaled = model.optimizer.scale_loss(mean)
        if x_pred is None and self.reuse_training_pass:
            prediction, predicted_loss = outputs, loss
        variables = model.trainable_variables
        finite = tf.math.is_finite(mean)
        if not variables:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)  # as fit warns
            return prediction, tf.cast(predicted_loss, tf.float32) * size, finite
        grads = clip_globally(model.optimizer, tape.gradient(scaled, variables))
        if _replicas() > 1:  # MirroredStrategy cannot update inside a tf.cond; one micro-batch per chunk there
            model.optimizer.apply_gradients(zip(grads, variables))
        else:
            tf.cond(tf.logical_and(tf.logical_and(finite, labelled > 0), allowed),
                    lambda: _apply(model.optimizer, grads, variables), lambda: tf.constant(False))
        return prediction, tf.cast(predicted_loss, tf.float32) * size, finite

    def __call__(self, data) -> dict:
        x, y, mask, ids = data["x"], data["y"], data["mask"], data["ids"]
        x_pred, y_pred, pred_mask = (data["x_pred"], data["y_pred"], data["pred_mask"]) if "x_pred" in data else (
            None, None, mask)
        seen_x, seen_y = (x, y) if x_pred is None else (x_pred, y_pred)
        size = x.shape[0]
        if _replicas() > 1 or size is None or size <= self.batch_size:  # one micro-batch
            prediction, loss_sum, finite = self._micro_batch(x, y, mask, x_pred, y_pred, pred_mask)
            self.stopped_at.assign(tf.where(finite, self.stopped_at, tf.cast(ids[0], tf.int64)))
            scored = tf.reduce_sum(pred_mask)
            mean = loss_sum / tf.maximum(scored, 1.0)
            _update_loss_tracker(self.model, tf.where(finite, mean, tf.constant(float("nan"))), scored)
            return _results(self.model, seen_x, seen_y, prediction, pred_mask)
        return self._chunk(x, y, mask, x_pred, y_pred, pred_mask, ids, seen_x, seen_y)

    def _chunk(self, x, y, mask, x_pred, y_pred, pred_mask, ids, seen_x, seen_y) -> dict:
        """The chunk's micro-batches in one compiled loop (``tf.gather``: a dynamic slice is far slower in XLA)."""
        b, steps = self.batch_size, x.shape[0] // self.batch_size
        for saved, variable in zip(self.snapshot, self.state):
            saved.assign(variable)

        def rows(t, i):
            return None if t is None else tf.gather(t, i * b + tf.range(b))

        def body(i, finite, steps_run, predictions, losses):
            # after a NaN/inf loss the remaining micro-batches are predicted (and ignored), never learned
            prediction, loss_sum, step_finite = self._micro_batch(
                rows(x, i), rows(y, i), rows(mask, i), rows(x_pred, i), rows(y_pred, i), rows(pred_mask, i),
                allowed=finite)
            steps_run = tf.where(finite, i + 1, steps_run)  # the stopping micro-batch counts as run
            return (i + 1, tf.logical_and(finite, step_finite), steps_run, predictions.write(i, prediction),
                    losses.write(i, loss_sum))

        _, finite, steps_run, predictions, losses = tf.while_loop(
            lambda i, *rest: i < steps, body,
            (tf.constant(0), tf.constant(True), tf.constant(0),
             tf.TensorArray(self.model.compute_dtype, size=steps), tf.TensorArray(tf.float32, size=steps)))
        weights_finite = _weights_finite(self.model.trainable_variables)
        tf.cond(weights_finite, lambda: tf.constant(False), self._restore)
        stopped = tf.logical_not(tf.logical_and(finite, weights_finite))
        # a NaN loss with the weights still finite: its micro-batch; non-finite weights: the chunk's start
        first_bad = tf.where(tf.logical_and(tf.logical_not(finite), weights_finite), (steps_run - 1) * b, 0)
        self.stopped_at.assign(tf.where(stopped, tf.cast(tf.gather(ids, first_bad), tf.int64), self.stopped_at))
        self.update_undone.assign(tf.logical_or(self.update_undone, tf.logical_not(weights_finite)))
        weights = tf.where(tf.range(steps * b) < steps_run * b, pred_mask, 0.0)  # the micro-batches run
        scored = tf.reduce_sum(weights)
        loss_sums = tf.where(tf.range(steps) < steps_run, losses.stack(), 0.0)
        mean = tf.where(stopped, tf.constant(float("nan")), tf.reduce_sum(loss_sums) / tf.maximum(scored, 1.0))
        _update_loss_tracker(self.model, mean, scored)
        return _results(self.model, seen_x, seen_y, _flatten(predictions.stack()), weights)

    def _restore(self) -> tf.Tensor:
        return _assign(self.state, self.snapshot)


def _flatten(stacked: tf.Tensor) -> tf.Tensor:
    """``(steps, batch, ...)`` to ``(steps * batch, ...)``."""
    shape = tf.shape(stacked)
    return tf.reshape(stacked, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))


@contextlib.contextmanager
def training_with(model: keras.Model, step) -> Iterator[None]:
    """Within the block, ``model.fit`` compiles ``step`` as the model's ``train_step`` (chapter 1).

    The step is set on this model object only, for the block's duration, and Keras's cached compiled
    function is dropped on entry and exit, so a later plain ``fit`` compiles the model's own step again.
    """
    model.train_step = step
    model.train_function = None
    try:
        yield
    finally:
        del model.train_step
        model.train_function = None
