"""Keras 3.15.1 keras/src/callbacks/swap_ema_weights_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- SwapEMAWeightsTest became plain pytest functions; its ``setUp`` became ``_data()`` (same seeded
  test data) and ``_get_compiled_model`` a module function; ``self.assert*`` calls go to ``loops.tc``
  (unittest's assertion methods), unchanged. ``tempfile.TemporaryDirectory()`` -> pytest's ``tmp_path``.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend).
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
  ``model.evaluate`` stays as it is: it is not a training loop.
- test_swap_ema_weights_with_tf_distribute runs its body (unchanged: context._reset_context(), two
  logical CPUs, MirroredStrategy, fit/loop with SwapEMAWeights(swap_on_epoch=True) + ModelCheckpoint,
  two evaluates) in a fresh Python process, this file run as a script, and asserts on the two
  evaluations it prints. In-process it would reset TensorFlow's eager context and leave two logical
  CPUs behind for the rest of this project's one-process suite; the project runs every strategy in a
  subprocess (tests/test_distributed.py). The child does what the fixtures do (clear_session, then
  tk.seed_everything(0)) right after the context reset: the reset drops TensorFlow's global seed, and
  with the op determinism this project turns on, unseeded random ops raise.
- keras.src imports -> the public ``keras`` API (same objects; ``numerical_utils.to_categorical`` is
  ``keras.utils.to_categorical``); ``test_utils.get_test_data`` still from keras.src.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. (Validation and evaluate read the same 10 samples the loop learns from,
as in the original; the assertions compare the loop's last val_mean_squared_error with evaluate.)
"""

import json
import os.path
import sys

import pytest
from keras import backend, callbacks, layers, losses, metrics, optimizers, saving
from keras.models import Sequential
from keras.src.testing import test_utils
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


def _data():
    (x_train, y_train), _ = test_utils.get_test_data(
        train_samples=10,
        test_samples=10,
        input_shape=(3,),
        num_classes=2,
        random_seed=2023,
    )
    y_train = to_categorical(y_train)
    return x_train, y_train


def _get_compiled_model(use_ema=True, jit_compile=True, loss_scale=False):
    optimizer = optimizers.SGD(use_ema=use_ema, ema_momentum=0.9)
    if loss_scale:
        optimizer = optimizers.LossScaleOptimizer(optimizer)
    model = Sequential(
        [layers.Dense(2, kernel_initializer="ones", use_bias=False)]
    )
    model.compile(
        optimizer=optimizer,
        loss=losses.MeanSquaredError(),
        metrics=[metrics.MeanSquaredError()],
        jit_compile=jit_compile,
    )
    return model


@pytest.mark.parametrize("loop", LOOPS)
def test_swap_ema_weights_with_invalid_optimizer(loop):
    x_train, y_train = _data()
    model = _get_compiled_model(use_ema=False)
    with tc.assertRaisesRegex(
        ValueError,
        ("SwapEMAWeights must be used when `use_ema=True` is set"),
    ):
        train(
            loop,
            model,
            x_train,
            y_train,
            epochs=2,
            callbacks=[callbacks.SwapEMAWeights()],
            validation_data=(x_train, y_train),
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_swap_ema_weights(loop):
    x_train, y_train = _data()
    # not using SwapEMAWeights
    model = _get_compiled_model()
    history = train(
        loop,
        model,
        x_train,
        y_train,
        epochs=2,
        validation_data=(x_train, y_train),
    )
    logs = model.evaluate(x_train, y_train, return_dict=True)
    # final metric during fitting is different from the evaluation
    tc.assertNotEqual(
        history.history["val_mean_squared_error"][-1],
        logs["mean_squared_error"],
    )

    # using SwapEMAWeights
    model = _get_compiled_model()
    history = train(
        loop,
        model,
        x_train,
        y_train,
        epochs=2,
        callbacks=[callbacks.SwapEMAWeights()],
        validation_data=(x_train, y_train),
    )
    logs = model.evaluate(x_train, y_train, return_dict=True)
    # final metric during fitting is same as the evaluation
    tc.assertEqual(
        history.history["val_mean_squared_error"][-1],
        logs["mean_squared_error"],
    )


@pytest.mark.parametrize("loop", LOOPS)
def test_swap_ema_weights_on_epoch(loop, tmp_path):
    x_train, y_train = _data()
    # using SwapEMAWeights together with ModelCheckpoint
    model = _get_compiled_model()
    temp_dir = str(tmp_path)
    train(
        loop,
        model,
        x_train,
        y_train,
        epochs=2,
        callbacks=[
            callbacks.SwapEMAWeights(swap_on_epoch=True),
            callbacks.ModelCheckpoint(
                os.path.join(temp_dir, "{epoch:1d}.keras")
            ),
        ],
        validation_data=(x_train, y_train),
    )
    model2 = saving.load_model(os.path.join(temp_dir, "2.keras"))

    logs = model.evaluate(x_train, y_train, return_dict=True)
    logs2 = model2.evaluate(x_train, y_train, return_dict=True)
    # saved checkpoint will be applied by EMA weights
    tc.assertEqual(
        logs["mean_squared_error"],
        logs2["mean_squared_error"],
    )


@pytest.mark.parametrize("loop", LOOPS)
def test_swap_ema_weights_with_loss_scale_optimizer(loop):
    x_train, y_train = _data()
    model = _get_compiled_model(loss_scale=True)
    history = train(
        loop,
        model,
        x_train,
        y_train,
        epochs=2,
        callbacks=[callbacks.SwapEMAWeights()],
        validation_data=(x_train, y_train),
    )
    logs = model.evaluate(x_train, y_train, return_dict=True)
    # final metric during fitting is same as the evaluation
    tc.assertEqual(
        history.history["val_mean_squared_error"][-1],
        logs["mean_squared_error"],
    )


def _tf_distribute_case(loop):
    """The original test_swap_ema_weights_with_tf_distribute body up to its assertion; run in a fresh
    process (see the module docstring). Returns the two evaluations the assertion compares."""
    import tempfile

    import tensorflow as tf
    from keras.src.backend.common.global_state import clear_session
    from tensorflow.python.eager import context

    import toolkit as tk

    x_train, y_train = _data()

    # Need at least 2 devices for distribution related tests.
    cpus = tf.config.list_physical_devices("CPU")
    context._reset_context()
    tf.config.set_logical_device_configuration(
        cpus[0],
        [
            tf.config.LogicalDeviceConfiguration(),
            tf.config.LogicalDeviceConfiguration(),
        ],
    )
    # What the fixtures do in-process, after the reset (which drops TensorFlow's seed, while op
    # determinism, on in this project, then refuses unseeded random ops).
    clear_session(free_memory=False)
    tk.seed_everything(0)
    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    with strategy.scope():
        # TODO: set jit_compile=True once the issue is resolved in
        # integration_tests/tf_distribute_training_test.py#L52
        model = _get_compiled_model(jit_compile=False)
        with tempfile.TemporaryDirectory() as temp_dir:
            train(
                loop,
                model,
                x_train,
                y_train,
                epochs=2,
                callbacks=[
                    callbacks.SwapEMAWeights(swap_on_epoch=True),
                    callbacks.ModelCheckpoint(
                        os.path.join(
                            temp_dir, "distributed_{epoch:1d}.keras"
                        )
                    ),
                ],
                validation_data=(x_train, y_train),
            )
            model2 = saving.load_model(
                os.path.join(temp_dir, "distributed_2.keras")
            )
    logs = model.evaluate(x_train, y_train, return_dict=True)
    logs2 = model2.evaluate(x_train, y_train, return_dict=True)
    return logs, logs2


@pytest.mark.skipif(
    backend.backend() != "tensorflow",
    reason="The distribute test can only run with TF backend.",
)
@pytest.mark.parametrize("loop", LOOPS)
def test_swap_ema_weights_with_tf_distribute(loop):
    from tests.helpers import run_python

    done = run_python(os.path.abspath(__file__), "tf_distribute", loop)
    assert done.returncode == 0, done.stderr[-3000:]
    logs, logs2 = json.loads(done.stdout.strip().splitlines()[-1])
    # saved checkpoint will be applied by EMA weights
    tc.assertEqual(
        logs["mean_squared_error"],
        logs2["mean_squared_error"],
    )


if __name__ == "__main__":  # the child process of test_swap_ema_weights_with_tf_distribute
    _, case, loop_name = sys.argv
    assert case == "tf_distribute", case
    result = _tf_distribute_case(loop_name)
    print(json.dumps([{k: float(v) for k, v in logs.items()} for logs in result]))
