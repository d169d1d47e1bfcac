"""Keras 3.15.1 keras/src/callbacks/lambda_callback_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- LambdaCallbackTest became plain pytest functions; ``self.assert*`` (incl. ``assertLogs``) calls go
  to ``loops.tc`` (unittest's assertion methods), unchanged.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend), also from the three tests
  that never train (no_args, additional_kwargs, during_prediction), which run once, unchanged.
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
  ``model.evaluate``/``model.predict`` stay as they are: they are not training loops.
- ``validation_split=0.2`` (test_lambda_callback, test_lambda_callback_with_batches): neither toolkit
  loop has it, so loops.train applies it as fit does (train on the first floor(16 * 0.8) = 12
  samples, validate on the last 4, before any shuffling) and passes ``validation_data``. This keeps
  the scenario: 12 samples in batches of 4 (the model's Input has a fixed batch_size=4) and a
  validation pass, so on_test_* callbacks fire too.
- keras.src imports -> the public ``keras`` API (same objects).
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing.
"""

import numpy as np
import pytest
from absl import logging
from keras import callbacks, layers, losses, optimizers
from keras.models import Sequential
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


@pytest.mark.parametrize("loop", LOOPS)
def test_lambda_callback(loop):
    """Test standard LambdaCallback functionalities with training."""
    batch_size = 4
    model = Sequential(
        [layers.Input(shape=(2,), batch_size=batch_size), layers.Dense(1)]
    )
    model.compile(
        optimizer=optimizers.SGD(), loss=losses.MeanSquaredError()
    )
    x = np.random.randn(16, 2)
    y = np.random.randn(16, 1)
    lambda_log_callback = callbacks.LambdaCallback(
        on_train_begin=lambda logs: logging.warning("on_train_begin"),
        on_epoch_begin=lambda epoch, logs: logging.warning(
            "on_epoch_begin"
        ),
        on_epoch_end=lambda epoch, logs: logging.warning("on_epoch_end"),
        on_train_end=lambda logs: logging.warning("on_train_end"),
    )
    with tc.assertLogs(level="WARNING") as logs:
        train(
            loop,
            model,
            x,
            y,
            batch_size=batch_size,
            validation_split=0.2,
            callbacks=[lambda_log_callback],
            epochs=5,
            verbose=0,
        )
        tc.assertTrue(any("on_train_begin" in log for log in logs.output))
        tc.assertTrue(any("on_epoch_begin" in log for log in logs.output))
        tc.assertTrue(any("on_epoch_end" in log for log in logs.output))
        tc.assertTrue(any("on_train_end" in log for log in logs.output))


@pytest.mark.parametrize("loop", LOOPS)
def test_lambda_callback_with_batches(loop):
    """Test LambdaCallback's behavior with batch-level callbacks."""
    batch_size = 4
    model = Sequential(
        [layers.Input(shape=(2,), batch_size=batch_size), layers.Dense(1)]
    )
    model.compile(
        optimizer=optimizers.SGD(), loss=losses.MeanSquaredError()
    )
    x = np.random.randn(16, 2)
    y = np.random.randn(16, 1)
    lambda_log_callback = callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: logging.warning(
            "on_train_batch_begin"
        ),
        on_train_batch_end=lambda batch, logs: logging.warning(
            "on_train_batch_end"
        ),
    )
    with tc.assertLogs(level="WARNING") as logs:
        train(
            loop,
            model,
            x,
            y,
            batch_size=batch_size,
            validation_split=0.2,
            callbacks=[lambda_log_callback],
            epochs=5,
            verbose=0,
        )
        tc.assertTrue(
            any("on_train_batch_begin" in log for log in logs.output)
        )
        tc.assertTrue(
            any("on_train_batch_end" in log for log in logs.output)
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_lambda_callback_with_kwargs(loop):
    """Test LambdaCallback's behavior with custom defined callback."""
    batch_size = 4
    model = Sequential(
        [layers.Input(shape=(2,), batch_size=batch_size), layers.Dense(1)]
    )
    model.compile(
        optimizer=optimizers.SGD(), loss=losses.MeanSquaredError()
    )
    x = np.random.randn(16, 2)
    y = np.random.randn(16, 1)
    train(
        loop, model, x, y, batch_size=batch_size, epochs=1, verbose=0
    )  # Train briefly for evaluation to work.

    def custom_on_test_begin(logs):
        logging.warning("custom_on_test_begin_executed")

    lambda_log_callback = callbacks.LambdaCallback(
        on_test_begin=custom_on_test_begin
    )
    with tc.assertLogs(level="WARNING") as logs:
        model.evaluate(
            x,
            y,
            batch_size=batch_size,
            callbacks=[lambda_log_callback],
            verbose=0,
        )
        tc.assertTrue(
            any(
                "custom_on_test_begin_executed" in log
                for log in logs.output
            )
        )


def test_lambda_callback_no_args():
    """Test initializing LambdaCallback without any arguments."""
    lambda_callback = callbacks.LambdaCallback()
    tc.assertIsInstance(lambda_callback, callbacks.LambdaCallback)


def test_lambda_callback_with_additional_kwargs():
    """Test initializing LambdaCallback with non-predefined kwargs."""

    def custom_callback(logs):
        pass

    lambda_callback = callbacks.LambdaCallback(
        custom_method=custom_callback
    )
    tc.assertTrue(hasattr(lambda_callback, "custom_method"))


def test_lambda_callback_during_prediction():
    """Test LambdaCallback's functionality during model prediction."""
    batch_size = 4
    model = Sequential(
        [layers.Input(shape=(2,), batch_size=batch_size), layers.Dense(1)]
    )
    model.compile(
        optimizer=optimizers.SGD(), loss=losses.MeanSquaredError()
    )
    x = np.random.randn(16, 2)

    def custom_on_predict_begin(logs):
        logging.warning("on_predict_begin_executed")

    lambda_callback = callbacks.LambdaCallback(
        on_predict_begin=custom_on_predict_begin
    )
    with tc.assertLogs(level="WARNING") as logs:
        model.predict(
            x, batch_size=batch_size, callbacks=[lambda_callback], verbose=0
        )
        tc.assertTrue(
            any("on_predict_begin_executed" in log for log in logs.output)
        )
