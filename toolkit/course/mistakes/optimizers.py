"""Chapter 2's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

_GRAD = """g = keras.ops.cast(gradient, variable.dtype)
t = keras.ops.cast(self.iterations + 1, variable.dtype)
index = self._get_variable_index(variable)
"""

_HESSIAN = """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
hessian = outer.jacobian(grad, theta).numpy()
"""

_SPREAD = """n = len(per_sample_gradients)
mean = per_sample_gradients.mean(axis=0)
spread = np.mean(np.sum((per_sample_gradients - mean) ** 2, axis=1))
"""

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            "This is AdaBelief measured against the old mean: update m first, then take the deviation g - m "
            "from the mean that already includes this step's gradient.",
            _GRAD + """m, s = self.m[index], self.s[index]
self.assign(s, self.beta_2 * s + (1 - self.beta_2) * keras.ops.square(g - m))
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
m_hat = m / (1 - keras.ops.power(self.beta_1, t))
s_hat = s / (1 - keras.ops.power(self.beta_2, t))
self.assign_sub(variable, learning_rate * m_hat / (keras.ops.sqrt(s_hat) + self.epsilon))""",
        ),
        Mistake(
            "This is AdaBelief without bias correction: like Adam's, both averages start at zero, so divide m "
            "by 1 - beta_1^t and s by 1 - beta_2^t.",
            """g = keras.ops.cast(gradient, variable.dtype)
index = self._get_variable_index(variable)
m, s = self.m[index], self.s[index]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(s, self.beta_2 * s + (1 - self.beta_2) * keras.ops.square(g - m))
self.assign_sub(variable, learning_rate * m / (keras.ops.sqrt(s) + self.epsilon))""",
        ),
        Mistake(
            "This corrects m but not s: s starts at zero too, so divide it by 1 - beta_2^t before the root.",
            _GRAD + """m, s = self.m[index], self.s[index]
self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
self.assign(s, self.beta_2 * s + (1 - self.beta_2) * keras.ops.square(g - m))
m_hat = m / (1 - keras.ops.power(self.beta_1, t))
self.assign_sub(variable, learning_rate * m_hat / (keras.ops.sqrt(s) + self.epsilon))""",
        ),
        Mistake(
            "This is Adam's step: AdaBelief averages the squared deviation (g - m)^2 of each gradient from m, "
            "not the squared gradient g^2.",
            """self.form, self.amsgrad, self.v = "paper", False, self.s
opt.Adam.update_step(self, gradient, variable, learning_rate)""",
            lazy=True,
        ),
    ),
    "2": (
        Mistake(
            "This is RMSprop with no bias correction, the toolkit's form=\"paper\": v starts at zero, so divide "
            "it by 1 - rho^t, with t counting this step, before taking its root.",
            """self.form, self.centered, self.velocities, self.buffers = "paper", False, self.v, self.b
opt.RMSprop.update_step(self, gradient, variable, learning_rate)""",
            lazy=True,
        ),
        Mistake(
            "This puts the learning rate inside the momentum buffer (Keras's form): in PyTorch's form b sums "
            "the normalised gradients and the rate multiplies b, so a rate drop acts at once.",
            _GRAD + """v, b = self.v[index], self.b[index]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
v_hat = v / (1 - keras.ops.power(self.rho, t))
self.assign(b, self.momentum * b + learning_rate * g / (keras.ops.sqrt(v_hat) + self.epsilon))
self.assign_sub(variable, b)""",
        ),
        Mistake(
            "This counts steps from zero: self.iterations is the number of steps already taken, so this step "
            "is t = self.iterations + 1 (with t = 0 the first correction divides by zero).",
            """g = keras.ops.cast(gradient, variable.dtype)
t = keras.ops.cast(self.iterations, variable.dtype)
index = self._get_variable_index(variable)
v, b = self.v[index], self.b[index]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
v_hat = v / (1 - keras.ops.power(self.rho, t))
self.assign(b, self.momentum * b + g / (keras.ops.sqrt(v_hat) + self.epsilon))
self.assign_sub(variable, learning_rate * b)""",
        ),
        Mistake(
            "This puts epsilon inside the square root (Keras's form): PyTorch's form adds it after the root, "
            "which differs when epsilon is not tiny.",
            _GRAD + """v, b = self.v[index], self.b[index]
self.assign(v, self.rho * v + (1 - self.rho) * keras.ops.square(g))
v_hat = v / (1 - keras.ops.power(self.rho, t))
self.assign(b, self.momentum * b + g / keras.ops.sqrt(v_hat + self.epsilon))
self.assign_sub(variable, learning_rate * b)""",
        ),
    ),
    "3": (
        Mistake(
            "This counts from zero: Keras passes the updates already made, so the first update is step 0 and its "
            "rate is peak / warmup; use the update number t = step + 1.",
            """t = keras.ops.cast(step, "float32")
warmup = float(self.warmup)
return self.peak * keras.ops.minimum(t / warmup, keras.ops.sqrt(warmup / keras.ops.maximum(t, 1.0)))""",
        ),
        Mistake(
            "This decays as 1 / t after the warm-up, twice as fast on a log scale: the Transformer's schedule "
            "decays as 1 / sqrt(t), peak * sqrt(warmup / t).",
            """t = keras.ops.cast(step, "float32") + 1.0
return self.peak * keras.ops.minimum(t / self.warmup, self.warmup / t)""",
        ),
        Mistake(
            "This jumps from peak down to peak / sqrt(warmup) when the warm-up ends: scale the decay by "
            "sqrt(warmup), peak * sqrt(warmup / t), so that it starts where the warm-up stops.",
            """t = keras.ops.cast(step, "float32") + 1.0
return keras.ops.where(t <= self.warmup, self.peak * t / self.warmup, self.peak / keras.ops.sqrt(t))""",
        ),
        Mistake(
            "This uses Python's float, min and math.sqrt on the step, which fail when the optimizer calls the "
            "schedule inside a compiled step (the step is a symbolic tensor there): use keras.ops.",
            """import math
t = float(step) + 1
return self.peak * min(t / self.warmup, math.sqrt(self.warmup / t))""",
        ),
        Mistake(
            "This is Keras's cosine decay with a warm-up, another schedule: its warm-up starts at 0 at step 0 and "
            "it then decays along a cosine, not as 1 / sqrt(t).",
            """return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=10**6, warmup_target=self.peak,
                                              warmup_steps=self.warmup)(step)""",
            lazy=True,
        ),
    ),
    "4": (
        Mistake(
            "This is plain gradient descent's limit, 2 / lambda_max, which ignores momentum: each eigendirection "
            "follows x' = (1 + mu - eta lambda) x - mu x_prev, and it stays stable up to eta lambda = 2 (1 + mu).",
            _HESSIAN + "return float(2.0 / np.max(np.linalg.eigvalsh(hessian)))",
        ),
        Mistake(
            "This treats momentum as a larger effective rate eta / (1 - mu), which holds for slow directions "
            "only: at the edge of stability the velocity flips sign every step, and the limit is "
            "2 (1 + mu) / lambda_max.",
            _HESSIAN + "return float(2.0 * (1.0 - momentum) / np.max(np.linalg.eigvalsh(hessian)))",
        ),
        Mistake(
            "This uses the smallest eigenvalue, the slowest direction: the direction that diverges first is "
            "the steepest one, lambda_max.",
            _HESSIAN + "return float(2.0 * (1.0 + momentum) / np.min(np.linalg.eigvalsh(hessian)))",
        ),
        Mistake(
            "This uses the largest row sum of |H| (the infinity norm), which only bounds lambda_max from above: "
            "use the largest eigenvalue itself.",
            _HESSIAN + "return float(2.0 * (1.0 + momentum) / np.abs(hessian).sum(axis=1).max())",
        ),
        Mistake(
            "Off by a factor of two: (1 + mu) / lambda_max is where the iteration stops shrinking monotonically, "
            "not where it diverges, at 2 (1 + mu) / lambda_max.",
            _HESSIAN + "return float((1.0 + momentum) / np.max(np.linalg.eigvalsh(hessian)))",
        ),
    ),
    "5": (
        Mistake(
            "This is sigma^2 / B, the noise of batches drawn with replacement: drawn without replacement, a "
            "batch of all N samples is the full gradient, so multiply by the correction (N - B) / (N - 1).",
            _SPREAD + "return float(spread / batch_size)",
        ),
        Mistake(
            "This uses N instead of N - 1 in the finite-population correction: the noise is "
            "sigma^2 / B * (N - B) / (N - 1), with sigma^2 the spread around the mean over N.",
            _SPREAD + "return float(spread / batch_size * (n - batch_size) / n)",
        ),
        Mistake(
            "This is the noise of one sample, sigma^2: averaging B samples divides it by about B.",
            _SPREAD + "return float(spread)",
        ),
        Mistake(
            "This averages the variance over the p coordinates: the noise E ||g_B - g||^2 sums the squared "
            "errors over every coordinate.",
            """n = len(per_sample_gradients)
return float(np.var(per_sample_gradients, axis=0).mean() / batch_size * (n - batch_size) / (n - 1))""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "1": (
        # Keras's arrangement of the correction: eta sqrt(1 - beta_2^t) / (1 - beta_1^t), epsilon scaled to match
        """g = keras.ops.cast(gradient, variable.dtype)
t = keras.ops.cast(self.iterations + 1, variable.dtype)
m, s = self.m[self._get_variable_index(variable)], self.s[self._get_variable_index(variable)]
self.assign_add(m, (1 - self.beta_1) * (g - m))
self.assign_add(s, (1 - self.beta_2) * (keras.ops.square(g - m) - s))
c1, c2 = 1 - keras.ops.power(self.beta_1, t), 1 - keras.ops.power(self.beta_2, t)
self.assign_sub(variable, learning_rate * keras.ops.sqrt(c2) / c1 * m / (keras.ops.sqrt(s) + self.epsilon * keras.ops.sqrt(c2)))""",
    ),
    "2": (
        # TensorFlow ops instead of keras.ops, the correction folded into the root
        """index = self._get_variable_index(variable)
g = tf.cast(gradient, variable.dtype)
v, b = self.v[index], self.b[index]
v.assign(self.rho * v + (1 - self.rho) * g * g)
correction = 1 - tf.pow(tf.cast(self.rho, variable.dtype), tf.cast(self.iterations + 1, variable.dtype))
b.assign(self.momentum * b + g / (tf.sqrt(v / correction) + self.epsilon))
variable.assign_sub(tf.cast(learning_rate, variable.dtype) * b)""",
    ),
    "3": (
        # TensorFlow ops in float64 and tf.where instead of keras.ops.minimum
        """t = tf.cast(step, tf.float64) + 1.0
w = tf.constant(self.warmup, tf.float64)
return tf.cast(self.peak * tf.where(t <= w, t / w, tf.sqrt(w / t)), tf.float32)""",
    ),
    "4": (
        # returns a NumPy scalar (a float subclass), not a float: its repr is np.float64(...); a power iteration
        """with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        value = loss_fn(theta)
    grad = inner.gradient(value, theta)
H = outer.jacobian(grad, theta).numpy().astype(np.float64)
x = np.ones(len(H))
for _ in range(2000):
    x = H @ x / np.linalg.norm(H @ x)
return np.float64(2 + 2 * momentum) / (x @ H @ x)""",
    ),
    "5": (
        # the unbiased variance (N - 1 in its denominator) times 1 - B / N: the same number
        """n = len(per_sample_gradients)
unbiased = np.var(per_sample_gradients, axis=0, ddof=1).sum()
return unbiased / batch_size * (1 - batch_size / n)""",
    ),
}

# Names an exercise must not call: the toolkit's and Keras's optimizers that the check runs the answer against.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "1": ("optimizers.Adam", "opt.Adam", "optimizers.AdamW", "opt.AdamW", "optim.adam"),
    "2": ("optimizers.RMSprop", "opt.RMSprop", "optim.rmsprop", "optimizers.Adam", "opt.Adam"),
    "3": ("schedules.CosineDecay", "schedules.cosine_with_warmup", "schedules.OneCycle"),
}
