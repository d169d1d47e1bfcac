"""Chapter 4's known wrong answers, each with the mistake it shows, and right answers written differently
from the solution (``toolkit.course.mistakes``)."""

from toolkit.course.mistakes import Mistake

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1": (
        Mistake(
            (
                'This shuffles the labels but leaves the inputs in order, so every input is paired with another '
                'sample\'s label: index x and y with the same permutation.'
            ),
            """order = np.random.default_rng(seed).permutation(len(x))
y = y[order]
share, batches = global_batch // num_workers, []
for step in range(len(x) // global_batch):
    low = step * global_batch + worker_index * share
    batches.append((x[low:low + share], y[low:low + share]))
return batches""",
        ),
        Mistake(
            (
                'This shuffles with a seed per worker, so the workers disagree on the batches: all '
                'shuffle with the same seed.'
            ),
            """order = np.random.default_rng(seed + worker_index).permutation(len(x))
share = global_batch // num_workers
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index * share:start + (worker_index + 1) * share]
    batches.append((x[mine], y[mine]))
return batches""",
        ),
        Mistake(
            'This takes every num_workers-th sample of the batch: give each worker one contiguous slice.',
            """order = np.random.default_rng(seed).permutation(len(x))
batches = []
for start in range(0, len(x) - global_batch + 1, global_batch):
    mine = order[start + worker_index:start + global_batch:num_workers]
    batches.append((x[mine], y[mine]))
return batches""",
        ),
        Mistake(
            'This drops the last global batch even when it is full: drop only a batch that is short.',
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
            (
                'This sums the vectors in one go instead of passing chunks around the ring, so every '
                'state part-way through is wrong: simulate the steps, one message per replica each.'
            ),
            """replicas, length = len(vectors), len(vectors[0])
total = np.sum([np.asarray(v, dtype=np.float64) for v in vectors], axis=0)
return [total.copy() for _ in vectors], [2 * (replicas - 1) * length // replicas] * replicas""",
        ),
        Mistake(
            (
                "This stops after the reduce-scatter, where each replica holds only one summed chunk: the"
                " all-gather's R - 1 steps must pass the sums around too."
            ),
            """replicas = len(vectors)
chunks = [np.array_split(np.array(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in [s for s in schedule if s[0] == "add"][:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        chunks[receiver][c] = chunks[receiver][c] + payload if kind == "add" else payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            (
                "This cuts equal chunks of len // R, which loses the tail of an uneven vector, and "
                "changes the caller's vectors: split a copy with np.array_split."
            ),
            """replicas = len(vectors)
size = len(vectors[0]) // replicas
chunks = [[v[k * size:(k + 1) * size] for k in range(replicas)] for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in schedule[:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        if kind == "add":
            chunks[receiver][c] += payload
        else:
            chunks[receiver][c] = payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            (
                "This adds into the caller's own vectors: np.array_split gives views, so work on a copy "
                "(np.array(v)) and leave the inputs alone."
            ),
            """replicas = len(vectors)
chunks = [np.array_split(np.asarray(v), replicas) for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in schedule[:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        if kind == "add":
            chunks[receiver][c] += payload
        else:
            chunks[receiver][c] = payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            'This adds in the all-gather too: there the receiver replaces its copy with the complete sum it is sent.',
            """replicas = len(vectors)
chunks = [np.array_split(np.array(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in schedule[:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        chunks[receiver][c] = chunks[receiver][c] + payload if kind == "add" else chunks[receiver][c] + payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            (
                'This sends chunk (i + s) instead of (i - s): each replica must pass on the chunk it has '
                'just received, so the sums travel around the ring.'
            ),
            """replicas = len(vectors)
chunks = [np.array_split(np.array(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in schedule[:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift + step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        chunks[receiver][c] = chunks[receiver][c] + payload if kind == "add" else payload
        sent[i] += len(payload)
return [np.concatenate(c) for c in chunks], sent""",
        ),
        Mistake(
            'This counts messages, not numbers: add the length of each chunk sent.',
            """replicas = len(vectors)
chunks = [np.array_split(np.array(v, dtype=np.float64), replicas) for v in vectors]
sent = [0] * replicas
schedule = [("add", step) for step in range(replicas - 1)] + [("replace", step) for step in range(replicas - 1)]
for kind, step in schedule[:steps]:
    shift = 0 if kind == "add" else 1
    messages = [(i, (i + shift - step) % replicas) for i in range(replicas)]
    payloads = [chunks[i][c].copy() for i, c in messages]
    for (i, c), payload in zip(messages, payloads):
        receiver = (i + 1) % replicas
        chunks[receiver][c] = chunks[receiver][c] + payload if kind == "add" else payload
        sent[i] += 1
return [np.concatenate(c) for c in chunks], sent""",
        ),
    ),
    "3": (
        Mistake(
            (
                "This averages over the replica's own slice, so the summed gradients come out R times too"
                " large: divide by the global batch (compute_average_loss with global_batch_size=)."
            ),
            """with tf.GradientTape() as tape:
    loss = tf.reduce_mean(per_example(y, model(x, training=True)))
grads = tape.gradient(loss, model.trainable_variables)
total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
scale = tf.minimum(1.0, max_norm / tf.linalg.global_norm(total))
optimizer.apply_gradients(zip([g * scale for g in grads], model.trainable_variables))
return loss""",
        ),
        Mistake(
            (
                'This passes global_batch by position, which compute_average_loss reads as sample_weight:'
                ' pass global_batch_size= by keyword.'
            ),
            """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch)
grads = tape.gradient(loss, model.trainable_variables)
total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
scale = tf.minimum(1.0, max_norm / tf.linalg.global_norm(total))
optimizer.apply_gradients(zip([g * scale for g in grads], model.trainable_variables))
return loss""",
        ),
        Mistake(
            (
                "This clips each replica's share on its own, as Keras's global_clipnorm does: clip by the"
                " norm of the whole batch's summed gradient."
            ),
            """optimizer.global_clipnorm = max_norm
with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch_size=global_batch)
optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
return loss""",
            lazy=True,
        ),
        Mistake(
            (
                "This adds up the replicas' squared norms, which is not the squared norm of their sum: "
                "all-reduce the gradients themselves, then take the norm."
            ),
            """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch_size=global_batch)
grads = tape.gradient(loss, model.trainable_variables)
squares = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.linalg.global_norm(grads) ** 2)
scale = tf.minimum(1.0, max_norm / tf.sqrt(squares))
optimizer.apply_gradients(zip([g * scale for g in grads], model.trainable_variables))
return loss""",
        ),
        Mistake(
            (
                "This applies the all-reduced gradient, which apply_gradients sums once more across the "
                "replicas: apply each replica's own share, scaled."
            ),
            """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch_size=global_batch)
grads = tape.gradient(loss, model.trainable_variables)
total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
scale = tf.minimum(1.0, max_norm / tf.linalg.global_norm(total))
optimizer.apply_gradients(zip([g * scale for g in total], model.trainable_variables))
return loss""",
        ),
        Mistake(
            'This never clips: scale the gradient down whenever its global norm is above max_norm.',
            """with tf.GradientTape() as tape:
    loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch_size=global_batch)
grads = tape.gradient(loss, model.trainable_variables)
total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
scale = 1.0
optimizer.apply_gradients(zip([g * scale for g in grads], model.trainable_variables))
return loss""",
        ),
    ),
}

RIGHT: dict[str, tuple] = {
    "2": (
        # one array per replica, explicit chunk bounds, phases as two loops
        """replicas, length = len(vectors), len(vectors[0])
state = np.array([np.asarray(v, dtype=np.float64) for v in vectors])  # a copy
bounds = [k * (length // replicas) + min(k, length % replicas) for k in range(replicas + 1)]
sent = np.zeros(replicas, dtype=int)
budget = 2 * (replicas - 1) if steps is None else steps
for phase in ("reduce", "gather"):
    for s in range(replicas - 1):
        if budget == 0:
            return list(state), sent.tolist()
        budget -= 1
        old = state.copy()
        for i in range(replicas):
            k = (i - s) % replicas if phase == "reduce" else (i + 1 - s) % replicas
            lo, hi = bounds[k], bounds[k + 1]
            j = (i + 1) % replicas
            state[j, lo:hi] = old[j, lo:hi] + old[i, lo:hi] if phase == "reduce" else old[i, lo:hi]
            sent[i] += hi - lo
return list(state), sent.tolist()""",
    ),
    "3": (
        # clip the all-reduced gradient with tf.clip_by_global_norm, then apply 1/R of it on every replica
        """context = tf.distribute.get_replica_context()
with tf.GradientTape() as tape:
    losses = per_example(y, model(x, training=True))
    loss = tf.reduce_sum(losses) / global_batch
grads = tape.gradient(loss, model.trainable_variables)
clipped, _ = tf.clip_by_global_norm(context.all_reduce("sum", grads), max_norm)
optimizer.apply_gradients(zip([g / context.num_replicas_in_sync for g in clipped], model.trainable_variables))
return loss""",
    ),
}

# The toolkit's own loops clip the all-reduced gradient (toolkit.training.steps.clip_globally): exercise 3 asks
# the learner to write that step.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "3": ("steps.clip_globally", "training.clip_globally"),
}
