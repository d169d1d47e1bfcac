"""The one loop behind ``train_minibatch`` and ``train_online`` (chapter 1).

As in Keras's ``trainers/``, the adapter owns the inputs (``toolkit.training.adapters``), the
stepper owns the compiled steps (``toolkit.training.stepper``), and the trainer owns the windows,
the callbacks and distribution. A *window* is an epoch of the mini-batch loop, or ``log_every``
samples of the online loop. After each window the trainer hands a row of metrics to every callback
as an epoch's logs: the history, the progress bar, the checkpoints, and any
``keras.callbacks.Callback`` of the user's (``TensorBoard``, ``CSVLogger``, ``EarlyStopping``, ...).
A callback that sets ``model.stop_training`` ends the run after the current window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import keras
import numpy as np

from toolkit.errors import NonFiniteLossError
from toolkit.evaluation.losses import check_labels
from toolkit.evaluation.metrics import validation_row
from toolkit.evaluation.prequential import PrequentialScore
from toolkit.runtime import Stopwatch
from toolkit.training.adapters import Chunk, merge
from toolkit.training.callbacks import ProgressBar, learning_rate_of, non_finite_message
from toolkit.training.checkpoints import SaveState
from toolkit.training.execution import CallPlan
from toolkit.training.history import RunHistory
from toolkit.training.stepper import ChunkResult, TapeStepper


@dataclass
class Window:
    """The chunks of one window, and the row fields known before it runs (``epoch``, ``samples``)."""

    index: int
    chunks: Iterable[Chunk]
    fields: dict = field(default_factory=dict)


@dataclass
class RunState:
    """What a run carries from window to window, and saves in its checkpoints."""

    history: RunHistory
    score: PrequentialScore
    updates: int = 0
    watch: Stopwatch = field(default_factory=Stopwatch)

    @classmethod
    def restored(cls, log: dict, params: dict) -> RunState:
        """The state an earlier run saved (``log`` from ``TrainingState.restore``), or a fresh one."""
        history = RunHistory(log.get("history", {}), params=params)
        watch = Stopwatch(history.last("time") if history.rows else 0.0)
        return cls(history, PrequentialScore.from_state(log.get("score", {})), int(log.get("updates", 0)), watch)

    def log(self) -> dict:
        """The JSON log a checkpoint stores."""
        return {"history": self.history.history, "score": self.score.state(), "updates": self.updates}


@dataclass
class Trainer:
    """Runs windows of chunks through a stepper and reports each window to the callbacks.

    With ``plan.fuse`` > 0, consecutive one-chunk windows are learned together in compiled calls of up to
    ``plan.fuse`` samples, then reported one by one exactly as if run apart: the per-sample results carry
    each window's metrics. Fuse only when nothing reads the model at the end of a window
    (validation, checkpoints, a user's callbacks), since the model is then one call ahead.
    """

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    stepper: TapeStepper
    loss: object
    plan: CallPlan
    report: Callable[[PrequentialScore], dict]
    validation_data: tuple | None = None

    @property
    def batch_size(self) -> int:
        """Samples per micro-batch (one update each)."""
        return self.plan.batch_size

    def compute(self, chunk: Chunk, run: RunState, steps: int | None = None) -> ChunkResult:
        """One compiled call on a chunk (timed as training), of ``steps`` micro-batches (padded)."""
        check_labels(chunk.y, self.model, self.loss)
        steps = steps or self.plan.steps
        with run.watch.running():
            return self.stepper.run(chunk.x, chunk.y, self.batch_size, steps_per_chunk=steps, mask=chunk.mask,
                                    x_pred=chunk.x_pred, y_pred=chunk.y_pred)

    def account(self, chunk: Chunk, result: ChunkResult, run: RunState, checkpoint: str | None) -> None:
        """Add a chunk's results to the run; raises ``NonFiniteLossError`` naming the sample that stopped it."""
        if not result.finite:
            first = (result.steps - 1) * self.batch_size  # the micro-batch that stopped the run
            losses, ids = result.loss[first:], chunk.ids[first:]
            bad = np.flatnonzero(~np.isfinite(losses))
            what = (f"The loss became {losses[bad[0]]} at {chunk.where.format(int(ids[bad[0]]))}" if len(bad) else
                    "A gradient or the update it made became NaN/inf (the loss stayed finite) at the batch starting at "
                    f"{chunk.where.format(int(ids[0]))}")
            raise NonFiniteLossError(non_finite_message(what, run.updates + result.total_updates,
                                                        learning_rate_of(self.optimizer), checkpoint))
        run.updates += result.total_updates
        run.score.update(result.loss, result.correct)

    def run(self, windows: Iterable[Window], run: RunState, *, callbacks: Sequence[keras.callbacks.Callback] = (),
            progress: ProgressBar | None = None, saver: SaveState | None = None) -> RunHistory:
        """Train window by window, calling the callbacks as ``fit`` does; returns the run's history.

        For the whole run ``model.optimizer`` is the optimizer that trains, so callbacks such as
        ``LearningRateScheduler`` act on it; what it was before is restored afterwards. As at the end of
        ``fit``, an optimizer with ``use_ema=True`` leaves the moving averages in the weights.
        """
        before = getattr(self.model, "optimizer", None)
        self.model.optimizer = self.optimizer
        try:
            self._run(windows, run, callbacks=callbacks, progress=progress, saver=saver)
        finally:
            self.model.optimizer = before
            run.history.params["jit_compile"] = bool(self.stepper.jit_compile)  # XLA may have refused the step
        return run.history

    def _run(self, windows: Iterable[Window], run: RunState, *, callbacks: Sequence[keras.callbacks.Callback],
             progress: ProgressBar | None, saver: SaveState | None) -> None:
        listed = [run.history, *(c for c in (progress, saver) if c is not None), *callbacks]
        hooks = keras.callbacks.CallbackList(listed, model=self.model, **run.history.params)
        self.model.stop_training = False
        checkpoint = saver.state.latest if saver else None
        hooks.on_train_begin()
        for window, learned in self._learned(windows, run):
            hooks.on_epoch_begin(window.index)
            for step, (chunk, result_of) in enumerate(learned):
                hooks.on_train_batch_begin(step)
                result = result_of()
                self.account(chunk, result, run, checkpoint)
                hooks.on_train_batch_end(step, {"loss": float(np.mean(result.loss))})
            row = {**window.fields, "updates": run.updates, "time": run.watch.elapsed, **self.report(run.score),
                   **validation_row(self.model, self.validation_data, self.loss)}
            run.score.close_window()
            hooks.on_epoch_end(window.index, row)
            checkpoint = saver.state.latest if saver else None
            if self.model.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer.finalize_variable_values(self.model.trainable_variables)
        hooks.on_train_end()

    def _learned(self, windows: Iterable[Window], run: RunState) -> Iterator[tuple[Window, Iterable]]:
        """Each window with ``(chunk, result_of)`` pairs: one compiled call per chunk, made when
        ``result_of()`` is called, or, with ``fuse``, one call per group of windows, made before it."""
        if not self.plan.fuse:
            for window in windows:
                yield window, ((chunk, partial(self.compute, chunk, run)) for chunk in window.chunks)
            return
        for group in self._groups(windows):
            chunks = [window.chunks[0] for window in group]
            start = run.watch.elapsed
            fused = self.compute(merge(chunks), run, steps=self.plan.fuse // self.batch_size)
            seconds, sizes = run.watch.elapsed - start, np.cumsum([len(c.x) for c in chunks])
            for window, chunk, result, done in zip(group, chunks, fused.split(sizes, self.batch_size), sizes):
                run.watch.elapsed = start + seconds * done / sizes[-1]  # the call's time, shared by samples
                yield window, [(chunk, lambda result=result: result)]

    def _groups(self, windows: Iterable[Window]) -> Iterator[list[Window]]:
        """Consecutive windows of one chunk each, in groups of at most ``plan.fuse`` samples."""
        group: list[Window] = []
        for window in windows:
            (chunk,) = window.chunks  # fusing needs one chunk per window
            if group and sum(len(w.chunks[0].x) for w in group) + len(chunk.x) > self.plan.fuse:
                yield group
                group = []
            window.chunks = [chunk]
            group.append(window)
        if group:
            yield group
