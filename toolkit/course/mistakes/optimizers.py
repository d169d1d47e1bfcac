"""Chapter 2's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            'No bias correction: the first steps are about 3x too large.',
            """g = keras.ops.cast(gradient, variable.dtype)
m, v = self.m[self._get_variable_index(variable)], self.v[self._get_variable_index(variable)]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(v, self.beta_2 * v + (1 - self.beta_2) * keras.ops.square(g))
self.assign_sub(variable, learning_rate * m / (keras.ops.sqrt(v) + self.epsilon))""",
        ),
        Mistake(
            "The seed's version: beta_1 and beta_2 used as learning rates, no square root.",
            """g = keras.ops.cast(gradient, variable.dtype)
t = keras.ops.cast(self.iterations + 1, variable.dtype)
m, v = self.m[self._get_variable_index(variable)], self.v[self._get_variable_index(variable)]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(v, self.beta_2 * v + (1 - self.beta_2) * keras.ops.square(g))
m_hat = m / (1 - keras.ops.power(self.beta_1, t))
v_hat = v / (1 - keras.ops.power(self.beta_2, t))
self.assign_sub(variable, learning_rate * m_hat / (v_hat + self.epsilon))""",
        ),
    ),
    "2": (
        Mistake(
            "Keras's form, as shown in section 1: epsilon inside the root, the rate inside the buffer.",
            """g = keras.ops.cast(gradient, variable.dtype)
index = self._get_variable_index(variable)
v, b = self.v[index], self.b[index]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
self.assign(b, self.momentum * b + learning_rate * g / keras.ops.sqrt(v + self.epsilon))
self.assign_sub(variable, b)""",
        ),
        Mistake(
            "Forgets the momentum buffer: plain RMSprop in PyTorch's form.",
            """g = keras.ops.cast(gradient, variable.dtype)
v = self.v[self._get_variable_index(variable)]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
self.assign_sub(variable, learning_rate * g / (keras.ops.sqrt(v) + self.epsilon))""",
        ),
    ),
    "3": (
        Mistake(
            'A smaller constant rate is not a schedule.',
            'return 0.02',
        ),
        Mistake(
            'Counts epochs, not steps: the rate is gone after 4 samples.',
            'return keras.optimizers.schedules.CosineDecay(0.05, decay_steps=4)',
        ),
    ),
    "4": (
        Mistake(
            'Off by a factor of two: 1 / lambda_max is where the fastest direction converges in one step.',
            """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(1.0 / np.max(np.linalg.eigvalsh(hessian.numpy())))""",
        ),
        Mistake(
            'The smallest eigenvalue: the slowest direction, not the one that diverges first.',
            """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(2.0 / np.min(np.linalg.eigvalsh(hessian.numpy())))""",
        ),
        Mistake(
            '2 / the largest row sum of |H| (the infinity norm): equal to 2 / lambda_max only when rows sum to it.',
            """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta)
return float(2.0 / np.abs(hessian.numpy()).sum(axis=1).max())""",
        ),
    ),
    "5": (
        Mistake(
            'Sigma^2 / B: sampling with replacement, so a full batch still looks noisy.',
            """mean = per_sample_gradients.mean(axis=0)
return float(np.mean(np.sum((per_sample_gradients - mean) ** 2, axis=1)) / batch_size)""",
        ),
        Mistake(
            'N instead of N - 1 in the correction.',
            """n = len(per_sample_gradients)
mean = per_sample_gradients.mean(axis=0)
spread = np.mean(np.sum((per_sample_gradients - mean) ** 2, axis=1))
return float(spread / batch_size * (n - batch_size) / n)""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "4": (
        # returns a NumPy scalar (a float subclass), not a float: its repr is np.float64(...)
        """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
return np.float64(2.0) / np.linalg.eigvalsh(outer.jacobian(grad, theta).numpy()).max()""",
    ),
}
