"""Chapter 4's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            'Every worker shuffles with a seed of its own, so the workers disagree on the batches.',
            """order = np.random.default_rng(seed + worker_index).permutation(len(x))
share = global_batch // num_workers
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index * share:start + (worker_index + 1) * share]
    batches.append((x[mine], y[mine]))
return batches""",
        ),
        Mistake(
            'Takes every num_workers-th sample of the batch instead of a contiguous slice.',
            """order = np.random.default_rng(seed).permutation(len(x))
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index:start + global_batch:num_workers]
    batches.append((x[mine], y[mine]))
return batches""",
        ),
        Mistake(
            'Drops the last global batch even when it is full.',
            """order = np.random.default_rng(seed).permutation(len(x))
share = global_batch // num_workers
batches = []
for start in range(0, len(x) - global_batch, global_batch):
    mine = order[start + worker_index * share:start + (worker_index + 1) * share]
    batches.append((x[mine], y[mine]))
return batches""",
        ),
    ),
    "2": (
        Mistake(
            'Every replica sends its whole vector to every other one: right sums, (R - 1) N numbers each.',
            """total = np.sum([np.asarray(v, dtype=np.float64) for v in vectors], axis=0)
return [total.copy() for _ in vectors], [len(vectors[0]) * (len(vectors) - 1)] * len(vectors)""",
        ),
        Mistake(
            'Stops after the reduce-scatter: each replica holds only one summed chunk.',
            """replicas = len(vectors)
chunks = [np.array_split(np.asarray(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
for step in range(replicas - 1):
    messages = [(i, (i - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] += payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            "Equal chunks of len // replicas: the tail of an uneven vector is lost; and it works on the caller's vectors.",
            """replicas = len(vectors)
size = len(vectors[0]) // replicas
chunks = [[v[k * size:(k + 1) * size] for k in range(replicas)] for v in vectors]
sent = [0] * replicas
for step in range(replicas - 1):
    messages = [(i, (i - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] += payload
        sent[i] += len(payload)
for step in range(replicas - 1):
    messages = [(i, (i + 1 - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        chunks[(i + 1) % replicas][c] = payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
    ),
    "3": (
        Mistake(
            "Averages over the replica's own slice: the summed gradients come out R times too large.",
            """with tf.GradientTape() as tape:
    loss = tf.reduce_mean(per_example(y, ex_model(x, training=True)))
ex_optimizer.apply_gradients(zip(tape.gradient(loss, ex_model.trainable_variables), ex_model.trainable_variables))
return loss""",
        ),
        Mistake(
            'The positional trap of section 3: global_batch is read as sample_weight.',
            """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, ex_model(x, training=True)), global_batch)
ex_optimizer.apply_gradients(zip(tape.gradient(loss, ex_model.trainable_variables), ex_model.trainable_variables))
return loss""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
}
