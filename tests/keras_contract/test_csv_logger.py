"""Keras 3.15.1 keras/src/callbacks/csv_logger_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- CSVLoggerTest became plain pytest functions; ``self.assert*`` calls go to ``loops.tc`` (unittest's
  assertion methods; assertLen as keras' TestCase defines it), unchanged.
- ``tempfile.TemporaryDirectory()`` (the original's own temp dirs) -> pytest's ``tmp_path``.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend).
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects; ``numerical_utils.to_categorical`` is
  ``keras.utils.to_categorical``).
- test_CSVLogger's last case ("Verify Val. loss also registered when Validation Freq > 1") uses
  ``validation_freq=3``, which neither toolkit loop has; it was split, unchanged (same data, same model
  factory, same assertions), into test_CSVLogger_validation_freq, parametrized over ["fit"] only. The first three
  cases stay in test_CSVLogger for every loop. The split-off case starts from a new log file, as the
  original does after ``os.remove(filepath)``.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: minibatch and online: test_CSVLogger_validation_freq (no ``validation_freq``).
"""

import csv
import os
import re

import numpy as np
import pytest
from keras import callbacks, initializers, layers
from keras.models import Sequential
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)

TRAIN_SAMPLES = 10
TEST_SAMPLES = 10
INPUT_DIM = 3
BATCH_SIZE = 4
OUTPUT_DIM = 1


def _data():
    np.random.seed(1337)
    x_train = np.random.random((TRAIN_SAMPLES, INPUT_DIM))
    y_train = np.random.random((TRAIN_SAMPLES, OUTPUT_DIM))
    x_test = np.random.random((TEST_SAMPLES, INPUT_DIM))
    y_test = np.random.random((TEST_SAMPLES, OUTPUT_DIM))
    return x_train, y_train, x_test, y_test


def make_model():
    np.random.seed(1337)
    model = Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(OUTPUT_DIM),
        ]
    )
    model.compile(
        loss="mse",
        optimizer="sgd",
        metrics=["mse"],
    )
    return model


@pytest.mark.parametrize("loop", LOOPS)
def test_CSVLogger(loop, tmp_path):
    filepath = os.path.join(tmp_path, "log.tsv")

    sep = "\t"
    x_train, y_train, x_test, y_test = _data()

    # case 1, create new file with defined separator
    model = make_model()
    cbks = [callbacks.CSVLogger(filepath, separator=sep)]
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=1,
        verbose=0,
    )

    tc.assertTrue(os.path.exists(filepath))
    with open(filepath) as csvfile:
        dialect = csv.Sniffer().sniff(csvfile.read())
    tc.assertEqual(dialect.delimiter, sep)
    del model
    del cbks

    # case 2, append data to existing file, skip header
    model = make_model()
    cbks = [callbacks.CSVLogger(filepath, separator=sep, append=True)]
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=1,
        verbose=0,
    )

    # case 3, reuse of CSVLogger object
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=2,
        verbose=0,
    )

    with open(filepath) as csvfile:
        list_lines = csvfile.readlines()
        for line in list_lines:
            tc.assertEqual(line.count(sep), 4)
        tc.assertLen(list_lines, 5)
        output = " ".join(list_lines)
        tc.assertLen(re.findall("epoch", output), 1)

    os.remove(filepath)


@pytest.mark.parametrize("loop", ["fit"])  # `validation_freq` exists in fit only
def test_CSVLogger_validation_freq(loop, tmp_path):
    # Split from the end of test_CSVLogger.
    filepath = os.path.join(tmp_path, "log.tsv")
    sep = "\t"
    x_train, y_train, x_test, y_test = _data()

    # case 3, Verify Val. loss also registered when Validation Freq > 1
    model = make_model()
    cbks = [callbacks.CSVLogger(filepath, separator=sep)]
    hist = train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        validation_freq=3,
        callbacks=cbks,
        epochs=5,
        verbose=0,
    )
    tc.assertTrue(os.path.exists(filepath))
    # Verify that validation loss is registered at val. freq
    with open(filepath) as csvfile:
        rows = csv.DictReader(csvfile, delimiter=sep)
        for idx, row in enumerate(rows, 1):
            tc.assertIn("val_loss", row)
            if idx == 3:
                tc.assertEqual(
                    row["val_loss"], str(hist.history["val_loss"][0])
                )
            else:
                tc.assertEqual(row["val_loss"], "NA")


@pytest.mark.parametrize("loop", LOOPS)
def test_stop_training_csv(loop, tmp_path):
    # Test that using the CSVLogger callback with the TerminateOnNaN
    # callback does not result in invalid CSVs.
    csv_logfile = os.path.join(tmp_path, "csv_logger.csv")
    NUM_CLASSES = 2
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
        callbacks=[
            callbacks.TerminateOnNaN(),
            callbacks.CSVLogger(csv_logfile),
        ],
        epochs=20,
    )
    loss = history.history["loss"]
    tc.assertEqual(len(loss), 1)
    tc.assertTrue(np.isnan(loss[0]) or np.isinf(loss[0]))

    values = []
    with open(csv_logfile) as f:
        # On Windows, due to \r\n line ends, we may end up reading empty
        # lines after each line. Skip empty lines.
        values = [x for x in csv.reader(f) if x]
    tc.assertIn("nan", values[-1], "NaN not logged in CSV Logger.")
