"""Keras 3.15.1 keras/src/callbacks/learning_rate_scheduler_test.py, run against fit,
tk.train_minibatch and tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- LearningRateSchedulerTest became plain pytest functions; its ``setUp`` became the ``setup`` fixture
  (same data, same model, built fresh for every test); ``self.model``/``self.x_train``/``self.y_train``
  are read from it; ``self.assert*`` calls go to ``loops.tc`` (unittest's assertion methods), unchanged.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend).
- Every ``self.model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- test_verbose_logging: io_utils.disable_interactive_logging() and set_logging_verbosity("INFO") are
  process-wide; the ``restore_keras_logging`` fixture puts both back after the test (Keras' suite
  leaves them changed; this project runs its whole suite in one process).
- keras.src imports -> the public ``keras`` API where one exists (same objects);
  ``test_utils.get_test_data`` and ``io_utils`` still come from keras.src.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. The schedules are indexed by epoch, i.e. by log window in the online loop.
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
    (x_train, y_train), _ = test_utils.get_test_data(
        train_samples=10,
        test_samples=10,
        input_shape=(3,),
        num_classes=2,
    )
    y_train = to_categorical(y_train)

    model = Sequential([layers.Dense(5), layers.Dense(2)])

    model.compile(
        loss="mse",
        optimizer="sgd",
    )

    return SimpleNamespace(model=model, x_train=x_train, y_train=y_train)


@pytest.mark.parametrize("loop", LOOPS)
def test_updates_learning_rate(loop, setup):
    self = setup
    lr_scheduler = callbacks.LearningRateScheduler(
        lambda step: 1.0 / (2.0 + step), verbose=1
    )

    train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        callbacks=[lr_scheduler],
        epochs=1,
    )

    tc.assertEqual(self.model.optimizer.learning_rate.value, 0.5)


@pytest.mark.parametrize("loop", LOOPS)
def test_verbose_logging(loop, setup, restore_keras_logging):  # noqa: F811 (the fixture)
    self = setup
    lr_scheduler = callbacks.LearningRateScheduler(
        lambda step: 1.0 / (1.0 + step), verbose=1
    )
    io_utils.disable_interactive_logging()
    io_utils.set_logging_verbosity("INFO")

    with tc.assertLogs() as logs:
        train(
            loop,
            self.model,
            self.x_train,
            self.y_train,
            callbacks=[lr_scheduler],
            epochs=1,
        )
        expected_log = "LearningRateScheduler setting learning rate to 1.0"
        tc.assertTrue(any(expected_log in log for log in logs.output))


@pytest.mark.parametrize("loop", LOOPS)
def test_schedule_dependent_on_previous_learning_rate(loop, setup):
    self = setup
    lr_scheduler = callbacks.LearningRateScheduler(lambda step, lr: lr / 2)

    initial_lr = 0.03
    self.model.compile(
        loss="mse",
        optimizer=optimizers.Adam(initial_lr),
    )

    train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        callbacks=[lr_scheduler],
        epochs=2,
    )
    tc.assertEqual(
        self.model.optimizer.learning_rate.value, initial_lr / 4.0
    )


@pytest.mark.parametrize("loop", LOOPS)
def test_throws_when_optimizer_has_schedule(loop, setup):
    self = setup
    lr_scheduler = callbacks.LearningRateScheduler(lambda step, lr: lr / 2)

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
            callbacks=[lr_scheduler],
            epochs=2,
        )


@pytest.mark.parametrize("loop", LOOPS)
def test_learning_rate_in_history(loop, setup):
    self = setup
    lr_scheduler = callbacks.LearningRateScheduler(lambda step, lr: 0.5)

    history = train(
        loop,
        self.model,
        self.x_train,
        self.y_train,
        callbacks=[lr_scheduler],
        epochs=1,
    )

    tc.assertTrue("learning_rate" in history.history)
    tc.assertEqual(type(history.history["learning_rate"][0]), float)
    tc.assertEqual(history.history["learning_rate"][0], 0.5)
