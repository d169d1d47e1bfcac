"""The wiring every GradientTape loop shares: guards, the compiled stepper, and how many samples one
compiled call takes (``train_online``, ``train_minibatch``, ``find_lr``; chapters 1 and 2).

``CallPlan`` plays the role of Keras's ``steps_per_execution`` and ``EpochIterator``: it alone decides
how many micro-batches a compiled call runs, so the loops only say how much data they want per call.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from toolkit.errors import ArgumentError
from toolkit.evaluation.losses import check_reduction
from toolkit.training.setup import prepare_run
from toolkit.training.shared_steps import stepper_for
from toolkit.training.stepper import TapeStepper

# Most samples one compiled call takes: a larger call pads more and holds more results in memory,
# a smaller one pays the call's fixed cost (about 1 ms: launch, state snapshot, Python) more often.
MAX_CALL_SAMPLES = 8192
# Samples per call when several log windows may share one (see ``Trainer.fuse``): enough that the fixed
# cost is a few percent of the work.
FUSED_SAMPLES = 4096


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ArgumentError(f"batch_size must be a positive whole number, got {batch_size!r}.")
    return int(batch_size)


@dataclass(frozen=True)
class CallPlan:
    """``steps`` micro-batches of ``batch_size`` per compiled call; with ``fuse`` > 0, several windows of
    one call each may be learned together in calls of up to ``fuse`` samples."""

    batch_size: int
    steps: int
    fuse: int = 0

    def __post_init__(self):
        _check_batch_size(self.batch_size)

    @property
    def samples(self) -> int:
        """Samples one compiled call holds."""
        return self.steps * self.batch_size

    @classmethod
    def covering(cls, samples: int, batch_size: int) -> CallPlan:
        """Calls that cover ``samples`` (an epoch, say) in as few calls as ``MAX_CALL_SAMPLES`` allows."""
        return cls(batch_size, -(-min(samples, MAX_CALL_SAMPLES) // _check_batch_size(batch_size)))

    @classmethod
    def per_window(cls, window: int, batch_size: int, *, fused: bool) -> CallPlan:
        """One call per log window of ``window`` samples (whole micro-batches, at least one); ``fused``
        lets consecutive windows share calls of about ``FUSED_SAMPLES``."""
        plan = cls(batch_size, max(1, window // _check_batch_size(batch_size)))
        return cls(batch_size, plan.steps, max(1, FUSED_SAMPLES // plan.samples) * plan.samples if fused else 0)


@dataclass
class TapeRun:
    """What a tape loop trains with: the optimizer and loss it built, and the compiled stepper."""

    optimizer: keras.optimizers.Optimizer
    loss: object
    stepper: TapeStepper

    def params(self, **more) -> dict:
        """The history's ``params``: what the run was asked, and the engine it used (``jit_compile``)."""
        return {**more, "jit_compile": bool(self.stepper.jit_compile)}


def tape_run(model: keras.Model, x_probe: np.ndarray, y_probe: np.ndarray, *, optimizer, loss, prequential: bool,
             batch_size: int, jit_compile: bool | str = "auto",
             strategy: tf.distribute.Strategy | None = None) -> TapeRun:
    """Check the set-up on a probe of the data, build the optimizer and loss, and get the compiled stepper
    (shared between models where that is faithful: ``toolkit.training.shared_steps``)."""
    if jit_compile not in (True, False, "auto"):
        raise ArgumentError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
    check_reduction(loss)
    optimizer, loss = prepare_run(model, x_probe, y_probe, optimizer, loss, strategy)
    stepper = stepper_for(model, optimizer, loss, prequential=prequential, batch_size=int(batch_size),
                          jit_compile=jit_compile, strategy=strategy)
    return TapeRun(optimizer, loss, stepper)
