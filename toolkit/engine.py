"""The compiled GradientTape stepper behind the online and mini-batch loops (chapter 1).

One ``tf.function`` (XLA-compiled by default) runs a whole chunk of updates: it loops
over ``steps`` micro-batches inside the graph instead of returning to Python after every
sample, which is what makes per-sample SGD fast. For each micro-batch it

1. predicts first (test-then-train): the per-sample loss and correctness it returns are
   those of the model *before* the update;
2. stops before the update if the loss is NaN or infinite, so the model keeps its last
   good weights. Checking every gradient too would halve per-sample speed, so instead the
   chunk snapshots the state and checks the weights once at its end; if an update made them
   non-finite (a NaN gradient can hide behind a finite loss), it restores the snapshot and
   replays the chunk with per-step gradient checks, stopping before the exact bad update;
3. otherwise applies one optimizer step on the masked mean loss (padding and not-yet-labelled
   samples have mask 0; a micro-batch with no labelled sample makes no update).

Learning rates live in optimizer variables, so changing one never retraces the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from toolkit.guards import loss_from_logits, loss_name, num_outputs

# Layers whose output is the same in training and inference mode. A model made only of
# these can reuse the training forward pass as its prediction; any other layer (dropout,
# batch norm, augmentation, unknown custom layers) gets a separate inference pass.
_SAME_IN_TRAINING = tuple(
    getattr(keras.layers, name) for name in (
        "InputLayer", "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D",
        "SeparableConv2D", "Conv2DTranspose", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
        "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
        "GlobalMaxPooling2D", "Flatten", "Reshape", "Permute", "RepeatVector", "Activation", "ReLU",
        "LeakyReLU", "ELU", "PReLU", "Softmax", "Rescaling", "Normalization", "LayerNormalization",
        "UnitNormalization", "Embedding", "Add", "Subtract", "Multiply", "Average", "Maximum",
        "Minimum", "Concatenate", "Dot", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Identity",
    ) if hasattr(keras.layers, name)
)


def leaf_layers(model: keras.Layer) -> list[keras.Layer]:
    """All non-container layers of a (possibly nested) model."""
    if isinstance(model, keras.Model):
        return [leaf for layer in model.layers for leaf in leaf_layers(layer)]
    return [model]


def behaves_same_in_training(model: keras.Model) -> bool:
    """True when every layer is known to compute the same output with ``training=True``."""
    return all(isinstance(layer, _SAME_IN_TRAINING) for layer in leaf_layers(model))


def supports_xla(model: keras.Model) -> bool:
    """Whether XLA can compile every layer (Keras marks layers it cannot, e.g. image augmentation)."""
    return all(getattr(layer, "supports_jit", True) for layer in leaf_layers(model))


def per_example_loss(loss):
    """The loss with ``reduction=None``: one value per sample (losses given as strings or
    functions are Keras's per-sample functions already)."""
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    if isinstance(loss, str):
        return keras.losses.get(loss)
    return loss


def correctness_fn(model: keras.Model, loss):
    """``fn(y, outputs) -> float32 0/1 per sample`` for classification losses, else ``None``."""
    name, classes = loss_name(loss), num_outputs(model)
    if "sparse_categorical" in name:
        return lambda y, out: tf.cast(tf.equal(tf.argmax(out, -1), tf.cast(tf.reshape(y, [-1]), tf.int64)), tf.float32)
    if "categorical" in name:
        return lambda y, out: tf.cast(tf.equal(tf.argmax(out, -1), tf.argmax(y, -1)), tf.float32)
    if "binary" in name and classes == 1:
        cut = 0.0 if loss_from_logits(loss) else 0.5
        return lambda y, out: tf.cast(tf.equal(tf.reshape(out, [-1]) > cut, tf.reshape(y, [-1]) > 0.5), tf.float32)
    return None


@dataclass
class ChunkResult:
    """Per-sample outputs of one chunk, padding removed.

    ``loss``/``correct``: the evaluated pass for each processed sample (NaN/absent past a stop);
    ``steps``: micro-batches run (including a stopping one); ``finite``: False if it stopped on a
    non-finite loss; ``updates``: weight updates made (``optimizer.iterations`` counts one per
    ``gradient_accumulation_steps`` micro-batches).
    """

    loss: np.ndarray
    correct: np.ndarray | None
    steps: int
    finite: bool
    updates: int


class TapeStepper:
    """Runs compiled GradientTape updates over chunks of micro-batches (chapter 1).

    ``prequential=True`` returns each sample's loss/correctness as predicted *before* its
    update in inference mode (online learning); ``False`` returns the training pass's values,
    as ``model.fit`` reports them (mini-batch epochs). ``jit_compile="auto"`` compiles with XLA
    unless a layer does not support it.
    """

    def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, *,
                 prequential: bool = True, jit_compile: bool | str = "auto"):
        self.model, self.optimizer = model, optimizer
        self.loss_fn = per_example_loss(loss)
        self.correct_fn = correctness_fn(model, loss)
        self.prequential = prequential
        self.reuse_training_pass = not prequential or behaves_same_in_training(model)
        if jit_compile == "auto":
            jit_compile = supports_xla(model)
        self.variables = model.trainable_variables
        optimizer.build(self.variables)
        self._state = [*model.variables, *optimizer.variables]
        self._snapshot = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in self._state]
        self.run_chunk = tf.function(self._run_chunk, jit_compile=jit_compile)
        self.run_checked_chunk = tf.function(lambda *a: self._run_chunk(*a, check_gradients=True),
                                             jit_compile=jit_compile)
        self._restore = tf.function(lambda: [v.assign(s) for v, s in zip(self._state, self._snapshot)])

    def _evaluated(self, y, outputs):
        loss = self.loss_fn(y, outputs)
        correct = self.correct_fn(y, outputs) if self.correct_fn else tf.zeros_like(loss)
        return tf.cast(loss, tf.float32), correct

    def _step(self, x, y, mask, x_pred, y_pred, check_gradients):
        if x_pred is not None or not self.reuse_training_pass:
            seen_x, seen_y = (x, y) if x_pred is None else (x_pred, y_pred)
            pred_loss, pred_correct = self._evaluated(seen_y, self.model(seen_x, training=False))
        with tf.GradientTape() as tape:
            outputs = self.model(x, training=True)
            losses = tf.cast(self.loss_fn(y, outputs), tf.float32)
            labelled = tf.reduce_sum(mask)
            loss = tf.reduce_sum(losses * mask) / tf.maximum(labelled, 1.0)
            if self.model.losses:
                loss += tf.add_n([tf.cast(extra, tf.float32) for extra in self.model.losses])
            scaled = self.optimizer.scale_loss(loss)
        if x_pred is None and self.reuse_training_pass:
            pred_loss, pred_correct = self._evaluated(y, outputs)
        grads = tape.gradient(scaled, self.variables)
        finite = tf.math.is_finite(loss)
        if check_gradients:
            finite = tf.reduce_all([finite] + [tf.reduce_all(tf.math.is_finite(g)) for g in grads])

        def update():
            self.optimizer.apply_gradients(zip(grads, self.variables))
            return tf.constant(True)

        tf.cond(tf.logical_and(finite, labelled > 0), update, lambda: tf.constant(False))
        return pred_loss, pred_correct, finite

    def _run_chunk(self, x, y, mask, steps, x_pred=None, y_pred=None, check_gradients=False):
        for saved, variable in zip(self._snapshot, self._state):
            saved.assign(variable)
        size = x.shape[0]
        losses = tf.TensorArray(tf.float32, size=size, element_shape=mask.shape[1:])
        correct = tf.TensorArray(tf.float32, size=size, element_shape=mask.shape[1:])

        def keep_going(i, finite, losses, correct):
            return tf.logical_and(i < steps, finite)

        def body(i, finite, losses, correct):
            xp = None if x_pred is None else x_pred[i]
            yp = None if y_pred is None else y_pred[i]
            step_loss, step_correct, finite = self._step(x[i], y[i], mask[i], xp, yp, check_gradients)
            return i + 1, finite, losses.write(i, step_loss), correct.write(i, step_correct)

        steps_run, finite, losses, correct = tf.while_loop(
            keep_going, body, (tf.constant(0), tf.constant(True), losses, correct))
        weights_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in self.variables])
        return losses.stack(), correct.stack(), steps_run, finite, weights_finite

    def run(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, steps_per_chunk: int,
            mask: np.ndarray | None = None, x_pred: np.ndarray | None = None,
            y_pred: np.ndarray | None = None) -> ChunkResult:
        """Learn from up to ``steps_per_chunk * batch_size`` samples in one compiled call.

        Inputs are padded to that fixed shape, so the step traces once per input signature.
        ``mask`` (1 = labelled) defaults to all ones; ``x_pred``/``y_pred`` are the samples to
        predict at each step when labels arrive late (they default to ``x``/``y``).
        """
        n = len(x)
        capacity = steps_per_chunk * batch_size
        if not 0 < n <= capacity:
            raise ValueError(f"A chunk holds 1..{capacity} samples, got {n}.")
        mask = np.ones(n, np.float32) if mask is None else mask.astype(np.float32)

        def fold(a: np.ndarray) -> tf.Tensor:
            padded = np.zeros((capacity, *a.shape[1:]), a.dtype)
            padded[:n] = a
            return tf.convert_to_tensor(padded.reshape(steps_per_chunk, batch_size, *a.shape[1:]))

        inputs = (fold(x), fold(y), fold(mask), tf.constant(-(-n // batch_size)))
        if x_pred is not None:
            inputs += (fold(x_pred), fold(y_pred))
        iterations_before = int(self.optimizer.iterations)
        losses, correct, steps_run, finite, weights_finite = self.run_chunk(*inputs)
        if not weights_finite:  # an applied update was not finite: replay, checking every gradient
            self._restore()
            losses, correct, steps_run, finite, _ = self.run_checked_chunk(*inputs)
        done = min(int(steps_run) * batch_size, n)
        return ChunkResult(
            loss=losses.numpy().reshape(-1)[:done],
            correct=correct.numpy().reshape(-1)[:done] if self.correct_fn else None,
            steps=int(steps_run), finite=bool(finite), updates=int(self.optimizer.iterations) - iterations_before,
        )
