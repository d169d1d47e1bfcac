"""Keras 3.15.1 keras/src/callbacks/callback_test.py, run against fit, tk.train_minibatch and
tk.train_online (see loops.py for how a fit call maps onto each loop).

Adaptations:
- CallbackTest became a plain pytest function; ``test_obj.assertEqual`` inside the callback goes to
  ``loops.tc`` (unittest's assertEqual), unchanged.
- ``@pytest.mark.requires_trainable_backend`` dropped (TensorFlow backend).
- ``model.fit(x, y, **kw)`` -> ``train(loop, model, x, y, **kw)``, parametrized over LOOPS.
- keras.src imports -> the public ``keras`` API (same objects).
- loops.keras_test_case_setup (autouse) does what testing.TestCase.setUp did, clear_session (but not its
  process-wide disabling of Keras traceback filtering), then re-seeds as tests/conftest.py's ``seeded`` does.
- ``pytestmark = pytest.mark.slow`` (new): the keras_contract files together run for minutes.

Left out, per loop: nothing. The model counts its own calls; with batch_size=2 on 8 samples for one
epoch, the online mapping (chunk_size=2, micro-batch 2, log_every=8) makes one update per Keras batch,
so "model called batch + 1 times at the end of batch ``batch``" is the same claim for every loop.
"""

import numpy as np
import pytest
from keras import models
from keras.callbacks import Callback
from loops import LOOPS, keras_test_case_setup, tc, train  # noqa: F401

pytestmark = pytest.mark.slow  # the keras_contract package runs for minutes (three loops)


@pytest.mark.parametrize("loop", LOOPS)
def test_model_state_is_current_on_epoch_end(loop):
    test_obj = tc

    class TestModel(models.Model):
        def __init__(self):
            super().__init__()
            self.iterations = self.add_variable(
                shape=(), initializer="zeros", trainable=False
            )

        def call(self, inputs):
            self.iterations.assign(self.iterations + 1)
            return inputs

    class CBK(Callback):
        def on_batch_end(self, batch, logs):
            test_obj.assertEqual(int(self.model.iterations), batch + 1)

    model = TestModel()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.random((8, 1))
    y = np.random.random((8, 1))
    train(loop, model, x, y, callbacks=[CBK()], batch_size=2)
