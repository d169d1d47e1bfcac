"""Online and mini-batch training speed on the seed's MLP (784 -> 128 -> 10), as a user gets it.

    python bench/online_throughput.py            # about 6 minutes on 2 CPU cores
    python bench/online_throughput.py --quick    # a smoke run with tiny sizes (targets not judged)

Default settings first: TensorFlow's own threads, nothing called beforehand, a fresh model per
call as a learner builds one, and every second of the call counted, tracing and compiling
included. Each call is measured twice:

* **first call**: the first call of its kind in a fresh process (a notebook's first run);
* **typical call**: the next call, again with a fresh model (every later experiment in the notebook).

Per-sample training four ways on a 10,000-sample stream: the seed's eager GradientTape loop
(corrected so it runs), ``model.fit(batch_size=1)`` at its best ``steps_per_execution`` and
``jit_compile``, a hand-written NumPy per-sample SGD, PyTorch eager (where ``torch`` is installed)
and ``tk.train_online`` (prequential metrics included). The roofline: per-sample SGD on this MLP
moves about 1.2 MB through the L2 cache per sample (read W1 for the forward pass, read and write it
in the update); the bound is one core's L2 bandwidth, measured here with NumPy, over 1.2 MB.
Mini-batches at 32 and 256: ``model.fit`` (its defaults and its best settings) against
``tk.train_minibatch``, at ``compare``'s sizes and at this benchmark's.

Best-case rows follow, labelled as such: one intra-op thread and warm (compiled) steps.
Every figure comes from this run; the ratios compare rates measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import toolkit as tk  # noqa: E402

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
LR = 0.01
BYTES_PER_SAMPLE = 3 * 784 * 128 * 4  # W1 read forward, read and written by the update
FIT_GRID = [(spe, jit) for spe in (1, 16, 64, 256) for jit in (False, True)]


def seed_mlp() -> keras.Model:
    """The seed's network with a linear output: Dense(128, relu) on 784 inputs, then Dense(10)."""
    return tk.models.mlp(input_shape=(784,), seed=0)


def wall_rate(samples: int, work) -> float:
    """Samples/s of ``work()``, every second of the call counted."""
    start = time.perf_counter()
    work()
    return samples / (time.perf_counter() - start)


def fit_call(x, y, batch_size: int, epochs: int = 1, steps_per_execution: int = 1, jit_compile="auto") -> float:
    """``compile`` + ``fit`` of a fresh model, as a user writes it; samples/s, tracing included."""
    def work():
        model = seed_mlp()
        model.compile(keras.optimizers.SGD(LR), LOSS, metrics=["accuracy"],
                      steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return wall_rate(len(x) * epochs, work)


def best_fit(x, y, batch_size: int, epochs: int = 1) -> tuple[float, str]:
    """The fastest ``fit`` call over ``FIT_GRID`` (each a fresh model, tracing included)."""
    rates = {f"steps_per_execution={spe}, jit_compile={jit}": fit_call(x, y, batch_size, epochs, spe, jit)
             for spe, jit in FIT_GRID}
    how = max(rates, key=rates.get)
    return rates[how], how


def online_call(x, y) -> float:
    """``tk.train_online`` on a fresh model with every default; samples/s, compiling included."""
    return wall_rate(len(x), lambda: tk.train_online(seed_mlp(), tk.Stream.from_arrays(x, y, shuffle=False),
                                                     optimizer=keras.optimizers.SGD(LR), verbose=0))


def minibatch_call(x, y, batch_size: int, epochs: int) -> float:
    """``tk.train_minibatch`` on a fresh model; samples/s, compiling included."""
    return wall_rate(len(x) * epochs, lambda: tk.train_minibatch(
        seed_mlp(), (x, y), optimizer=keras.optimizers.SGD(LR), epochs=epochs, batch_size=batch_size, shuffle=False,
        verbose=0))


def seed_eager_rate(x, y) -> float:
    """The seed's loop, corrected to run: one eager GradientTape step per sample, called from Python."""
    model, optimizer = seed_mlp(), keras.optimizers.SGD(LR)

    def step(xi, yi):
        with tf.GradientTape() as tape:
            loss = LOSS(yi, model(xi, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    return wall_rate(len(x), lambda: [step(x[i:i + 1], y[i:i + 1]) for i in range(len(x))])


def numpy_sgd_rate(x, y) -> float:
    """Hand-written NumPy per-sample SGD on the same network (in-place updates, no framework)."""
    w1, b1, w2, b2 = (w.copy() for w in seed_mlp().get_weights())
    lr = np.float32(LR)

    def learn() -> None:
        for i in range(len(x)):
            xi = x[i]
            h = xi @ w1
            h += b1
            np.maximum(h, 0, out=h)
            z = h @ w2
            z += b2
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            p[y[i]] -= 1.0  # d loss / d logits
            dh = w2 @ p
            dh *= h > 0
            np.subtract(w2, np.outer(h, lr * p), out=w2)
            np.subtract(b2, lr * p, out=b2)
            np.subtract(w1, np.outer(xi, lr * dh), out=w1)
            np.subtract(b1, lr * dh, out=b1)

    return wall_rate(len(x), learn)


def torch_eager_rate(x, y) -> float | None:
    """PyTorch eager per-sample SGD as most learners write it, or ``None`` without ``torch``."""
    try:
        import torch
    except ImportError:
        return None
    w1, b1, w2, b2 = seed_mlp().get_weights()
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    with torch.no_grad():
        for layer, (w, b) in zip((model[0], model[2]), ((w1, b1), (w2, b2))):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def learn() -> None:
        for i in range(len(xs)):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xs[i:i + 1]), ys[i:i + 1]).backward()
            optimizer.step()

    return wall_rate(len(x), learn)


def l2_bandwidth() -> float:
    """Bytes/s one core moves through its L2 cache: NumPy ``a += b`` on two 384 KiB arrays (read
    both, write one), the best of several runs (call overhead makes it an underestimate)."""
    a, b = np.ones(98_304, np.float32), np.ones(98_304, np.float32)
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(500):
            np.add(a, b, out=a)
        best = max(best, 3 * a.nbytes * 500 / (time.perf_counter() - start))
    return best


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` real digits (the offline subset, repeated), flattened and scaled."""
    mnist = tk.load_mnist("subset")
    reps = -(-n // len(mnist.x_train))
    x = np.tile(mnist.x_train.reshape(-1, 784), (reps, 1))[:n].astype(np.float32) / 255.0
    return x, np.tile(mnist.y_train, reps)[:n]


def measure_default(quick: bool) -> dict:
    """Default settings, fresh process: first and typical calls of every method."""
    stream, long_stream = (2000, 4000) if quick else (10_000, 100_000)
    x, y = data(long_stream)
    xs, ys = x[:stream], y[:stream]
    seed_mlp()(xs[:1])  # start TensorFlow's runtime, which every method below would otherwise pay first
    rates = {"online first": online_call(xs, ys), "online typical": online_call(xs, ys),
             f"online typical {long_stream}": online_call(x, y)}
    rates["seed eager"] = seed_eager_rate(xs[:100 if quick else 1000], ys[:100 if quick else 1000])
    rates["numpy"] = numpy_sgd_rate(xs, ys)
    rates["torch"] = torch_eager_rate(xs, ys)
    fit_n = 1000 if quick else stream
    rates["fit bs=1 best"], rates["fit bs=1 best how"] = best_fit(xs[:fit_n], ys[:fit_n], 1)
    sizes = {"compare": (4000, 5), "bench": (16_000, 3)} if not quick else {"compare": (1000, 2), "bench": (2000, 1)}
    rates["batches"] = {}
    for where, (n, epochs) in sizes.items():
        for batch_size in (32, 256):
            row = {"tape first": minibatch_call(x[:n], y[:n], batch_size, epochs),
                   "tape typical": minibatch_call(x[:n], y[:n], batch_size, epochs),
                   "fit default": fit_call(x[:n], y[:n], batch_size, epochs)}
            row["fit best"], row["fit best how"] = best_fit(x[:n], y[:n], batch_size, epochs)
            rates["batches"][f"batch {batch_size}, {where}'s sizes ({n} x {epochs} epochs)"] = row
    rates["l2 bytes/s"] = l2_bandwidth()
    return rates


def measure_first_long(quick: bool) -> dict:
    """The first call of the process on the long stream (the roofline's compile-included figure)."""
    x, y = data(4000 if quick else 100_000)
    seed_mlp()(x[:1])
    return {"online first long": online_call(x, y)}


def measure_best_case(quick: bool) -> dict:
    """Best case: one intra-op thread, warm steps (the second call of the same kind)."""
    x, y = data(4000 if quick else 100_000)
    online_call(x[:1000], y[:1000])
    rates = {"online": online_call(x, y)}
    for batch_size in (32, 256):
        n = 2000 if quick else 16_000
        minibatch_call(x[:n], y[:n], batch_size, 1)
        rates[f"minibatch bs={batch_size}"] = minibatch_call(x[:n], y[:n], batch_size, 3)
    return rates


WORKERS = {"default": measure_default, "first-long": measure_first_long, "best-case": measure_best_case}


def run_worker(name: str, quick: bool) -> dict:
    """Run one measurement in a fresh process (thread pools and first calls are per process)."""
    command = [sys.executable, __file__, "--worker", name] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"benchmark worker {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(name: str, ratio: float, target: float) -> bool:
    ok = ratio >= target
    print(f"  {'PASS' if ok else 'MISS'}  {name:<84} {ratio:7.2f}x  (target >= {target:g}x)")
    return ok


def report(runs: dict[str, dict], quick: bool) -> None:
    """Print the default-settings rows, the targets as ratios, then the best-case rows."""
    d, long_first, best = runs["default"], runs["first-long"]["online first long"], runs["best-case"]
    long_key = next(k for k in d if k.startswith("online typical "))
    long_n = long_key.rsplit(" ", 1)[1]
    bound = d["l2 bytes/s"] / BYTES_PER_SAMPLE
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__}; {'quick run' if quick else 'full run'}\n")
    print("DEFAULT SETTINGS (TensorFlow's threads, a fresh model per call, tracing and compiling included)")
    print(f"{'per-sample training, batch 1':<58}{'samples/s':>12}")
    rows = [("the seed's eager GradientTape loop (corrected to run)", d["seed eager"]),
            (f"best model.fit(batch_size=1) ({d['fit bs=1 best how']})", d["fit bs=1 best"]),
            ("hand-written NumPy per-sample SGD", d["numpy"]),
            ("PyTorch eager, per-sample SGD", d["torch"]),
            ("tk.train_online, first call in the process", d["online first"]),
            ("tk.train_online, typical call (a fresh model, step compiled)", d["online typical"]),
            (f"tk.train_online, {long_n} samples, first call in the process", long_first),
            (f"tk.train_online, {long_n} samples, typical call", d[long_key])]
    for name, rate in rows:
        shown = f"{rate:>12,.0f}" if rate is not None else "  not installed (pip install torch==2.13.0)"
        print(f"  {name:<56}{shown}")
    print(f"  L2 roofline: {d['l2 bytes/s'] / 1e9:.0f} GB/s (one core, NumPy) / {BYTES_PER_SAMPLE / 1e6:.2f} MB per "
          f"sample = {bound:,.0f} samples/s")
    columns = ("fit default", "fit best", "tape first", "tape typical")
    print(f"\n{'mini-batch training':<48}" + "".join(f"{c:>13}" for c in columns))
    for key, row in d["batches"].items():
        print(f"  {key:<46}" + "".join(f"{row[c]:>13,.0f}" for c in columns))
        print(f"  {'':<46}best fit: {row['fit best how']}")
    print("\nTargets at default settings, compile included (ratios of rates measured in this run):")
    results = []
    for when in ("first", "typical"):
        online = d[f"online {when}"]
        results += [check(f"online ({when} call) vs best model.fit(batch_size=1)", online / d["fit bs=1 best"], 5),
                    check(f"online ({when} call) vs the seed's eager loop", online / d["seed eager"], 100),
                    check(f"online ({when} call) vs NumPy per-sample SGD", online / d["numpy"], 2)]
    for when, rate in (("first", long_first), ("typical", d[long_key])):
        results.append(check(f"online, {long_n} samples, {when} call: fraction of the L2 roofline", rate / bound, 0.35))
    for key, row in d["batches"].items():
        for when in ("first", "typical"):
            tape = row[f"tape {when}"]
            results += [check(f"mini-batch ({when} call) vs best fit, {key}", tape / row["fit best"], 1.0),
                        check(f"mini-batch ({when} call) vs default fit, {key}", tape / row["fit default"], 1.5)]
    verdict = " (quick run: sizes too small to judge)" if quick else ""
    print(f"\n{sum(results)} of {len(results)} targets met{verdict}")
    print("\nBEST CASE (one intra-op thread, tk.set_cpu_threads(1); warm: the step already compiled)")
    print(f"  tk.train_online, {long_n} samples{best['online']:>30,.0f}  "
          f"({best['online'] / bound:.2f} of the roofline)")
    for batch_size in (32, 256):
        print(f"  tk.train_minibatch, batch {batch_size:<5}{best[f'minibatch bs={batch_size}']:>30,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that the benchmark runs")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tk.seed_everything(0, deterministic=False)  # TensorFlow's default (fastest) kernels
        if args.worker == "best-case":
            tk.set_cpu_threads(1)
        print(json.dumps(WORKERS[args.worker](args.quick)))
        return
    report({name: run_worker(name, args.quick) for name in WORKERS}, args.quick)


if __name__ == "__main__":
    main()
