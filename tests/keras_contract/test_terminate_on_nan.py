"""Keras 3.15.1 keras/src/callbacks/terminate_on_nan_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- TerminateOnNaNTest (absl parameterized TestCase) became plain pytest functions; its class-level
  ``@pytest.mark.requires_trainable_backend`` was dropped (TensorFlow backend); ``self.assert*`` calls
  go to ``loops.tc`` (unittest's assertion methods, ``assertRaises(...) as exc`` included), unchanged.
- ``@parameterized.named_parameters(("raise_error_false", False), ("raise_error_true", True))`` ->
  ``@pytest.mark.parametrize("raise_error", ..., ids=[same names])``, crossed with the loop.
- ``self.get_temp_dir()`` -> ``new_temp_dir(tmp_path)``, a new directory under pytest's ``tmp_path``.
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects; ``numerical_utils.to_categorical`` is
  ``keras.utils.to_categorical``); absl's ``parameterized`` no longer imported.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. The online mapping keeps the batches (batch_size=1 -> chunks of 1 sample),
so "NaN at batch 0/1" and "stop within the epoch" are the same claims for the stream.
"""

import os

import numpy as np
import pytest
from keras import callbacks, initializers, layers, models
from keras.callbacks import BackupAndRestore, TerminateOnNaN
from keras.models import Sequential
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, new_temp_dir, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


@pytest.mark.parametrize("loop", LOOPS)
def test_TerminateOnNaN(loop):
    TRAIN_SAMPLES = 10
    TEST_SAMPLES = 10
    INPUT_DIM = 3
    NUM_CLASSES = 2
    BATCH_SIZE = 4

    np.random.seed(1337)
    x_train = np.random.random((TRAIN_SAMPLES, INPUT_DIM))
    y_train = np.random.choice(np.arange(NUM_CLASSES), size=TRAIN_SAMPLES)
    x_test = np.random.random((TEST_SAMPLES, INPUT_DIM))
    y_test = np.random.choice(np.arange(NUM_CLASSES), size=TEST_SAMPLES)

    y_test = to_categorical(y_test)
    y_train = to_categorical(y_train)
    model = Sequential()
    initializer = initializers.Constant(value=1e5)
    for _ in range(5):
        model.add(
            layers.Dense(
                2,
                activation="relu",
                kernel_initializer=initializer,
            )
        )
    model.add(layers.Dense(NUM_CLASSES))
    model.compile(loss="mean_squared_error", optimizer="sgd")

    history = train(
     loop,
     model,
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        callbacks=[callbacks.TerminateOnNaN()],
        epochs=20,
    )
    loss = history.history["loss"]
    tc.assertEqual(len(loss), 1)
    tc.assertTrue(np.isnan(loss[0]) or np.isinf(loss[0]))


@pytest.mark.parametrize("loop", LOOPS)
def test_terminate_on_nan_graceful_stop(loop):
    """Test that TerminateOnNaN (default) gracefully stops training."""
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    x = np.array([[1.0], [2.0]])
    y = np.array([[np.inf], [np.inf]])

    callback = TerminateOnNaN(raise_error=False)

    # Training should complete without raising RuntimeError
    history = train(
     loop,
     model,
        x, y, epochs=2, batch_size=1, callbacks=[callback], verbose=0
    )

    # Training should stop early
    tc.assertLess(len(history.history["loss"]), 4)


@pytest.mark.parametrize("loop", LOOPS)
def test_terminate_on_nan_raise_error_raises_error(loop):
    """Test that TerminateOnNaN(raise_error=True) raises
    RuntimeError on NaN loss.
    """
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    x = np.array([[1.0], [2.0]])
    y = np.array([[np.inf], [np.inf]])

    callback = TerminateOnNaN(raise_error=True)

    # Training should raise RuntimeError
    with tc.assertRaisesRegex(
        RuntimeError,
        "NaN or Inf loss encountered",
    ):
        train(
            loop, model, x, y, epochs=1, batch_size=1, callbacks=[callback], verbose=0
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_raise_error_terminate_does_not_trigger_on_train_end(loop):
    """Test that on_train_end is NOT called when
    TerminateOnNaN(raise_error=True) raises.
    """

    class TrackingCallback(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train_end_called = False

        def on_train_end(self, logs=None):
            self.train_end_called = True

    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    x = np.array([[1.0]])
    y = np.array([[np.inf]])

    tracking_callback = TrackingCallback()
    raise_error_terminate_callback = TerminateOnNaN(raise_error=True)

    # Should raise RuntimeError
    with tc.assertRaises(RuntimeError):
        train(
            loop,
            model,
            x,
            y,
            epochs=1,
            callbacks=[tracking_callback, raise_error_terminate_callback],
            verbose=0,
        )

    # on_train_end should NOT have been called
    tc.assertFalse(tracking_callback.train_end_called)


@pytest.mark.parametrize("loop", LOOPS)
def test_raise_error_terminate_preserves_backup(loop, tmp_path):
    """Ensure BackupAndRestore directory is preserved when
    TerminateOnNaN(raise_error=True) triggers.
    """
    tmpdir = new_temp_dir(tmp_path)
    backup_dir = os.path.join(tmpdir, "backups")
    os.makedirs(backup_dir, exist_ok=True)

    fake_file = os.path.join(backup_dir, "checkpoint.txt")
    with open(fake_file, "w") as f:
        f.write("dummy checkpoint")

    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    x_nan = np.array([[1.0]])
    y_nan = np.array([[np.inf]])

    raise_error_terminate_callback = TerminateOnNaN(raise_error=True)
    backup_callback = BackupAndRestore(backup_dir=backup_dir)

    # Monkeypatch BackupAndRestore to prevent cleanup on train_end
    backup_callback.on_train_end = lambda logs=None: None

    # Training should raise RuntimeError
    with tc.assertRaises(RuntimeError):
        train(
            loop,
            model,
            x_nan,
            y_nan,
            epochs=1,
            callbacks=[backup_callback, raise_error_terminate_callback],
            verbose=0,
        )

    # Verify backup directory still exists and file inside is untouched
    tc.assertTrue(
        os.path.exists(backup_dir),
        f"Backup dir deleted: {backup_dir}",
    )
    tc.assertTrue(
        os.path.exists(fake_file),
        "Backup file missing unexpectedly.",
    )


@pytest.mark.parametrize(
    "raise_error", [False, True], ids=["raise_error_false", "raise_error_true"]
)
@pytest.mark.parametrize("loop", LOOPS)
def test_normal_training_does_not_raise(loop, raise_error):
    """Test that TerminateOnNaN does not raise on normal training."""
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    x = np.array([[1.0], [2.0]])
    y = np.array([[1.0], [2.0]])

    callback = TerminateOnNaN(raise_error=raise_error)

    # Should complete without raising RuntimeError
    history = train(loop, model, x, y, epochs=2, callbacks=[callback], verbose=0)

    # Should have completed 2 epochs
    tc.assertEqual(len(history.history["loss"]), 2)


@pytest.mark.parametrize("loop", LOOPS)
def test_raise_error_terminate_stops_on_later_batch(loop):
    """Ensure TerminateOnNaN(raise_error=True) stops training
    if NaN appears in later batch.
    """
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")

    # Batch 1: normal loss, Batch 2: NaN loss
    x = np.array([[1.0], [2.0]])
    y = np.array([[1.0], [np.inf]])  # NaN/Inf appears only in 2nd batch

    callback = TerminateOnNaN(raise_error=True)

    with tc.assertRaises(RuntimeError) as exc:
        train(
            loop, model, x, y, epochs=1, batch_size=1, callbacks=[callback], verbose=0
        )

    tc.assertTrue(any(f"batch {i}" in str(exc.exception) for i in [0, 1]))
