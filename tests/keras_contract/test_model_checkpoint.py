"""Keras 3.15.1 keras/src/callbacks/model_checkpoint_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- ModelCheckpointTest became plain pytest functions; ``self.assert*`` calls go to ``loops.tc``
  (unittest's assertion methods; assertAllClose as keras' TestCase defines it, atol=rtol=1e-6), unchanged.
- ``self.get_temp_dir()`` -> ``new_temp_dir(tmp_path)``: like get_temp_dir, a new empty directory
  on every call (test_model_checkpoint_options calls it five times), here under pytest's ``tmp_path``.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend). The h5py and
  ``testing.jax_uses_gpu()`` skipifs are kept (neither skips here: h5py is installed, backend is TF).
- Every ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects; ``numerical_utils.to_categorical`` is
  ``keras.utils.to_categorical``); ``test_utils.get_test_data`` and ``testing`` still from keras.src.
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. The integer ``save_freq`` cases (8a/8b: save_freq=15 with 5 batches of 6
per epoch; 10a/10b: save_freq=1 with ``{batch}`` in the file name) count Keras batches, which the online
mapping makes one compiled chunk of ``batch_size`` samples; test_model_checkpoint_loading's model has a
fixed batch dimension of 5 (= BATCH_SIZE), which the online mapping's micro-batch of 5 keeps.
"""

import os
import warnings

import pytest
from keras import callbacks, layers, metrics, models, saving
from keras.models import Sequential
from keras.src import testing
from keras.src.testing import test_utils
from keras.utils import to_categorical
from loops import LOOPS, keras_test_case_setup, new_temp_dir, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)

try:
    import h5py
except ImportError:
    h5py = None

TRAIN_SAMPLES = 30
TEST_SAMPLES = 30
NUM_CLASSES = 3
INPUT_DIM = 3
NUM_HIDDEN = 5
BATCH_SIZE = 5


@pytest.mark.skipif(
    h5py is None,
    reason="`h5py` is a required dependency for `ModelCheckpoint` tests.",
)
@pytest.mark.skipif(
    testing.jax_uses_gpu(),
    reason="Mysterious core dump on CI after upgrading JAX",
)
@pytest.mark.parametrize("loop", LOOPS)
def test_model_checkpoint_options(loop, tmp_path):
    def get_model():
        model = Sequential(
            [
                layers.Dense(NUM_HIDDEN, activation="relu"),
                layers.Dense(NUM_CLASSES, activation="softmax"),
            ]
        )
        model.compile(
            loss="categorical_crossentropy",
            optimizer="sgd",
            metrics=[metrics.Accuracy("acc")],
        )
        return model

    model = get_model()
    temp_dir = new_temp_dir(tmp_path)

    # Save model to a subdir inside the temp_dir so we can test
    # automatic directory creation.
    filepath = os.path.join(temp_dir, "subdir", "checkpoint.keras")
    (x_train, y_train), (x_test, y_test) = test_utils.get_test_data(
        random_seed=42,
        train_samples=TRAIN_SAMPLES,
        test_samples=TEST_SAMPLES,
        input_shape=(INPUT_DIM,),
        num_classes=NUM_CLASSES,
    )
    y_test = to_categorical(y_test, num_classes=NUM_CLASSES)
    y_train = to_categorical(
        y_train, num_classes=NUM_CLASSES
    )

    # Case 1
    monitor = "val_loss"
    save_best_only = False
    mode = "auto"

    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 2
    mode = "min"
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 3
    mode = "max"
    monitor = "val_acc"
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 4
    save_best_only = True
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 5: metric not available.
    cbks = [
        callbacks.ModelCheckpoint(
            filepath, monitor="unknown", save_best_only=True, mode="min"
        )
    ]
    with pytest.warns(UserWarning):
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

    # Case 6
    with warnings.catch_warnings(record=True) as warning_logs:
        warnings.simplefilter("always")
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode="unknown",
        )
        tc.assertIn(
            "ModelCheckpoint mode 'unknown' is unknown",
            str(warning_logs[-1].message),
        )

    # Case 8a: `ModelCheckpoint` with an integer `save_freq`
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(temp_dir, "checkpoint.epoch{epoch:02d}.keras")
    save_best_only = False
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
            save_freq=15,
        )
    ]
    tc.assertFalse(os.path.exists(filepath.format(epoch=3)))
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=6,  # 5 batches / epoch, so should backup every 3 epochs
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=10,
        verbose=0,
    )
    tc.assertFalse(os.path.exists(filepath.format(epoch=1)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=4)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=5)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=6)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=7)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=8)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=9)))
    os.remove(filepath.format(epoch=3))
    os.remove(filepath.format(epoch=6))
    os.remove(filepath.format(epoch=9))

    # Case 8b: `ModelCheckpoint` with int `save_freq` & `save_weights_only`
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(
        temp_dir, "checkpoint.epoch{epoch:02d}.weights.h5"
    )
    cbks = [
        callbacks.ModelCheckpoint(
            filepath, monitor=monitor, save_freq=15, save_weights_only=True
        )
    ]
    tc.assertFalse(os.path.exists(filepath.format(epoch=3)))
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=6,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=10,
        verbose=0,
    )
    tc.assertFalse(os.path.exists(filepath.format(epoch=1)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=4)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=5)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=6)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=7)))
    tc.assertFalse(os.path.exists(filepath.format(epoch=8)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=9)))

    # Case 9: `ModelCheckpoint` with valid and invalid save_freq argument.
    with tc.assertRaisesRegex(ValueError, "Unrecognized save_freq"):
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            save_weights_only=True,
            mode=mode,
            save_freq="invalid_save_freq",
        )
    # The following should not raise ValueError.
    callbacks.ModelCheckpoint(
        filepath,
        monitor=monitor,
        save_best_only=save_best_only,
        save_weights_only=True,
        mode=mode,
        save_freq="epoch",
    )
    callbacks.ModelCheckpoint(
        filepath,
        monitor=monitor,
        save_best_only=save_best_only,
        save_weights_only=True,
        mode=mode,
        save_freq=3,
    )

    # Case 10a: `ModelCheckpoint` save with batch in filename.
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(
        temp_dir, "checkpoint.epoch{epoch:02d}batch{batch:02d}.keras"
    )
    cbks = [
        callbacks.ModelCheckpoint(filepath, monitor=monitor, save_freq=1)
    ]
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=15,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=5,
        verbose=1,
    )
    tc.assertTrue(os.path.exists(filepath.format(epoch=1, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=1, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=2, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=2, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=4, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=4, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=5, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=5, batch=2)))

    # Case 10b: `ModelCheckpoint` save weights with batch in filename.
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(
        temp_dir, "checkpoint.epoch{epoch:02d}batch{batch:02d}.weights.h5"
    )
    cbks = [
        callbacks.ModelCheckpoint(
            filepath, monitor=monitor, save_freq=1, save_weights_only=True
        )
    ]
    train(
        loop,
        model,
        x_train,
        y_train,
        batch_size=15,
        validation_data=(x_test, y_test),
        callbacks=cbks,
        epochs=5,
        verbose=1,
    )

    tc.assertTrue(os.path.exists(filepath.format(epoch=1, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=1, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=2, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=2, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=3, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=4, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=4, batch=2)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=5, batch=1)))
    tc.assertTrue(os.path.exists(filepath.format(epoch=5, batch=2)))

    # Case 11: ModelCheckpoint saves model with initial_value_threshold
    # param
    mode = "max"
    monitor = "val_acc"
    initial_value_threshold = -0.01
    save_best_only = True
    filepath = os.path.join(temp_dir, "checkpoint.keras")
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            initial_value_threshold=initial_value_threshold,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 12: ModelCheckpoint saves model with initial_value_threshold
    # param
    mode = "auto"
    monitor = "val_loss"
    initial_value_threshold = None
    save_best_only = True
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            initial_value_threshold=initial_value_threshold,
            mode=mode,
        )
    ]
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
    os.remove(filepath)

    # Case 13: ModelCheckpoint doesn't save model if loss was minimum
    # earlier
    mode = "min"
    monitor = "val_loss"
    initial_value_threshold = 0
    save_best_only = True
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            initial_value_threshold=initial_value_threshold,
            mode=mode,
        )
    ]
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
    tc.assertFalse(os.path.exists(filepath))

    # Case 14: ModelCheckpoint doesn't save model if loss was min earlier in
    # auto mode
    mode = "auto"
    monitor = "val_loss"
    initial_value_threshold = 0
    save_best_only = True
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            initial_value_threshold=initial_value_threshold,
            mode=mode,
        )
    ]
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
    tc.assertFalse(os.path.exists(filepath))

    # Case 15: ModelCheckpoint doesn't save model if auc was max earlier in
    # auto mode
    mode = "auto"
    monitor = "val_auc"
    initial_value_threshold = 1
    save_best_only = True
    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            initial_value_threshold=initial_value_threshold,
            mode=mode,
        )
    ]
    model.compile(
        loss="categorical_crossentropy",
        optimizer="sgd",
        metrics=[metrics.AUC()],
    )
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
    tc.assertFalse(os.path.exists(filepath))

@pytest.mark.skipif(
    h5py is None,
    reason="`h5py` is a required dependency for `ModelCheckpoint` tests.",
)
@pytest.mark.parametrize("loop", LOOPS)
def test_model_checkpoint_loading(loop, tmp_path):
    def get_model():
        inputs = layers.Input(shape=(INPUT_DIM,), batch_size=5)
        x = layers.Dense(NUM_HIDDEN, activation="relu")(inputs)
        outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
        functional_model = models.Model(inputs, outputs)
        functional_model.compile(
            loss="categorical_crossentropy",
            optimizer="sgd",
            metrics=[metrics.Accuracy("acc")],
        )
        return functional_model

    (x_train, y_train), (x_test, y_test) = test_utils.get_test_data(
        random_seed=42,
        train_samples=TRAIN_SAMPLES,
        test_samples=TEST_SAMPLES,
        input_shape=(INPUT_DIM,),
        num_classes=NUM_CLASSES,
    )
    y_test = to_categorical(y_test, num_classes=NUM_CLASSES)
    y_train = to_categorical(
        y_train, num_classes=NUM_CLASSES
    )

    # Model Checkpoint load model (default)
    model = get_model()
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(temp_dir, "checkpoint.model.keras")
    mode = "auto"
    monitor = "val_loss"
    save_best_only = True

    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            mode=mode,
        )
    ]
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
    ref_weights = model.get_weights()
    tc.assertTrue(os.path.exists(filepath))
    new_model = saving.load_model(filepath)
    new_weights = new_model.get_weights()
    tc.assertEqual(len(ref_weights), len(new_weights))
    for ref_w, w in zip(ref_weights, new_weights):
        tc.assertAllClose(w, ref_w)

    # Model Checkpoint load model weights
    model = get_model()
    temp_dir = new_temp_dir(tmp_path)
    filepath = os.path.join(temp_dir, "checkpoint.weights.h5")
    mode = "auto"
    monitor = "val_loss"
    save_best_only = True

    cbks = [
        callbacks.ModelCheckpoint(
            filepath,
            monitor=monitor,
            save_best_only=save_best_only,
            save_weights_only=True,
            mode=mode,
        )
    ]
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
    ref_weights = model.get_weights()
    tc.assertTrue(os.path.exists(filepath))
    new_model = get_model()
    new_model.load_weights(filepath)
    new_weights = new_model.get_weights()
    tc.assertEqual(len(ref_weights), len(new_weights))
    for ref_w, w in zip(ref_weights, new_weights):
        tc.assertAllClose(w, ref_w)
