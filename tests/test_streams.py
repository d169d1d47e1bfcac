"""toolkit.data.streams: seeded, replayable streams from arrays, generators and datasets, with drift."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

import toolkit as tk


def _labels(stream, start=0, size=7, count=None):
    blocks = stream.blocks(start, size)
    ys = [y for _, y in (itertools.islice(blocks, count) if count else blocks)]
    return np.concatenate(ys)


def test_same_seed_same_stream_and_different_seed_differs(mnist):
    a = tk.Stream.from_arrays(mnist.x_train, mnist.y_train, seed=3)
    b = tk.Stream.from_arrays(mnist.x_train, mnist.y_train, seed=3)
    c = tk.Stream.from_arrays(mnist.x_train, mnist.y_train, seed=4)
    np.testing.assert_array_equal(_labels(a, size=500), _labels(b, size=500))
    assert not np.array_equal(_labels(a, size=500), _labels(c, size=500))
    xa, _ = a.take(50)
    xb, _ = b.take(50)
    np.testing.assert_array_equal(xa, xb)


def test_reading_from_any_position_replays_the_same_samples():
    stream = tk.Stream.from_arrays(np.arange(100)[:, None], np.arange(100), seed=1, endless=True)
    whole = _labels(stream, size=9, count=30)  # 270 samples over three passes
    tail = _labels(stream, start=123, size=11, count=10)
    np.testing.assert_array_equal(whole[123:233], tail)


def test_endless_stream_reshuffles_every_pass():
    stream = tk.Stream.from_arrays(np.zeros((50, 1)), np.arange(50), seed=0, endless=True)
    assert stream.length is None
    first, second = _labels(stream, size=50, count=2).reshape(2, 50)
    assert sorted(first) == sorted(second) == list(range(50))
    assert not np.array_equal(first, second)


def test_finite_stream_ends_and_unshuffled_keeps_order():
    stream = tk.Stream.from_arrays(np.zeros((10, 1)), np.arange(10), shuffle=False)
    assert stream.length == 10
    assert _labels(stream, size=4).tolist() == list(range(10))
    assert len(stream.take(5, start=8)[1]) == 2


def test_generator_and_dataset_streams_match_the_array_stream():
    x = np.random.default_rng(0).random((40, 3)).astype(np.float32)
    y = np.arange(40)
    arrays = tk.Stream.from_arrays(x, y, shuffle=False)
    generated = tk.Stream.from_generator(lambda: zip(x, y), length=40)
    dataset = tk.Stream.from_dataset(tf.data.Dataset.from_tensor_slices((x, y)))
    assert dataset.length == 40
    for other in (generated, dataset):
        np.testing.assert_array_equal(_labels(arrays, start=5, size=6), _labels(other, start=5, size=6))
        np.testing.assert_allclose(other.take(3, start=10)[0], x[10:13])


def test_as_stream_accepts_pairs_streams_and_datasets_but_not_lists():
    pair = (np.zeros((4, 2)), np.arange(4))
    assert tk.streams.as_stream(pair).length == 4
    stream = tk.Stream.from_arrays(*pair)
    assert tk.streams.as_stream(stream) is stream
    with pytest.raises(TypeError, match="Stream.from_arrays"):
        tk.streams.as_stream([1, 2, 3])


def test_label_permutation_switches_at_k_and_moves_every_class():
    drift = tk.LabelPermutation(at=30, seed=5)
    assert not np.any(drift.permutation == np.arange(10))
    stream = tk.Stream.from_arrays(np.zeros((100, 1)), np.arange(100) % 10, shuffle=False).drift(drift)
    y = _labels(stream, size=16)
    np.testing.assert_array_equal(y[:30], np.arange(30) % 10)
    np.testing.assert_array_equal(y[30:], drift.permutation[np.arange(30, 100) % 10])
    # the same wherever reading starts
    np.testing.assert_array_equal(_labels(stream, start=25, size=10), y[25:])


def test_rotation_drift_turns_images_gradually_counter_clockwise(mnist):
    drift = tk.Rotation(start=100, end=200, degrees=90)
    np.testing.assert_allclose(drift.angles(np.array([0, 100, 150, 200, 300])), [0, 0, 45, 90, 90])
    image = mnist.x_train[:1]
    unchanged, _ = drift(image, np.zeros(1), np.array([50]))
    turned, _ = drift(image, np.zeros(1), np.array([250]))
    np.testing.assert_allclose(unchanged, image, atol=1e-6)
    np.testing.assert_allclose(turned[0], np.rot90(image[0]), atol=1e-5)


def test_rotation_needs_images():
    with pytest.raises(ValueError, match="image-shaped"):
        tk.Rotation(0, 10)(np.zeros((2, 784)), np.zeros(2), np.arange(2))
