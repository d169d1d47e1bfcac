"""The three training loops that Keras 3.15.1's callback tests are run against, and the mapping of a
``model.fit(x, y, **kwargs)`` call onto each (tests/keras_contract).

* ``fit``: ``model.fit`` itself, unchanged: the control.
* ``minibatch``: ``tk.train_minibatch(model, (x, y), ...)``: one Keras batch is one mini-batch.
* ``online``: ``tk.train_online(model, stream, ...)``: ``fit(x, y, batch_size=B, epochs=E)`` on N samples
  becomes a stream of the E passes laid end to end, in order (never reshuffled), read as
  ``chunk_size=B`` (one compiled chunk = one Keras batch) with micro-batches of ``batch_size=B`` (one
  update per chunk, as fit makes one per batch, and a model built for a fixed batch of B still fits),
  ``log_every=N`` (one window = one Keras epoch) and ``max_samples=E*N``. With B > N (fit's default
  batch_size=32 on the tests' 2..10 samples) fit makes one batch of N per epoch, so both are min(B, N).

``validation_split=v`` is mapped for both toolkit loops exactly as ``fit`` applies it (before any
shuffling, the last ``floor``-split part of the arrays is held out: keras array_slicing.train_validation_split).
``validation_freq``, ``initial_epoch`` (online), and any other ``fit`` argument have no mapping: ``train``
raises ``NotMapped`` so a test cannot silently run something else than the scenario it states.
"""

from __future__ import annotations

import math
import tempfile
import unittest

import numpy as np
import pytest

LOOPS = ["fit", "minibatch", "online"]
TOOLKIT_LOOPS = ["minibatch", "online"]


def loops_except(reasons: dict[str, str]) -> list:
    """``LOOPS``, with each loop named in ``reasons`` expected to fail for the reason given: the loop
    differs from ``fit`` there on purpose (listed in the test file's docstring)."""
    return [pytest.param(loop, marks=pytest.mark.xfail(strict=True, reason=reasons[loop])) if loop in reasons
            else loop for loop in LOOPS]


# The prequential prediction is a separate forward pass (inference mode) for a layer the toolkit does not
# know to compute the same in training, so a layer that counts its calls counts two per sample online.
COUNTS_FORWARD_PASSES = {"online": "online learning predicts each sample before learning it: two forward passes"}

FIT_DEFAULT_BATCH_SIZE = 32  # model.fit(batch_size=None) means 32 for arrays


class NotMapped(TypeError):
    """A ``fit`` argument that a toolkit loop has no counterpart for."""


class _Assertions(unittest.TestCase):
    """unittest's assertion methods (assertEqual, assertRaisesRegex, assertLogs, ...) for plain test functions,
    plus the two that keras.src.testing.TestCase adds and the ported tests use (assertLen, assertAllClose)."""

    maxDiff = None

    def runTest(self):  # lets the class be instantiated outside a unittest run
        pass

    def assertLen(self, container, expected_len, msg=None):
        self.assertEqual(len(container), expected_len, msg)

    def assertAllClose(self, actual, desired, atol=1e-6, rtol=1e-6, msg=None):
        from keras import ops

        np.testing.assert_allclose(ops.convert_to_numpy(actual), ops.convert_to_numpy(desired), atol=atol, rtol=rtol,
                                   err_msg=msg or "")


tc = _Assertions()


def new_temp_dir(tmp_path) -> str:
    """``keras.src.testing.TestCase.get_temp_dir()``: a new, empty directory on every call, here under tmp_path."""
    return tempfile.mkdtemp(dir=tmp_path)


@pytest.fixture(autouse=True)
def keras_test_case_setup(seeded):
    """What ``keras.src.testing.TestCase.setUp`` does (clear Keras' global state), then the project's seeds again
    (``clear_session`` forgets the Keras seed that tests/conftest.py's ``seeded`` fixture set)."""
    from keras.src.backend.common.global_state import clear_session

    import toolkit as tk

    clear_session(free_memory=False)
    tk.seed_everything(0)


@pytest.fixture
def restore_keras_logging():
    """The verbose-logging tests call io_utils.disable_interactive_logging() and set_logging_verbosity("INFO"),
    process-wide; put both back afterwards so the rest of the (one-process) suite is unaffected."""
    from absl import logging as absl_logging
    from keras.src.utils import io_utils

    interactive, verbosity = io_utils.is_interactive_logging_enabled(), absl_logging.get_verbosity()
    yield
    (io_utils.enable_interactive_logging if interactive else io_utils.disable_interactive_logging)()
    absl_logging.set_verbosity(verbosity)


def _split(x, y, validation_split: float):
    """``fit``'s validation_split: train on the first floor(n * (1 - v)) samples, validate on the rest."""
    n = len(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def train(loop: str, model, x, y, **kwargs):
    """Run ``model.fit(x, y, **kwargs)`` as ``loop`` runs it; returns the loop's ``keras.callbacks.History``."""
    if loop == "fit":
        return model.fit(x, y, **kwargs)

    import toolkit as tk

    kwargs = dict(kwargs)
    batch_size = kwargs.pop("batch_size", None) or FIT_DEFAULT_BATCH_SIZE
    epochs = kwargs.pop("epochs", 1)
    validation_data = kwargs.pop("validation_data", None)
    validation_split = kwargs.pop("validation_split", 0.0)
    callbacks = list(kwargs.pop("callbacks", None) or ())
    verbose = kwargs.pop("verbose", "auto")
    verbose = 1 if verbose == "auto" else verbose
    initial_epoch = kwargs.pop("initial_epoch", 0)
    if kwargs:
        raise NotMapped(f"model.fit arguments {sorted(kwargs)} have no counterpart in the {loop} loop")
    if validation_split:
        if validation_data is not None:
            raise NotMapped("fit ignores validation_split when validation_data is given; pass only one")
        (x, y), validation_data = _split(x, y, validation_split)
    common = dict(validation_data=validation_data, callbacks=callbacks, verbose=verbose)

    if loop == "minibatch":
        return tk.train_minibatch(model, (x, y), epochs=epochs, batch_size=batch_size, initial_epoch=initial_epoch,
                                  **common)
    if loop == "online":
        if initial_epoch:
            raise NotMapped("a stream has no initial_epoch")
        n = len(x)
        # fit's batches never span epochs: with batch_size > n, an epoch is one batch of n samples. A log
        # window holds whole micro-batches, so where n is not a multiple of the batch, the micro-batch is the
        # largest size that divides both (fit's last, smaller batch has no counterpart in a stream).
        batch = math.gcd(min(batch_size, n), n)
        stream = tk.Stream.from_arrays(np.concatenate([x] * epochs), np.concatenate([y] * epochs), shuffle=False)
        return tk.train_online(model, stream, batch_size=batch, chunk_size=batch, log_every=n,
                               max_samples=epochs * n, **common)
    raise ValueError(f"unknown loop {loop!r}; expected one of {LOOPS}")
