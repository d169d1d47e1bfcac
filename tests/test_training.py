"""The training loops: tape vs fit equivalence, per-sample correctness, prequential order,
label delay, trace count, checkpoints and resume (every loop runs inside model.fit)."""

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
    np.testing.assert_allclose(history.history["loss"], reference_losses, rtol=1e-4, atol=1e-6)
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
    assert history.history["loss"][0] == pytest.approx(initial["loss"], rel=1e-5)
    assert history.history["updates"][0] == 0
    assert history.last("updates") == 600 - 50  # the last 50 labels arrive after the stream ends
    with pytest.raises(ValueError, match="multiple of batch_size"):
        tk.train_online(model, (x, y), batch_size=4, label_delay=6, verbose=0)


class _Listening(keras.callbacks.Callback):
    """A user's callback that reads nothing: it must change nothing."""


@pytest.mark.parametrize("options", [{}, {"label_delay": 20}, {"batch_size": 4}, {"chunk_size": 8}],
                         ids=["plain", "label delay", "batch 4", "chunks of 8"])
def test_chunks_and_callbacks_change_no_row_and_no_weight(small, options):
    """Rows and weights do not depend on how the stream is cut into compiled chunks, nor on a user's
    callback (times aside)."""
    (x, y), _ = small
    together, apart = twin_models(seed=6)
    other_chunks = {**options, "chunk_size": options.get("batch_size", 1) if "chunk_size" in options else 20}
    rows = [tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=40, verbose=0,
                            optimizer=keras.optimizers.SGD(0.05), callbacks=callbacks, **extra).history
            for model, callbacks, extra in ((together, [], options), (apart, [_Listening()], other_chunks))]
    assert len(rows[0]["samples"]) == 15
    for key in rows[0]:
        if key != "time":
            assert rows[0][key] == pytest.approx(rows[1][key], rel=1e-5, abs=1e-7), key
    assert max_weight_difference(together, apart) < 1e-5
    assert rows[0]["time"] == sorted(rows[0]["time"]) and rows[0]["time"][0] > 0


def test_a_nan_inside_a_chunk_names_its_sample(small):
    (x, y), _ = small
    x = x.copy()
    x[150] = 2.0  # finite, so the input guard lets it through; sqrt(1.5 - 2) makes the loss NaN
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(lambda t: keras.ops.sqrt(1.5 - t)),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(tk.errors.NonFiniteLossError, match=r"sample 150 of the stream \(update 151\)"):
        tk.train_online(model, tk.Stream.from_arrays(x, y, shuffle=False), log_every=50, verbose=0,
                        optimizer=keras.optimizers.SGD(1e-4))


def _count_traces(monkeypatch) -> list:
    """Count how often the online step is traced (its Python body runs once per trace)."""
    traced = []
    call = tk.training.OnlineStep.__call__
    monkeypatch.setattr(tk.training.OnlineStep, "__call__", lambda self, data: traced.append(1) or call(self, data))
    return traced


def test_the_compiled_step_traces_once_whatever_the_learning_rate(small, monkeypatch):
    (x, y), _ = small
    traced = _count_traces(monkeypatch)
    optimizer = keras.optimizers.SGD(0.01)
    rates = keras.callbacks.LearningRateScheduler(lambda window, rate: 0.01 * (window + 1))
    history = tk.train_online(tk.models.mlp(), (x, y), optimizer=optimizer, log_every=200, callbacks=[rates],
                              verbose=0)  # the last chunk of each window is whole; the stream's last is padded
    assert len(traced) == 1
    assert float(optimizer.learning_rate) == pytest.approx(0.03)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.02, 0.03])  # History is last, as in fit


def test_histories_record_samples_time_and_validation(small):
    train, test = small
    history = tk.train_online(tk.models.mlp(), train, log_every=200, validation_data=test, verbose=0)
    assert history.history["samples"] == [200, 400, 600]
    assert all(t > 0 for t in history.history["time"]) and history.samples_per_second > 0
    assert 0.3 < history.last("val_accuracy") <= 1.0
    fit = tk.fit_batch(tk.models.mlp(), train, epochs=2, validation_data=test, verbose=0)
    assert fit.history["samples"] == [600, 1200] and fit.history["updates"] == [19, 38]


def test_online_progress_is_keras_own_progress_bar_one_epoch_per_window(small, capsys):
    tk.train_online(tk.models.mlp(), small[0], log_every=300, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "accuracy:" in out


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
    backed_up = json.loads((tmp_path / "cut-ckpt" / "backup" / "training_metadata.json").read_text())
    assert 1 <= backed_up["epoch"] < 12  # killed mid-run (reading sample 2300 or soon after), windows backed up
    resumed = _worker(tmp_path, "cut", "--resume", *delay)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    whole_weights, whole_history = _load(tmp_path / "whole.npz")
    cut_weights, cut_history = _load(tmp_path / "cut.npz")
    for a, b in zip(whole_weights, cut_weights):
        np.testing.assert_array_equal(a, b)
    # nothing lost: every row of the uninterrupted run's history is there, time apart
    assert cut_history["samples"] == whole_history["samples"] == list(range(250, 3001, 250))
    for key in ("loss", "accuracy", "prequential_accuracy", "updates"):
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
    assert history.epoch == [0, 1, 2] and history.history["samples"] == [600, 1200, 1800]  # no row lost
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
    assert history.epoch == [0, 1, 2]  # epoch 1 from the backup's rows; epochs 2 and 3 run again
    assert max_weight_difference(straight, restarted) < 1e-6


def test_gradient_accumulation_equals_one_large_batch(mnist):
    """Keras 3's gradient_accumulation_steps: 8 micro-batches of 32 make one update of batch 256."""
    x, y = mnist.x_train[:1024], mnist.y_train[:1024]
    big, accumulated = twin_models()
    tk.fit_batch(big, (x, y), optimizer=keras.optimizers.SGD(0.1), batch_size=256, shuffle=False, verbose=0)
    accumulate_8 = keras.optimizers.SGD(0.1, gradient_accumulation_steps=8)
    history = tk.train_minibatch(accumulated, (x, y), optimizer=accumulate_8, batch_size=32, shuffle=False, verbose=0)
    assert max_weight_difference(big, accumulated) < 1e-6
    assert history.last("updates") == 4  # weight updates, not micro-batches


def test_auto_jit_uses_xla_where_it_helps_on_this_cpu(small):
    """XLA for dense models; not for augmentation layers (unsupported) or, on a CPU, convolutions (slow)
    and steps big enough that XLA's compile does not pay. The choice holds under op determinism (on in
    every test), where Keras's own compile refuses XLA."""
    xla = tk.training.run.xla_by_default
    assert xla(tk.models.mlp()) is True and xla(tk.models.mlp(), 32) is True
    assert xla(tk.models.mlp(), 256) is False  # big steps: the plain graph is as fast
    assert xla(tk.models.cnn()) is False
    assert xla(tk.augment.with_augmentation(tk.models.mlp(), tk.augment.AugmentSpec(rotation_degrees=10))) is False
    model = tk.models.mlp()
    tk.train_online(model, small[0], verbose=0)
    assert model.jit_compile is True
    plain = tk.models.mlp()
    tk.train_online(plain, small[0], jit_compile=False, verbose=0)
    assert plain.jit_compile is False  # an explicit choice wins


def test_mixed_float16_trains_with_loss_scaling(small):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tk.models.mlp(seed=0)
        history = tk.train_minibatch(model, small[0], optimizer=keras.optimizers.SGD(0.1), epochs=2, verbose=0)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # compile wraps it, as in fit
        assert np.isfinite(history.last("loss")) and history.last("loss") < history.history["loss"][0]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_auto_jit_leaves_out_what_xla_cannot_run_deterministically(small):
    """Max-pooling gradients have no deterministic XLA kernel: with op determinism on (as in every test),
    "auto" runs this convolution-free model's step without XLA instead of failing."""
    init = keras.initializers.GlorotUniform(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Dense(4, kernel_initializer=init),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(10, kernel_initializer=init)])
    history = tk.train_online(model, (small[0][0][..., None], small[0][1]), verbose=0)
    assert model.jit_compile is False and history.last("updates") == 600


def test_a_non_finite_update_from_finite_gradients_stops_the_online_loop_with_the_weights_before_it(small):
    """A diverging optimizer (an infinite learning rate) makes NaN/inf weights from a finite loss and finite
    gradients: the online loop undoes the chunk, replays it to find the update, and keeps the weights from
    before it; the callbacks see a NaN loss first."""
    (x, y), _ = small
    model = tk.models.mlp(seed=10)
    start = model.get_weights()
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    said = r"update it made became NaN/inf \(the loss stayed finite\) at the batch starting at sample 0 "
    with pytest.raises(tk.NonFiniteLossError, match=said + r".*keeps its last good weights") as stopped:
        tk.train_online(model, (x, y), optimizer=keras.optimizers.SGD(float("inf")), callbacks=[record], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(start, model.get_weights()))
    history = stopped.value.history  # the window that stopped is recorded, as fit records its epoch
    assert np.isnan(seen[-1]) and history.rows == 1 and np.isnan(history.last("loss"))


def test_the_minibatch_loop_skips_a_nan_loss_and_says_when_an_update_broke_the_weights(small):
    """One comparison per step: a NaN/inf loss makes no update; an update that diverges from a finite loss
    is made, as fit makes it, and the error says that the weights hold NaN/inf."""
    (x, y), _ = small
    with pytest.raises(tk.NonFiniteLossError, match=r"made the weights NaN/inf .*the weights hold NaN/inf"):
        tk.train_minibatch(tk.models.mlp(seed=10), (x, y), optimizer=keras.optimizers.SGD(float("inf")), verbose=0)


def test_terminate_on_nan_of_the_user_stops_the_run_and_the_history_comes_back(small):
    (x, y), _ = small
    with pytest.warns(UserWarning, match="the weights hold NaN/inf"):
        history = tk.train_minibatch(tk.models.mlp(seed=10), (x, y), optimizer=keras.optimizers.SGD(float("inf")),
                                     epochs=3, callbacks=[keras.callbacks.TerminateOnNaN()], verbose=0)
    assert history.epoch == [0] and np.isnan(history.last("loss"))


def test_a_compiled_model_trains_as_compiled(small):
    """What trains is given once, as to compile: a compiled model keeps its optimizer, loss and metrics."""
    (x, y), _ = small
    model = tk.models.mlp(seed=0)
    sgd = keras.optimizers.SGD(0.05)
    model.compile(optimizer=sgd, loss=tk.default_loss(), metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    history = tk.train_online(model, (x, y), log_every=300, verbose=0)
    assert model.optimizer is sgd and int(sgd.iterations) == 600
    assert "sparse_top_k_categorical_accuracy" in history.history  # compiled metrics are computed and logged
    with pytest.raises(tk.errors.TrainingSetupError, match="not compiled"):
        tk.training.run.check_data(tk.models.mlp(), x[:4], y[:4])
