"""The training loops: tape vs fit equivalence, per-sample correctness, prequential order,
label delay, trace count, checkpoints and resume."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk
from tests.helpers import ROOT, max_weight_difference, run_python, twin_models


@pytest.mark.parametrize("batch_size,optimizer", [(32, "adam"), (48, "sgd"), (7, "rmsprop")])
def test_minibatch_tape_loop_matches_fit(mnist, batch_size, optimizer):
    """Same seed, same order, one epoch: same weights within 1e-5 (a partial last batch included)."""
    x, y = mnist.x_train[:1000], mnist.y_train[:1000]
    with_fit, with_tape = twin_models()
    fit_history = tk.fit_batch(with_fit, (x, y), optimizer=tk.make_optimizer(optimizer), epochs=1,
                               batch_size=batch_size, shuffle=False, verbose=0)
    tape_history = tk.train_minibatch(with_tape, (x, y), optimizer=tk.make_optimizer(optimizer), epochs=1,
                                      batch_size=batch_size, shuffle=False, verbose=0)
    assert max_weight_difference(with_fit, with_tape) < 1e-5
    assert tape_history.last("updates") == fit_history.history["updates"][-1] == -(-1000 // batch_size)
    assert tape_history.last("loss") == pytest.approx(fit_history.history["loss"][-1], rel=1e-4)
    assert tape_history.last("accuracy") == pytest.approx(fit_history.history["accuracy"][-1], abs=1e-6)


def test_minibatch_tape_loop_matches_fit_with_regularization(mnist):
    x, y = mnist.x_train[:500], mnist.y_train[:500]
    a = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                                             kernel_initializer=keras.initializers.GlorotUniform(3)),
                          keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(4))])
    b = keras.models.clone_model(a)
    b.set_weights(a.get_weights())
    tk.fit_batch(a, (x, y), optimizer="sgd", batch_size=50, shuffle=False, verbose=0)
    tk.train_minibatch(b, (x, y), optimizer="sgd", batch_size=50, shuffle=False, verbose=0)
    assert max_weight_difference(a, b) < 1e-5


def corrected_seed_online_loop(model, x, y, learning_rate):
    """The seed's per-sample GradientTape loop, corrected (logits, one pass, eager)."""
    optimizer = keras.optimizers.SGD(learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for xi, yi in zip(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(yi[None], model(xi[None], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return np.array(losses)


def test_online_per_sample_equals_the_plain_eager_loop(mnist):
    x, y = mnist.x_train[:120], mnist.y_train[:120]
    compiled, eager = twin_models()
    history = tk.train_online(compiled, tk.Stream.from_arrays(x, y, shuffle=False),
                              optimizer=keras.optimizers.SGD(0.05), log_every=1, verbose=0)
    reference_losses = corrected_seed_online_loop(eager, x, y, 0.05)
    assert max_weight_difference(compiled, eager) < 1e-5
    # prequential: each recorded loss is the loss *before* that sample's update
    np.testing.assert_allclose(history.history["window_loss"], reference_losses, rtol=1e-4, atol=1e-6)
    assert history.last("updates") == 120


def test_prequential_prediction_uses_inference_mode_for_dropout(mnist):
    """With dropout the prediction is a separate inference pass: its loss is the deterministic one."""
    x, y = mnist.x_train[:1], mnist.y_train[:1]
    model = tk.models.mlp(dropout=0.5, seed=2)
    before = tk.evaluate(model, x, y)["loss"]
    history = tk.train_online(model, (x, y), log_every=1, verbose=0)
    assert history.last("loss") == pytest.approx(before, rel=1e-5)


def test_micro_batches_update_once_per_batch(small):
    (x, y), _ = small
    history = tk.train_online(tk.models.mlp(), (x, y), batch_size=16, log_every=100, verbose=0)
    assert history.last("samples") == 600
    assert history.last("updates") == -(-600 // 16)
    assert history.history["samples"] == [96 * k for k in range(1, 7)] + [600]  # chunks of whole micro-batches


def test_label_delay_predicts_with_labels_still_in_flight(small):
    (x, y), _ = small
    model = tk.models.mlp(seed=0)
    initial = tk.evaluate(model, x[:50], y[:50])
    history = tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), label_delay=50, log_every=50,
                              verbose=0)
    # the first 50 samples are all predicted before any label arrives: by the initial model
    assert history.history["window_loss"][0] == pytest.approx(initial["loss"], rel=1e-5)
    assert history.history["updates"][0] == 0
    assert history.last("updates") == 600 - 50  # the last 50 labels arrive after the stream ends
    with pytest.raises(ValueError, match="multiple of batch_size"):
        tk.train_online(model, (x, y), batch_size=4, label_delay=6, verbose=0)


class _Listening(keras.callbacks.Callback):
    """A user's callback: the trainer must assume it reads the model after every window."""


@pytest.mark.parametrize("options", [{}, {"label_delay": 20}, {"batch_size": 4}],
                         ids=["plain", "label delay", "batch 4"])
def test_log_windows_learned_in_one_call_report_as_if_learned_apart(small, options):
    """Without a validation set, checkpoints or a user's callback, windows share compiled calls; every
    row, and the weights, are what separate calls give (times aside)."""
    (x, y), _ = small
    together, apart = twin_models(seed=6)
    rows = [tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=40, verbose=0,
                            optimizer=keras.optimizers.SGD(0.05), callbacks=callbacks, **options).history
            for model, callbacks in ((together, []), (apart, [_Listening()]))]
    assert len(rows[0]["samples"]) == 15
    for key in rows[0]:
        if key != "time":
            assert rows[0][key] == pytest.approx(rows[1][key], rel=1e-6, abs=1e-9), key
    assert max_weight_difference(together, apart) < 1e-6
    assert rows[0]["time"] == sorted(rows[0]["time"]) and rows[0]["time"][0] > 0


def test_a_nan_inside_windows_learned_together_names_its_sample(small):
    (x, y), _ = small
    x = x.copy()
    x[150] = 2.0  # finite, so the input guard lets it through; sqrt(1.5 - 2) makes the loss NaN
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(lambda t: keras.ops.sqrt(1.5 - t)),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(tk.errors.NonFiniteLossError, match=r"sample 150 of the stream \(update 151\)"):
        tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=50, verbose=0,
                        optimizer=keras.optimizers.SGD(1e-4))


def test_the_checked_replay_compiles_only_when_a_nan_needs_it(small):
    (x, y), _ = small
    stepper = tk.training.TapeStepper(tk.models.mlp(), keras.optimizers.SGD(0.01), tk.default_loss())
    stepper.run(x, y, 1, steps_per_chunk=600)
    assert stepper.run_chunk.experimental_get_tracing_count() == 1
    assert stepper.run_checked_chunk.experimental_get_tracing_count() == 0


def test_the_compiled_step_traces_once_whatever_the_learning_rate(small):
    (x, y), _ = small
    model = tk.models.mlp()
    optimizer = keras.optimizers.SGD(0.01)
    stepper = tk.training.TapeStepper(model, optimizer, tk.default_loss())
    for rate in (0.01, 0.05, 0.2):
        optimizer.learning_rate = rate  # assigns the optimizer's variable
        for start in range(0, 600, 250):  # the last chunk is partial (100 of 250)
            stepper.run(x[start:start + 250], y[start:start + 250], 1, steps_per_chunk=250)
    assert stepper.run_chunk.experimental_get_tracing_count() == 1
    assert float(optimizer.learning_rate) == pytest.approx(0.2)


def test_histories_record_samples_time_and_validation(small):
    train, test = small
    history = tk.train_online(tk.models.mlp(), train, log_every=200, validation_data=test, verbose=0)
    assert history.history["samples"] == [200, 400, 600]
    assert all(t > 0 for t in history.history["time"]) and history.samples_per_second > 0
    assert 0.3 < history.last("val_accuracy") <= 1.0
    fit = tk.fit_batch(tk.models.mlp(), train, epochs=2, validation_data=test, verbose=0)
    assert fit.history["samples"] == [600, 1200] and fit.history["updates"] == [19, 38]


def test_online_progress_bar_shows_samples_per_second(small, capsys):
    tk.train_online(tk.models.mlp(), small[0], log_every=300, verbose=1)
    assert "samples/s" in capsys.readouterr().out


def test_progress_is_plain_lines_where_the_output_is_not_a_terminal(small, capsys, monkeypatch):
    monkeypatch.setattr("toolkit.training.callbacks.interactive_output", lambda: False)
    tk.train_online(tk.models.mlp(), small[0], log_every=300, verbose=1)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\b" not in out
    assert out.splitlines()[-1].startswith("600/600 samples - loss: ")


def test_online_refuses_to_overwrite_checkpoints_without_resume(small, tmp_path):
    tk.train_online(tk.models.mlp(), small[0], checkpoint_dir=str(tmp_path), verbose=0)
    with pytest.raises(FileExistsError, match="resume=True"):
        tk.train_online(tk.models.mlp(), small[0], checkpoint_dir=str(tmp_path), verbose=0)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        tk.train_online(tk.models.mlp(), small[0], resume=True, verbose=0)


def _worker(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    return run_python(str(ROOT / "tests" / "resume_worker.py"), str(tmp_path / f"{name}.npz"),
                      str(tmp_path / f"{name}-ckpt"), *args, timeout=300)


def _load(path: Path):
    with np.load(path) as saved:
        weights = [saved[f"arr_{i}"] for i in range(len(saved.files) - 1)]
        return weights, json.loads(str(saved["history"]))


@pytest.mark.slow
@pytest.mark.parametrize("label_delay", [0, 40])
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, label_delay):
    delay = ["--label-delay", str(label_delay)]
    assert _worker(tmp_path, "whole", *delay).returncode == 0
    killed = _worker(tmp_path, "cut", "--kill-at", "2300", *delay)
    assert killed.returncode == -9, killed.stderr[-2000:]  # SIGKILL: no clean-up ran
    assert not (tmp_path / "cut.npz").exists()
    assert tf.train.latest_checkpoint(str(tmp_path / "cut-ckpt")).endswith("ckpt-2000")
    resumed = _worker(tmp_path, "cut", "--resume", *delay)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    whole_weights, whole_history = _load(tmp_path / "whole.npz")
    cut_weights, cut_history = _load(tmp_path / "cut.npz")
    for a, b in zip(whole_weights, cut_weights):
        np.testing.assert_array_equal(a, b)
    # nothing lost: every row of the uninterrupted run's history is there, time apart
    assert cut_history["samples"] == whole_history["samples"] == list(range(250, 3001, 250))
    for key in ("loss", "accuracy", "window_accuracy", "updates"):
        np.testing.assert_allclose(cut_history[key], whole_history[key], rtol=1e-6)


def test_minibatch_resume_continues_at_the_next_epoch(small, tmp_path):
    train, _ = small
    straight, stopped = twin_models()
    tk.train_minibatch(straight, train, optimizer=keras.optimizers.Adam(1e-3), epochs=3, verbose=0)
    tk.train_minibatch(stopped, train, optimizer=keras.optimizers.Adam(1e-3), epochs=2,
                       checkpoint_dir=str(tmp_path), verbose=0)
    restarted = tk.models.mlp(seed=7)  # fresh weights: the checkpoint must overwrite them
    history = tk.train_minibatch(restarted, train, optimizer=keras.optimizers.Adam(1e-3), epochs=3,
                                 checkpoint_dir=str(tmp_path), resume=True, verbose=0)
    assert history.history["epoch"] == [1, 2, 3]
    assert max_weight_difference(straight, restarted) < 1e-6


class _CrashAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise RuntimeError("simulated crash")


def test_fit_batch_resumes_from_its_backup(small, tmp_path):
    train, _ = small
    straight, crashed = twin_models()
    tk.fit_batch(straight, train, optimizer=keras.optimizers.Adam(1e-3), epochs=3, shuffle=False, verbose=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        tk.fit_batch(crashed, train, optimizer=keras.optimizers.Adam(1e-3), epochs=3, shuffle=False,
                     checkpoint_dir=tmp_path, callbacks=[_CrashAfterEpoch(2)], verbose=0)
    restarted = tk.models.mlp(seed=7)
    history = tk.fit_batch(restarted, train, optimizer=keras.optimizers.Adam(1e-3), epochs=3, shuffle=False,
                           checkpoint_dir=tmp_path, resume=True, verbose=0)
    assert len(history.history["loss"]) == 1  # only epoch 3 was left to run
    assert max_weight_difference(straight, restarted) < 1e-6
    assert (tmp_path / "log.csv").read_text().count("\n") == 4  # header + epochs 1, 2 and 3


def test_gradient_accumulation_equals_one_large_batch(mnist):
    """Keras 3's gradient_accumulation_steps: 8 micro-batches of 32 make one update of batch 256."""
    x, y = mnist.x_train[:1024], mnist.y_train[:1024]
    big, accumulated = twin_models()
    tk.fit_batch(big, (x, y), optimizer=keras.optimizers.SGD(0.1), batch_size=256, shuffle=False, verbose=0)
    accumulate_8 = keras.optimizers.SGD(0.1, gradient_accumulation_steps=8)
    history = tk.train_minibatch(accumulated, (x, y), optimizer=accumulate_8, batch_size=32, shuffle=False, verbose=0)
    assert max_weight_difference(big, accumulated) < 1e-6
    assert history.last("updates") == 4  # weight updates, not micro-batches


def test_auto_jit_uses_xla_where_it_helps_on_this_cpu():
    """XLA for dense models; not for augmentation layers (unsupported) or, on a CPU, convolutions (slow)
    and steps big enough that XLA's compile does not pay."""
    def stepper(model, batch_size=None):
        return tk.training.TapeStepper(model, keras.optimizers.SGD(0.01), tk.default_loss(), batch_size=batch_size)

    assert stepper(tk.models.mlp()).jit_compile is True
    assert stepper(tk.models.mlp(), batch_size=32).jit_compile is True
    assert stepper(tk.models.mlp(), batch_size=256).jit_compile is False  # big steps: the plain graph is as fast
    assert stepper(tk.models.cnn()).jit_compile is False
    augmented = tk.augment.with_augmentation(tk.models.mlp(), tk.augment.AugmentSpec(rotation_degrees=10))
    assert stepper(augmented).jit_compile is False
    assert tk.training.TapeStepper(tk.models.cnn(), keras.optimizers.SGD(0.01), tk.default_loss(),
                                 jit_compile=True).jit_compile is True  # an explicit choice wins


def test_mixed_float16_wraps_the_optimizer_in_loss_scaling(small):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tk.models.mlp(seed=0)
        optimizer, _ = tk.training.prepare_run(model, *small[0], keras.optimizers.SGD(0.1), None)
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        history = tk.train_minibatch(model, small[0], optimizer=optimizer, epochs=2, verbose=0)
        assert np.isfinite(history.last("loss")) and history.last("loss") < history.history["loss"][0]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_auto_jit_falls_back_when_xla_refuses_the_graph(small):
    """Max-pooling gradients have no deterministic XLA kernel: with op determinism on (as in every test),
    XLA refuses this convolution-free model's step, and "auto" runs it without XLA instead of failing."""
    init = keras.initializers.GlorotUniform(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Dense(4, kernel_initializer=init),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(10, kernel_initializer=init)])
    stepper = tk.training.TapeStepper(model, keras.optimizers.SGD(0.01), tk.default_loss())
    assert stepper.jit_compile is True
    with pytest.warns(UserWarning, match="running without XLA"):
        result = stepper.run(small[0][0][..., None], small[0][1], 1, steps_per_chunk=600)
    assert stepper.jit_compile is False and result.total_updates == 600
