"""Mini-batch training with a compiled GradientTape loop: ``model.fit``'s math, by hand (chapter 1).

Same seed, same sample order and one epoch give the same weights as ``model.fit`` (tested
to 1e-5), so learners can see that ``fit`` is nothing but this loop, and modify it.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.checks import check_finite_inputs
from toolkit.training.adapters import array_epoch
from toolkit.training.callbacks import ProgressBar
from toolkit.training.checkpoints import SaveState, open_state
from toolkit.training.execution import MAX_CALL_SAMPLES, CallPlan, tape_run
from toolkit.training.setup import shaped
from toolkit.training.trainer import RunState, Trainer, Window


def train_minibatch(
    model: keras.Model, train: tuple[np.ndarray, np.ndarray], *, optimizer="adam", loss=None, epochs: int = 1,
    batch_size: int = 32, validation_data: tuple[np.ndarray, np.ndarray] | None = None, shuffle: bool = True,
    seed: int = 0, callbacks: Sequence[keras.callbacks.Callback] = (), checkpoint_dir: str | None = None,
    resume: bool = False, jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None,
    verbose: int = 1,
) -> keras.callbacks.History:
    """Train for ``epochs`` over ``(x, y)`` in mini-batches with compiled GradientTape steps (chapter 1).

    Returns a ``keras.callbacks.History`` (``tk.RunHistory``) with a row per epoch: ``epoch``,
    ``samples``, ``updates``, ``time``, the training-pass ``loss``/``accuracy`` (as ``fit`` reports
    them) and ``val_*`` given ``validation_data``. The last batch of an epoch may be smaller, as in
    ``fit``. ``callbacks`` are Keras callbacks, called as ``fit`` calls them. With ``checkpoint_dir``
    every epoch is saved; ``resume=True`` continues from the newest save. With a ``strategy``
    (``MirroredStrategy`` or ``MultiWorkerMirroredStrategy``, chapter 4) ``batch_size`` is the global
    batch, split among the replicas: build the model inside ``strategy.scope()``.
    """
    x, y = train
    plan = CallPlan.covering(len(x), batch_size)  # whole batches; one call when the data fit
    tape = tape_run(model, x[:MAX_CALL_SAMPLES], y[:MAX_CALL_SAMPLES], optimizer=optimizer, loss=loss,
                    prequential=False, batch_size=batch_size, jit_compile=jit_compile, strategy=strategy)
    x, y = shaped(x, model), np.asarray(y)
    check_finite_inputs(x)
    n = len(x)
    state, restored = open_state(checkpoint_dir, model, tape.optimizer, resume=resume, strategy=strategy)
    done, log = restored or (0, {})
    run = RunState.restored(log, tape.params(batch_size=batch_size, epochs=epochs))
    trainer = Trainer(model, tape.optimizer, tape.stepper, tape.loss, plan,
                      report=_epoch_report(tape.stepper.correct_fn is not None), validation_data=validation_data)
    windows = (Window(epoch, array_epoch(x, y, epoch, chunk=plan.samples, shuffle=shuffle, seed=seed),
                      {"epoch": epoch + 1, "samples": (epoch + 1) * n}) for epoch in range(done, epochs))
    saver = SaveState(state, run.log, position_key="epoch", every=1, total=epochs, saved_at=done) if state else None
    progress = ProgressBar(epochs * n, start=done * n) if verbose else None
    return trainer.run(windows, run, callbacks=callbacks, progress=progress, saver=saver)


def _epoch_report(with_accuracy: bool):
    """The epoch's training-pass means, as ``fit`` reports them."""
    def report(score):
        result = score.result()
        return {"loss": result["window_loss"], **({"accuracy": result["window_accuracy"]} if with_accuracy else {})}
    return report
