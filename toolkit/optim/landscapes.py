"""Small loss landscapes and a descent loop, to watch optimizers move (chapter 2).

>>> path = descend(bowl, keras.optimizers.SGD(0.03), (-4.0, 1.5), steps=3)
>>> path.shape, bool(bowl(path[-1]) < bowl(path[0]))
((4, 2), True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf


def bowl(point):
    """An ill-conditioned bowl: f(x, y) = (x^2 + 25 y^2) / 2, minimum at (0, 0) (chapter 2)."""
    return 0.5 * (point[0] ** 2 + 25.0 * point[1] ** 2)


def rosenbrock(point):
    """The banana valley: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1) (chapter 2)."""
    return (1 - point[0]) ** 2 + 100.0 * (point[1] - point[0] ** 2) ** 2


def descend(function: Callable, optimizer: keras.optimizers.Optimizer, start: Sequence[float],
            steps: int) -> np.ndarray:
    """Minimise ``function`` of one point with ``optimizer``; returns the path, start included (chapter 2).

    Each step is one compiled GradientTape step and ``optimizer.apply_gradients``.
    """
    point = keras.Variable(np.array(start, np.float32))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = function(point)
        optimizer.apply_gradients([(tape.gradient(value, point), point)])

    path = [point.numpy().copy()]
    for _ in range(steps):
        step()
        path.append(point.numpy().copy())
    return np.array(path)
