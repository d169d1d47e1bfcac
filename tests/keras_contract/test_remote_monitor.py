"""Keras 3.15.1 keras/src/callbacks/remote_monitor_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Ported because it needs no network: three tests mock ``requests.post``; test_RemoteMonitor posts for
real, but to RemoteMonitor's default root http://localhost:9000, on the loopback interface, where it
expects nobody to answer (it asserts the "Could not reach RemoteMonitor root server" warning).

Adaptations:
- The class (named TerminateOnNaNTest in Keras, a copy-paste slip) became plain pytest functions;
  ``self.assert*`` calls go to ``loops.tc`` (unittest's assertion methods); ``self.skipTest`` -> ``pytest.skip``.
- ``@skip_if_backend("openvino", ...)`` (from Keras' own conftest, not installed) and the numpy-backend
  skipTest were dropped: the backend is TensorFlow, where neither skips.
- test_RemoteMonitorWithJsonPayload: ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``,
  parametrized over LOOPS. The other three never train and run once, unchanged.
- keras.src imports -> the public ``keras`` API (same objects).
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. (test_RemoteMonitorWithJsonPayload asserts the exact JSON posted at the
end of the epoch, so it fails if a loop's epoch logs hold keys that fit's do not.)
"""

import warnings
from unittest import mock

import numpy as np
import pytest
from keras import callbacks, layers
from keras.models import Sequential
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)

try:
    import requests
except ImportError:
    requests = None


def test_RemoteMonitor():
    if requests is None:
        pytest.skip("`requests` required to run this test")

    monitor = callbacks.RemoteMonitor()
    # This will raise a warning since the default address in unreachable:
    warning_msg = "Could not reach RemoteMonitor root server"
    with warnings.catch_warnings(record=True) as warning_logs:
        warnings.simplefilter("always")
        monitor.on_epoch_end(0, logs={"loss": 0.0})
        tc.assertIn(warning_msg, str(warning_logs[-1].message))


def test_RemoteMonitor_np_array():
    if requests is None:
        pytest.skip("`requests` required to run this test")

    with mock.patch("requests.post") as requests_post:
        monitor = callbacks.RemoteMonitor(send_as_json=True)
        a = np.arange(1)  # a 1 by 1 array
        logs = {"loss": 0.0, "val": a}
        monitor.on_epoch_end(0, logs=logs)
        send = {"loss": 0.0, "epoch": 0, "val": 0}
        requests_post.assert_called_once_with(
            monitor.root + monitor.path, json=send, headers=monitor.headers
        )


def test_RemoteMonitor_np_float32():
    if requests is None:
        pytest.skip("`requests` required to run this test")

    with mock.patch("requests.post") as requests_post:
        monitor = callbacks.RemoteMonitor(send_as_json=True)
        a = np.float32(1.0)  # a float32 generic type
        logs = {"loss": 0.0, "val": a}
        monitor.on_epoch_end(0, logs=logs)
        send = {"loss": 0.0, "epoch": 0, "val": 1.0}
        requests_post.assert_called_once_with(
            monitor.root + monitor.path, json=send, headers=monitor.headers
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_RemoteMonitorWithJsonPayload(loop):
    if requests is None:
        pytest.skip("`requests` required to run this test")

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

    model = Sequential([layers.Dense(NUM_CLASSES)])
    model.compile(loss="mean_squared_error", optimizer="sgd")

    with mock.patch("requests.post") as requests_post:
        monitor = callbacks.RemoteMonitor(send_as_json=True)
        hist = train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=BATCH_SIZE,
            validation_data=(x_test, y_test),
            callbacks=[monitor],
            epochs=1,
        )
        send = {
            "epoch": 0,
            "loss": hist.history["loss"][0],
            "val_loss": hist.history["val_loss"][0],
        }
        requests_post.assert_called_once_with(
            monitor.root + monitor.path, json=send, headers=monitor.headers
        )
