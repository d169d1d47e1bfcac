"""Keras 3.15.1 keras/src/callbacks/reduce_lr_on_plateau_test.py, run against fit, tk.train_minibatch
and tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- ReduceLROnPlateauTest became plain pytest functions; its ``setUp`` became the ``setup`` fixture
  (same data, same model with Adam(0.1), built fresh for every test); ``self.model`` etc. are read from
  it; ``self.assert*`` calls go to ``loops.tc`` (unittest's assertion methods; assertAllClose as keras'
  TestCase defines it), unchanged.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend), also from
  test_state_reset_across_fit_calls, which never trains and runs once, unchanged.
- Every ``self.model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- test_verbose_logging: io_utils.disable_interactive_logging() and set_logging_verbosity("INFO") are
  process-wide; the ``restore_keras_logging`` fixture puts both back after the test.
- keras.src imports -> the public ``keras`` API where one exists (same objects);
  ``test_utils.get_test_data`` and ``io_utils`` still come from keras.src.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing (plateaus are counted in epochs, i.e. log windows in the online loop).
"""

from types import SimpleNamespace

import pytest
from keras import callbacks, layers, optimizers
from keras.models import Sequential
from keras.src.testing import test_utils
from keras.src.utils import io_utils
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, restore_keras_logging, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


@pytest.fixture
def setup():
    (x_train, y_train), (x_test, y_test) = test_utils.get_test_data(
        train_samples=10,
        test_samples=10,
        input_shape=(3,),
        num_classes=2,
    )
    y_test = to_categorical(y_test)
    y_train = to_categorical(y_train)

    model = Sequential([layers.Dense(5), layers.Dense(2)])

    model.compile(
        loss="mse",
        optimizer=optimizers.Adam(0.1),
    )

    return SimpleNamespace(model=model, x_train=x_train, x_test=x_test, y_train=y_train, y_test=y_test)


@pytest.mark.parametrize("loop", LOOPS)
def test_reduces_lr_with_model_fit(loop, setup):
    self = setup
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1, factor=0.1, monitor="val_loss", min_delta=100
    )

    train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        validation_data=(self.x_test, self.y_test),
        callbacks=[reduce_lr],
        epochs=2,
    )

    tc.assertEqual(self.model.optimizer.learning_rate.value, 0.01)


@pytest.mark.parametrize("loop", LOOPS)
def test_throws_when_optimizer_has_schedule(loop, setup):
    self = setup
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1, factor=0.1, monitor="val_loss", min_delta=100
    )

    self.model.compile(
        loss="mse",
        optimizer=optimizers.Adam(
            optimizers.schedules.PolynomialDecay(
                initial_learning_rate=0.1, decay_steps=10
            )
        ),
    )

    with tc.assertRaisesRegex(
        TypeError,
        "This optimizer was created with a `LearningRateSchedule`",
    ):
        train(
            loop,
            self.model,
            self.x_train,
            self.y_train,
            validation_data=(self.x_test, self.y_test),
            callbacks=[reduce_lr],
            epochs=2,
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_verbose_logging(loop, setup, restore_keras_logging):  # noqa: F811 (the fixture)
    self = setup
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1, factor=0.1, monitor="val_loss", min_delta=100, verbose=1
    )
    io_utils.disable_interactive_logging()
    io_utils.set_logging_verbosity("INFO")

    with tc.assertLogs() as logs:
        train(
            loop,
            self.model,
            self.x_train,
            self.y_train,
            validation_data=(self.x_test, self.y_test),
            callbacks=[reduce_lr],
            epochs=2,
        )
        expected_log = "ReduceLROnPlateau reducing learning rate to 0.01"
        tc.assertTrue(any(expected_log in log for log in logs.output))


@pytest.mark.parametrize("loop", LOOPS)
def test_honors_min_lr(loop, setup):
    self = setup
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1,
        factor=0.1,
        monitor="val_loss",
        min_delta=10,
        min_lr=0.005,
    )

    train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        validation_data=(self.x_test, self.y_test),
        callbacks=[reduce_lr],
        epochs=4,
    )

    tc.assertEqual(self.model.optimizer.learning_rate.value, 0.005)


@pytest.mark.parametrize("loop", LOOPS)
def test_cooldown(loop, setup):
    self = setup
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1,
        factor=0.1,
        monitor="val_loss",
        min_delta=100,
        cooldown=2,
    )

    train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        validation_data=(self.x_test, self.y_test),
        callbacks=[reduce_lr],
        epochs=4,
    )

    # With a cooldown of 2 epochs, we should only reduce the LR every other
    # epoch, so after 4 epochs we will have reduced 2 times.
    tc.assertAllClose(self.model.optimizer.learning_rate.value, 0.001)


def test_state_reset_across_fit_calls(setup):
    self = setup
    # `ReduceLROnPlateau` is reused across `model.fit()` calls, so
    # `on_train_begin` -> `_reset` must clear all per-run state.
    reduce_lr = callbacks.ReduceLROnPlateau(
        patience=1, factor=0.1, monitor="loss", min_delta=0, cooldown=2
    )
    reduce_lr.set_model(self.model)
    reduce_lr.on_train_begin()
    # Drive some state from a first run.
    reduce_lr.best = 0.5
    reduce_lr.wait = 3
    reduce_lr.cooldown_counter = 2
    # New `model.fit()` -> `on_train_begin` should clear all per-run
    # state.
    reduce_lr.on_train_begin()
    tc.assertIsNone(reduce_lr.best)
    tc.assertEqual(reduce_lr.wait, 0)
    tc.assertEqual(reduce_lr.cooldown_counter, 0)
