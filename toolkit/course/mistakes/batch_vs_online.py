"""Chapter 1's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            'This is what training before predicting gives: score each sample before the learner sees its label.',
            """correct = 0
for x, y in zip(xs, ys):
    learner.learn_one(x, y)
    correct += learner.predict_one(x) == y
return correct / len(xs)""",
        ),
        Mistake(
            'This skips the predictions made before anything was learned: a None is a wrong answer, so count it.',
            """correct = total = 0
for x, y in zip(xs, ys):
    guess = learner.predict_one(x)
    if guess is not None:
        correct += guess == y
        total += 1
    learner.learn_one(x, y)
return correct / total""",
        ),
        Mistake(
            'This makes a fresh learner inside the function: score and train the learner you are given.',
            """learner = NearestCentroid()
correct = 0
for x, y in zip(xs, ys):
    correct += learner.predict_one(x) == y
    learner.learn_one(x, y)
return correct / len(xs)""",
        ),
        Mistake(
            'This counts the prediction None as class 0: None means no prediction yet, which is never right.',
            """correct = 0
for x, y in zip(xs, ys):
    guess = learner.predict_one(x)
    correct += (0 if guess is None else guess) == y
    learner.learn_one(x, y)
return correct / len(xs)""",
        ),
    ),
    "2": (
        Mistake(
            'This forgets the labels still in flight when the stream ends: yield their learn events, in order.',
            """for t in range(n):
    yield ("predict", t)
    if t - delay >= 0:
        yield ("learn", t - delay)""",
        ),
        Mistake(
            'This learns before it predicts: at each time, yield the prediction first, then the label that arrived.',
            """for t in range(n):
    if t - delay >= 0:
        yield ("learn", t - delay)
    yield ("predict", t)
for s in range(max(n - delay, 0), n):
    yield ("learn", s)""",
        ),
    ),
    "3": (
        Mistake(
            (
                'This ignores the delay and learns each sample from a label that has not arrived yet: at '
                'time t, learn sample t - delay.'
            ),
            """loss_fn, predictions, losses = tk.default_loss(), [], []

def learn(s):
    with tf.GradientTape() as tape:
        value = loss_fn(ys[s:s + 1], model(xs[s:s + 1], training=True))
    grads = tape.gradient(value, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

for t in range(len(xs)):
    logits = model(xs[t:t + 1], training=False)
    predictions.append(int(np.argmax(logits)))
    losses.append(float(loss_fn(ys[t:t + 1], logits)))
    learn(t)
return np.array(predictions), np.array(losses)""",
        ),
        Mistake(
            (
                'This learns the arrived label before predicting: at each time, predict and score the new'
                ' sample first, then update.'
            ),
            """loss_fn, predictions, losses = tk.default_loss(), [], []

def learn(s):
    with tf.GradientTape() as tape:
        value = loss_fn(ys[s:s + 1], model(xs[s:s + 1], training=True))
    grads = tape.gradient(value, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

for t in range(len(xs)):
    if t >= delay:
        learn(t - delay)
    logits = model(xs[t:t + 1], training=False)
    predictions.append(int(np.argmax(logits)))
    losses.append(float(loss_fn(ys[t:t + 1], logits)))
for s in range(max(len(xs) - delay, 0), len(xs)):
    learn(s)
return np.array(predictions), np.array(losses)""",
        ),
        Mistake(
            (
                'This forgets the labels still in flight when the stream ends: the last delay samples '
                'must be learned too, in order.'
            ),
            """loss_fn, predictions, losses = tk.default_loss(), [], []

def learn(s):
    with tf.GradientTape() as tape:
        value = loss_fn(ys[s:s + 1], model(xs[s:s + 1], training=True))
    grads = tape.gradient(value, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

for t in range(len(xs)):
    logits = model(xs[t:t + 1], training=False)
    predictions.append(int(np.argmax(logits)))
    losses.append(float(loss_fn(ys[t:t + 1], logits)))
    if t >= delay:
        learn(t - delay)
return np.array(predictions), np.array(losses)""",
        ),
        Mistake(
            (
                'This notes each loss after that moment\'s update: the prequential loss, like the '
                'prediction, comes from the weights before it.'
            ),
            """loss_fn, predictions, losses = tk.default_loss(), [], []

def learn(s):
    with tf.GradientTape() as tape:
        value = loss_fn(ys[s:s + 1], model(xs[s:s + 1], training=True))
    grads = tape.gradient(value, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

for t in range(len(xs)):
    predictions.append(int(np.argmax(model(xs[t:t + 1], training=False))))
    if t >= delay:
        learn(t - delay)
    losses.append(float(loss_fn(ys[t:t + 1], model(xs[t:t + 1], training=False))))
for s in range(max(len(xs) - delay, 0), len(xs)):
    learn(s)
return np.array(predictions), np.array(losses)""",
        ),
        Mistake(
            'This computes the gradients and never applies them: pass them to optimizer.apply_gradients.',
            """loss_fn, predictions, losses = tk.default_loss(), [], []
for t in range(len(xs)):
    logits = model(xs[t:t + 1], training=False)
    predictions.append(int(np.argmax(logits)))
    losses.append(float(loss_fn(ys[t:t + 1], logits)))
    if t >= delay:
        with tf.GradientTape() as tape:
            value = loss_fn(ys[t - delay:t - delay + 1], model(xs[t - delay:t - delay + 1], training=True))
        tape.gradient(value, model.trainable_variables)
return np.array(predictions), np.array(losses)""",
        ),
        Mistake(
            (
                'This hands the step to Keras (compile and train_on_batch): write the update yourself '
                'with a GradientTape and the optimizer.'
            ),
            """model.compile(optimizer=optimizer, loss=tk.default_loss())
loss_fn, predictions, losses = tk.default_loss(), [], []
for t in range(len(xs)):
    logits = model(xs[t:t + 1], training=False)
    predictions.append(int(np.argmax(logits)))
    losses.append(float(loss_fn(ys[t:t + 1], logits)))
    if t >= delay:
        model.train_on_batch(xs[t - delay:t - delay + 1], ys[t - delay:t - delay + 1])
for s in range(max(len(xs) - delay, 0), len(xs)):
    model.train_on_batch(xs[s:s + 1], ys[s:s + 1])
return np.array(predictions), np.array(losses)""",
            lazy=True,
        ),
    ),
    "4": (
        Mistake(
            (
                'This records the whole batch in one tape, which saves no memory: call the model on one '
                'micro-batch per tape.'
            ),
            """with tf.GradientTape() as tape:
    value = tk.default_loss()(y, model(x, training=True))
return tape.gradient(value, model.trainable_variables)""",
        ),
        Mistake(
            'This sums the micro-batch gradients without averaging them: divide by the number of micro-batches.',
            """total = [tf.zeros_like(v) for v in model.trainable_variables]
for start in range(0, len(x), micro_batch):
    with tf.GradientTape() as tape:
        value = tk.default_loss()(y[start:start + micro_batch], model(x[start:start + micro_batch], training=True))
    total = [t + g for t, g in zip(total, tape.gradient(value, model.trainable_variables))]
return total""",
        ),
        Mistake(
            'This records every micro-batch in one tape, which saves no memory: open a new tape for each micro-batch.',
            """with tf.GradientTape() as tape:
    parts = [tk.default_loss()(y[s:s + micro_batch], model(x[s:s + micro_batch], training=True))
             for s in range(0, len(x), micro_batch)]
    value = tf.add_n(parts) / len(parts)
return tape.gradient(value, model.trainable_variables)""",
        ),
        Mistake(
            (
                'This is the gradient of the log-likelihood, which points uphill: take the gradient of the loss '
                '(minus the log-likelihood), so that the optimizer can subtract it.'
            ),
            """total = [tf.zeros_like(v) for v in model.trainable_variables]
pieces = range(0, len(x), micro_batch)
for start in pieces:
    with tf.GradientTape() as tape:
        logp = tf.nn.log_softmax(model(x[start:start + micro_batch], training=True))
        labels = tf.cast(y[start:start + micro_batch], tf.int32)
        likelihood = tf.reduce_mean(tf.gather(logp, labels, axis=1, batch_dims=1))
    total = [t + g / len(pieces) for t, g in zip(total, tape.gradient(likelihood, model.trainable_variables))]
return total""",
        ),
    ),
    "5": (
        Mistake(
            'This compares with the previous window only: compare with the mean of all the earlier windows.',
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < window_accuracies[index - 1] - drop:
        return index
return None""",
        ),
        Mistake(
            (
                'This puts the window itself into the mean and flags a drop of exactly drop: average only'
                ' the earlier windows, and flag only more than drop.'
            ),
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] <= np.mean(window_accuracies[:index + 1]) - drop:
        return index
return None""",
        ),
        Mistake(
            'This compares with the median of the earlier windows: use their mean.',
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.median(window_accuracies[:index]) - drop:
        return index
return None""",
        ),
        Mistake(
            'This compares with the best earlier window: use the mean of all of them.',
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.max(window_accuracies[:index]) - drop:
        return index
return None""",
        ),
        Mistake(
            'This averages only the last three windows: the baseline is the mean of all the earlier ones.',
            """for index in range(1, len(window_accuracies)):
    if window_accuracies[index] < np.mean(window_accuracies[max(0, index - 3):index]) - drop:
        return index
return None""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "1": (
        """hits = []
for x, y in zip(xs, ys):
    hits.append(learner.predict_one(x) == y)
    learner.learn_one(x, y)
return float(np.mean(hits))""",
    ),
    "2": (
        # yields NumPy integers
        """for t in np.arange(n):
    yield ("predict", t)
    if t >= delay:
        yield ("learn", t - delay)
yield from (("learn", s) for s in np.arange(max(n - delay, 0), n))""",
    ),
    "3": (
        # a queue of the labels in flight, optimizer.apply, the loss from the training-mode logits
        """import collections
waiting = collections.deque()
predictions, losses = np.zeros(len(xs), dtype=int), np.zeros(len(xs))
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def update(s):
    with tf.GradientTape() as tape:
        value = loss_fn(ys[s:s + 1], model(xs[s:s + 1], training=True))
    optimizer.apply(tape.gradient(value, model.trainable_variables), model.trainable_variables)


for t in range(len(xs)):
    logits = model(xs[t:t + 1], training=True)
    predictions[t] = int(keras.ops.convert_to_numpy(keras.ops.argmax(logits, axis=-1))[0])
    losses[t] = keras.ops.convert_to_numpy(loss_fn(ys[t:t + 1], logits)).item()
    waiting.append(t)
    if len(waiting) > delay:
        update(waiting.popleft())
while waiting:
    update(waiting.popleft())
return predictions, losses""",
    ),
    "4": (
        """sums = None
for start in range(0, len(x), micro_batch):
    xb, yb = x[start:start + micro_batch], y[start:start + micro_batch]
    with tf.GradientTape() as tape:
        value = tk.default_loss()(yb, model(xb, training=True)) * len(xb)
    grads = tape.gradient(value, model.trainable_variables)
    sums = grads if sums is None else [a + b for a, b in zip(sums, grads)]
return [g / len(x) for g in sums]""",
    ),
    "5": (
        # mean - acc > drop: a float tie at [0.8, 0.5, ...] failed it before
        """for index in range(1, len(window_accuracies)):
    if sum(window_accuracies[:index]) / index - window_accuracies[index] > drop:
        return index
return None""",
    ),
}
