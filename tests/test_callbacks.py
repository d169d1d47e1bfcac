"""Keras callbacks in the GradientTape loops: TensorBoard, CSVLogger, TerminateOnNaN, EarlyStopping and a
user's own Callback receive each window's logs (the prequential ones, online), as from ``fit``."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk


class Recorder(keras.callbacks.Callback):
    """Notes every event and the logs that come with it."""

    def __init__(self):
        super().__init__()
        self.events, self.rows = [], []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append("batch")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")
        self.rows.append(dict(logs))

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_a_callback_sees_the_online_loop_as_fit_would_with_prequential_logs(small):
    recorder = Recorder()
    history = tk.train_online(tk.models.mlp(seed=0), small[0], log_every=200, callbacks=[recorder], verbose=0)
    assert recorder.events[0] == "train_begin" and recorder.events[-1] == "train_end"
    assert [e for e in recorder.events if e.startswith("epoch_end")] == ["epoch_end 0", "epoch_end 1", "epoch_end 2"]
    assert recorder.rows[-1].keys() == {"loss", "accuracy"}  # fit's logs: the window's prequential values
    assert recorder.rows[-1]["accuracy"] == pytest.approx(history.last("accuracy"))
    assert {"samples", "updates", "time", "prequential_accuracy"} <= history.history.keys()  # the history's own
    assert isinstance(history, keras.callbacks.History) and recorder.model is not None


def test_tensorboard_writes_event_files_that_read_back(small, tmp_path):
    tk.train_minibatch(tk.models.mlp(seed=0), small[0], epochs=2, validation_data=small[1],
                       callbacks=[keras.callbacks.TensorBoard(str(tmp_path))], verbose=0)
    tags = {}
    for path in (tmp_path / "train").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    assert tags["epoch_loss"] == [0, 1] and tags["epoch_accuracy"] == [0, 1] and "epoch_samples" not in tags
    assert list((tmp_path / "validation").glob("events.out.tfevents.*"))  # val_* go to the validation writer


def test_csv_logger_gets_one_row_per_window(small, tmp_path):
    log = tmp_path / "log.csv"
    tk.train_online(tk.models.mlp(seed=0), small[0], log_every=300, callbacks=[keras.callbacks.CSVLogger(str(log))],
                    verbose=0)
    rows = list(csv.DictReader(log.open()))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert rows[0].keys() == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}  # fit's columns, no more


def test_early_stopping_ends_an_online_run_after_its_window(small):
    # no window improves by 10: the first sets the baseline, the second stops the run
    stop = keras.callbacks.EarlyStopping(monitor="loss", mode="min", patience=0, min_delta=10.0)
    history = tk.train_online(tk.models.mlp(seed=0), small[0], log_every=100, callbacks=[stop], verbose=0)
    assert history.history["samples"] == [100, 200]  # the first window sets the baseline, the second stops it


def test_terminate_on_nan_watches_the_steps_and_stops_the_run(small):
    class NanLoss(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["loss"] = float("nan")  # what TerminateOnNaN looks for, from the step before it

    history = tk.train_minibatch(tk.models.mlp(seed=0), small[0], epochs=3,
                                 callbacks=[NanLoss(), keras.callbacks.TerminateOnNaN()], verbose=0)
    assert history.epoch == [0]
    assert np.isfinite(history.last("loss"))
