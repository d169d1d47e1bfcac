"""Keras 3.15.1 keras/src/callbacks/backup_and_restore_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- BackupAndRestoreCallbackTest became plain pytest functions; ``make_model`` a module function;
  ``self.assert*`` calls go to ``loops.tc`` (unittest's own assertion methods), unchanged.
- ``self.get_temp_dir()`` -> a fresh directory under pytest's ``tmp_path`` (loops.new_temp_dir).
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend).
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects); ``file_utils`` still from keras.src.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. The resume tests (best_case_step/epoch, backup_corrupted) resume through
``model._initial_epoch``, which BackupAndRestore sets and fit honours. Known difference (strict xfail),
online only: their CanaryLayer counts forward passes, and online learning predicts each sample in
inference mode before learning it (prequential), two passes where fit makes one. The tests keep the original's
``try: fit ... except RuntimeError:`` shape, so (as in Keras) their assertions run only if the
interruption propagates out of the loop.
"""

import numpy as np
import pytest
from keras import callbacks, layers
from keras.models import Sequential
from keras.src.utils import file_utils
from loops import COUNTS_FORWARD_PASSES, LOOPS, keras_test_case_setup, loops_except, new_temp_dir, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


class InterruptingCallback(callbacks.Callback):
    """A callback to intentionally interrupt training."""

    def __init__(self, steps_int, epoch_int):
        self.batch_count = 0
        self.epoch_count = 0
        self.steps_int = steps_int
        self.epoch_int = epoch_int

    def on_epoch_end(self, epoch, log=None):
        self.epoch_count += 1
        if self.epoch_int is not None and self.epoch_count == self.epoch_int:
            raise RuntimeError("EpochInterruption")

    def on_batch_end(self, batch, logs=None):
        self.batch_count += 1
        if self.steps_int is not None and self.batch_count == self.steps_int:
            raise RuntimeError("StepsInterruption")


class CanaryLayer(layers.Layer):
    def __init__(self):
        super().__init__()
        self.counter = self.add_weight(
            shape=(), initializer="zeros", dtype="float32", trainable=False
        )

    def call(self, x):
        self.counter.assign_add(1)
        return x


def make_model():
    model = Sequential(
        [
            layers.Input((3,)),
            CanaryLayer(),
            layers.Dense(1),
        ]
    )
    model.compile(
        loss="mse",
        optimizer="sgd",
        metrics=["mse"],
    )
    return model


# Check invalid save_freq, both string and non integer
def test_save_freq_unknown_error():
    with tc.assertRaisesRegex(ValueError, expected_regex="Invalid value"):
        callbacks.BackupAndRestore(
            backup_dir="backup_dir", save_freq="batch"
        )

    with tc.assertRaisesRegex(ValueError, expected_regex="Invalid value"):
        callbacks.BackupAndRestore(backup_dir="backup_dir", save_freq=0.15)


# Checking if after interruption, correct model params and
# weights are loaded in step-wise backup
@pytest.mark.parametrize("loop", loops_except(COUNTS_FORWARD_PASSES))
def test_best_case_step(loop, tmp_path):
    temp_dir = new_temp_dir(tmp_path)
    backup_dir = file_utils.join(temp_dir, "subdir")
    tc.assertFalse(file_utils.exists(backup_dir))

    model = make_model()
    cbk = callbacks.BackupAndRestore(backup_dir, save_freq=1)

    x_train = np.random.random((10, 3))
    y_train = np.random.random((10, 1))

    try:
        train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=4,
            callbacks=[
                cbk,
                InterruptingCallback(steps_int=2, epoch_int=None),
            ],
            epochs=2,
            verbose=0,
        )
    except RuntimeError:
        tc.assertTrue(file_utils.exists(backup_dir))
        tc.assertEqual(cbk._current_epoch, 0)
        tc.assertEqual(cbk._last_batch_seen, 1)
        tc.assertEqual(int(model.layers[0].counter.value), 2)

        hist = train(
            loop, model, x_train, y_train, batch_size=4, callbacks=[cbk], epochs=5
        )

        tc.assertEqual(cbk._current_epoch, 5)
        tc.assertEqual(hist.epoch[-1], 4)
        tc.assertEqual(int(model.layers[0].counter.value), 17)


# Checking if after interruption, correct model params and
# weights are loaded in epoch-wise backup
@pytest.mark.parametrize("loop", loops_except(COUNTS_FORWARD_PASSES))
def test_best_case_epoch(loop, tmp_path):
    temp_dir = new_temp_dir(tmp_path)
    backup_dir = file_utils.join(temp_dir, "subdir")
    tc.assertFalse(file_utils.exists(backup_dir))

    model = make_model()
    tc.assertEqual(int(model.layers[0].counter.value), 0)
    cbk = callbacks.BackupAndRestore(
        backup_dir=backup_dir, save_freq="epoch"
    )

    x_train = np.random.random((10, 3))
    y_train = np.random.random((10, 1))

    try:
        train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=4,
            callbacks=[
                cbk,
                InterruptingCallback(steps_int=None, epoch_int=2),
            ],
            epochs=6,
            verbose=0,
        )
    except RuntimeError:
        tc.assertEqual(cbk._current_epoch, 2)
        tc.assertTrue(file_utils.exists(backup_dir))
        tc.assertEqual(int(model.layers[0].counter.value), 6)

        hist = train(
            loop, model, x_train, y_train, batch_size=4, callbacks=[cbk], epochs=5
        )
        tc.assertEqual(cbk._current_epoch, 5)
        tc.assertEqual(hist.epoch[-1], 4)
        tc.assertEqual(int(model.layers[0].counter.value), 5 * 3)


# Checking if after interruption and weights corruption, previous model
# params and weights are loaded
@pytest.mark.parametrize("loop", loops_except(COUNTS_FORWARD_PASSES))
def test_backup_corrupted(loop, tmp_path):
    temp_dir = new_temp_dir(tmp_path)
    backup_dir = file_utils.join(temp_dir, "subdir")
    tc.assertFalse(file_utils.exists(backup_dir))

    model = make_model()
    tc.assertEqual(int(model.layers[0].counter.value), 0)
    cbk = callbacks.BackupAndRestore(
        backup_dir=backup_dir, save_freq="epoch", double_checkpoint=True
    )

    x_train = np.random.random((10, 3))
    y_train = np.random.random((10, 1))

    try:
        train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=4,
            callbacks=[
                cbk,
                InterruptingCallback(steps_int=None, epoch_int=2),
            ],
            epochs=6,
            verbose=0,
        )
    except RuntimeError:
        tc.assertEqual(cbk._current_epoch, 2)
        tc.assertTrue(file_utils.exists(backup_dir))
        tc.assertTrue(file_utils.exists(cbk._weights_path))
        tc.assertTrue(file_utils.exists(cbk._training_metadata_path))
        tc.assertTrue(file_utils.exists(cbk._prev_weights_path))
        tc.assertTrue(file_utils.exists(cbk._prev_training_metadata_path))
        tc.assertEqual(int(model.layers[0].counter.value), 6)

        # Corruption weights
        with file_utils.File(cbk._weights_path, "w") as f:
            f.write("0")

        hist = train(
            loop, model, x_train, y_train, batch_size=4, callbacks=[cbk], epochs=5
        )
        tc.assertEqual(cbk._current_epoch, 5)
        tc.assertEqual(hist.epoch[-1], 4)
        tc.assertEqual(int(model.layers[0].counter.value), 5 * 3)


# Checking if after interruption, when model is deleted
@pytest.mark.parametrize("loop", LOOPS)
def test_model_deleted_case_epoch(loop, tmp_path):
    temp_dir = new_temp_dir(tmp_path)
    backup_dir = file_utils.join(temp_dir, "subdir")
    tc.assertFalse(file_utils.exists(backup_dir))

    model = make_model()
    cbk = callbacks.BackupAndRestore(backup_dir, save_freq="epoch")

    x_train = np.random.random((10, 3))
    y_train = np.random.random((10, 1))
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=4,
        callbacks=[cbk],
        epochs=2,
        verbose=0,
    )
    tc.assertFalse(file_utils.exists(backup_dir))


def test_backup_dir_empty_error():
    with tc.assertRaisesRegex(
        ValueError, expected_regex="Empty `backup_dir` argument passed"
    ):
        callbacks.BackupAndRestore(backup_dir="", save_freq="epoch")


def test_backup_dir_none_error():
    with tc.assertRaisesRegex(
        ValueError, expected_regex="Empty `backup_dir` argument passed"
    ):
        callbacks.BackupAndRestore(backup_dir=None, save_freq="epoch")
