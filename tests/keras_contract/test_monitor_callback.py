"""Keras 3.15.1 keras/src/callbacks/monitor_callback_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- MonitorCallbackTest became plain pytest functions; ``self.assert*`` calls go to ``loops.tc``
  (unittest's assertion methods), unchanged.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend), also from test_min_delta,
  which never trains and runs once, unchanged.
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects: ``keras.ops.greater`` is
  ``keras.src.ops.greater``, compared by identity), except ``callbacks``, still ``keras.src.callbacks``:
  MonitorCallback is not exported by ``keras.callbacks``.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. (The callback is given the model but not passed to the loop: the test
checks that the loop leaves ``model.metrics`` as fit does, compiled metrics included.)
"""

import numpy as np
import pytest
from keras import layers, metrics, models, ops
from keras.src import callbacks  # MonitorCallback is not in the public keras.callbacks
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


@pytest.mark.parametrize("loop", LOOPS)
def test_monitor_op_logic(loop):
    x_train = np.random.random((10, 5))
    y_train = np.random.random((10, 1))
    x_test = np.random.random((10, 5))
    y_test = np.random.random((10, 1))
    model = models.Sequential(
        (
            layers.Dense(1, activation="relu"),
            layers.Dense(1, activation="relu"),
        )
    )
    model.compile(
        loss="mae",
        optimizer="adam",
        metrics=[
            "mse",
            "acc",
            "accuracy",
            "hinge",
            metrics.F1Score(name="f1_score"),
        ],
    )

    cases = [
        ("max", "val_mse", "max"),
        ("min", "val_loss", "min"),
        ("auto", "val_mse", "min"),
        ("auto", "loss", "min"),
        ("auto", "acc", "max"),
        ("auto", "val_accuracy", "max"),
        ("auto", "hinge", "min"),
        ("auto", "f1_score", "max"),
    ]
    for mode, monitor, expected_mode in cases:
        monitor_callback = callbacks.MonitorCallback(monitor, mode)
        monitor_callback.set_model(model)
        train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=5,
            validation_data=(x_test, y_test),
            epochs=2,
            verbose=0,
        )
        monitor_callback._set_monitor_op()
        if expected_mode == "max":
            monitor_op = ops.greater
        else:
            monitor_op = ops.less
        tc.assertEqual(monitor_callback.monitor_op, monitor_op)

    with tc.assertRaises(ValueError):
        monitor = "unknown"
        monitor_callback = callbacks.MonitorCallback(monitor)
        monitor_callback.set_model(model)
        train(
            loop,
            model,
            x_train,
            y_train,
            batch_size=5,
            validation_data=(x_test, y_test),
            epochs=2,
            verbose=0,
        )
        monitor_callback._set_monitor_op()


def test_min_delta():
    monitor_callback = callbacks.MonitorCallback(mode="max", min_delta=0.5)
    monitor_callback._set_monitor_op()
    tc.assertTrue(monitor_callback._is_improvement(0.75, 0))
    tc.assertTrue(monitor_callback._is_improvement(0.5, None))
    tc.assertFalse(monitor_callback._is_improvement(0.5, 0))
    tc.assertFalse(monitor_callback._is_improvement(0.2, 0.5))
