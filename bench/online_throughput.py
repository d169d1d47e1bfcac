"""Online and mini-batch training speed on the seed's MLP (784 -> 128 -> 10), as a user gets it.

    python bench/online_throughput.py            # about 6 minutes on 2 CPU cores
    python bench/online_throughput.py --quick    # a smoke run with tiny sizes (targets not judged)

Default settings first: TensorFlow's own threads and a fresh model per call, as a learner builds one.
TensorFlow's runtime and XLA are started once before anything is measured (the cost is printed), so
no row pays the process's one-time start-up for the others. Each method gets two figures, side by side:

* **first call**: every second of the call, tracing and compiling its steps included (a fresh model
  compiles its own steps: ``tk.train_online`` and ``tk.train_minibatch`` run inside ``model.fit``, which
  compiles per model);
* **steady state**: the rate once compiled: the log windows (online) or epochs after the first, timed by
  a callback with epoch hooks only; for the Python loops (eager, NumPy, PyTorch), the samples after
  the first 10.

Per-sample training on a 10,000-sample stream: the seed's eager GradientTape loop (corrected so it
runs), ``model.fit(batch_size=1)`` at its best ``steps_per_execution`` and ``jit_compile`` (each column
the best of the grid), a hand-written NumPy per-sample SGD, PyTorch eager (where ``torch`` is
installed) and ``tk.train_online`` (prequential metrics included). The roofline: per-sample SGD on this
MLP moves about 1.2 MB through the L2 cache per sample (read W1 for the forward pass, read and write it
in the update); the bound is one core's L2 bandwidth, measured here with NumPy, over 1.2 MB. Mini-batches
at 32 and 256: ``model.fit`` (its defaults and its best settings) against ``tk.train_minibatch``, at
``compare``'s sizes (4,000 digits, 5 epochs, batch 32 as ``compare`` trains) and at this benchmark's.

Best-case rows follow, labelled as such: one intra-op thread.
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
from timing import EpochClock  # noqa: E402  (bench/timing.py)

import toolkit as tk  # noqa: E402

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
LR = 0.01
BYTES_PER_SAMPLE = 3 * 784 * 128 * 4  # W1 read forward, read and written by the update
FIT_GRID = [(spe, jit) for spe in (1, 16, 64, 256) for jit in (False, True)]
WARM = 10  # samples a Python loop runs before its steady state is timed


def seed_mlp() -> keras.Model:
    """The seed's network with a linear output: Dense(128, relu) on 784 inputs, then Dense(10)."""
    return tk.models.mlp(input_shape=(784,), seed=0)


def rates(samples: int, seconds: float, steady_samples: int, steady_seconds: float) -> dict:
    """A method's two figures: the whole call's samples/s, and the steady state's."""
    return {"first": samples / seconds, "steady": steady_samples / max(steady_seconds, 1e-12)}


def timed_call(work, samples_per_epoch: int, epochs: int) -> dict:
    """``work(callbacks)`` runs a ``fit``-based call of ``epochs`` epochs (or log windows) of
    ``samples_per_epoch``: first = the whole call, steady = the epochs after the first."""
    clock = EpochClock()
    start = time.perf_counter()
    work([clock])
    seconds = time.perf_counter() - start
    return rates(samples_per_epoch * epochs, seconds, samples_per_epoch * (epochs - 1), sum(clock.durations[1:]))


def fit_call(x, y, batch_size: int, epochs: int = 1, steps_per_execution: int = 1, jit_compile="auto") -> dict:
    """``compile`` + ``fit`` of a fresh model, as a user writes it."""
    def work(callbacks):
        model = seed_mlp()
        model.compile(keras.optimizers.SGD(LR), LOSS, metrics=["accuracy"],
                      steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    return timed_call(work, len(x), epochs)


def fit_per_sample_call(x, y, steps_per_execution: int, jit_compile: bool) -> dict:
    """``fit(batch_size=1)`` for two passes over ``x``: first = a one-pass call (the whole call less its
    second epoch), steady = the second epoch."""
    clock = EpochClock()
    start = time.perf_counter()
    model = seed_mlp()
    model.compile(keras.optimizers.SGD(LR), LOSS, metrics=["accuracy"], steps_per_execution=steps_per_execution,
                  jit_compile=jit_compile)
    model.fit(x, y, batch_size=1, epochs=2, shuffle=False, verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - start
    return rates(len(x), seconds - clock.durations[1], len(x), clock.durations[1])


def best_of(grid: dict[str, dict]) -> dict:
    """The best first-call and the best steady-state rate over a grid of settings, and which settings."""
    best = {}
    for kind in ("first", "steady"):
        how = max(grid, key=lambda h: grid[h][kind])
        best[kind], best[f"{kind} how"] = grid[how][kind], how
    return best


def setting(spe: int, jit: bool) -> str:
    return f"steps_per_execution={spe}, jit_compile={jit}"


def best_fit(x, y, batch_size: int, epochs: int) -> dict:
    """The fastest ``fit`` over ``FIT_GRID`` (each a fresh model), per column."""
    return best_of({setting(spe, jit): fit_call(x, y, batch_size, epochs, spe, jit) for spe, jit in FIT_GRID})


def best_fit_per_sample(x, y) -> dict:
    """The fastest ``fit(batch_size=1)`` over ``FIT_GRID``, per column."""
    return best_of({setting(spe, jit): fit_per_sample_call(x, y, spe, jit) for spe, jit in FIT_GRID})


def online_call(x, y) -> dict:
    """``tk.train_online`` on a fresh model with every default (windows of 500 samples)."""
    stream = tk.Stream.from_arrays(x, y, shuffle=False)
    clock = EpochClock()
    start = time.perf_counter()
    history = tk.train_online(seed_mlp(), stream, optimizer=keras.optimizers.SGD(LR), verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - start
    samples = history.history["samples"]
    return rates(len(x), seconds, samples[-1] - samples[0], sum(clock.durations[1:]))


def minibatch_call(x, y, batch_size: int, epochs: int) -> dict:
    """``tk.train_minibatch`` on a fresh model."""
    return timed_call(lambda callbacks: tk.train_minibatch(
        seed_mlp(), (x, y), optimizer=keras.optimizers.SGD(LR), epochs=epochs, batch_size=batch_size, shuffle=False,
        verbose=0, callbacks=callbacks), len(x), epochs)


def loop_rates(n: int, step) -> dict:
    """A Python loop of ``step(i)`` over ``n`` samples: first = all of it, steady = after ``WARM`` samples."""
    start = time.perf_counter()
    for i in range(WARM):
        step(i)
    warm = time.perf_counter()
    for i in range(WARM, n):
        step(i)
    end = time.perf_counter()
    return rates(n, end - start, n - WARM, end - warm)


def seed_eager_rates(x, y) -> dict:
    """The seed's loop, corrected to run: one eager GradientTape step per sample, called from Python."""
    model, optimizer = seed_mlp(), keras.optimizers.SGD(LR)

    def step(i):
        with tf.GradientTape() as tape:
            loss = LOSS(y[i:i + 1], model(x[i:i + 1], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    return loop_rates(len(x), step)


def numpy_sgd_rates(x, y) -> dict:
    """Hand-written NumPy per-sample SGD on the same network (in-place updates, no framework)."""
    w1, b1, w2, b2 = (w.copy() for w in seed_mlp().get_weights())
    lr = np.float32(LR)

    def step(i) -> None:
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

    return loop_rates(len(x), step)


def torch_eager_rates(x, y) -> dict | None:
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

    def step(i) -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(xs[i:i + 1]), ys[i:i + 1]).backward()
        optimizer.step()

    return loop_rates(len(x), step)


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


def start_runtime(x) -> float:
    """Start TensorFlow's runtime and XLA (a model call, one tiny compiled function); the seconds it took."""
    start = time.perf_counter()
    seed_mlp()(x[:1])
    tf.function(lambda a: a * 2.0, jit_compile=True)(tf.ones(2))
    return time.perf_counter() - start


def batch_sizes(quick: bool) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """Where mini-batches are measured: (samples, epochs, batch sizes). compare trains 4,000 digits for 5
    epochs at batch 32."""
    if quick:
        return {"compare": (1000, 2, (32, 256)), "bench": (2000, 2, (32, 256))}
    return {"compare": (4000, 5, (32, 256)), "bench": (16_000, 3, (32, 256))}


def measure_default(quick: bool) -> dict:
    """Default settings: first call and steady state of every method, side by side in one process."""
    stream, long_stream = (2000, 4000) if quick else (10_000, 100_000)
    x, y = data(long_stream)
    xs, ys = x[:stream], y[:stream]
    found = {"start s": start_runtime(xs), "stream": stream, "long stream": long_stream}
    found["online"] = online_call(xs, ys)
    found["online long"] = online_call(x, y)
    eager_n = 100 if quick else 1000
    found["seed eager"] = seed_eager_rates(xs[:eager_n], ys[:eager_n])
    found["numpy"] = numpy_sgd_rates(xs, ys)
    found["torch"] = torch_eager_rates(xs, ys)
    found["fit bs=1"] = best_fit_per_sample(xs[:1000] if quick else xs, ys[:1000] if quick else ys)
    found["batches"] = {}
    for where, (n, epochs, sizes) in batch_sizes(quick).items():
        for batch_size in sizes:
            found["batches"][f"batch {batch_size}, {where}'s sizes ({n} x {epochs} epochs)"] = {
                "tape": minibatch_call(x[:n], y[:n], batch_size, epochs),
                "fit default": fit_call(x[:n], y[:n], batch_size, epochs),
                "fit best": best_fit(x[:n], y[:n], batch_size, epochs)}
    found["l2 bytes/s"] = l2_bandwidth()
    return found


def measure_best_case(quick: bool) -> dict:
    """Best case: one intra-op thread; first call and steady state."""
    x, y = data(4000 if quick else 100_000)
    start_runtime(x)
    found = {"online": online_call(x, y)}
    n, epochs, _ = batch_sizes(quick)["bench"]
    for batch_size in (32, 256):
        found[f"minibatch bs={batch_size}"] = minibatch_call(x[:n], y[:n], batch_size, epochs)
    return found


WORKERS = {"default": measure_default, "best-case": measure_best_case}


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


WHEN = {"first": "first call", "steady": "steady state"}


def pair(figures: dict | None) -> str:
    """A method's first-call and steady-state rates, or a note that it is not installed."""
    if figures is None:
        return "   not installed (pip install torch==2.13.0)"
    return "".join(f"{figures[kind]:>14,.0f}" for kind in WHEN)


def report(runs: dict[str, dict], quick: bool) -> None:
    """Print the default-settings rows, the targets as ratios, then the best-case rows."""
    d, best = runs["default"], runs["best-case"]
    bound = d["l2 bytes/s"] / BYTES_PER_SAMPLE
    fit1 = d["fit bs=1"]
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__}; {'quick run' if quick else 'full run'}\n")
    print(f"DEFAULT SETTINGS (TensorFlow's threads, a fresh model per call; first call: tracing and compiling "
          f"included; started TensorFlow's runtime and XLA once beforehand: {d['start s']:.2f} s)")
    print(f"{'per-sample training, batch 1 (samples/s)':<58}{'first call':>14}{'steady state':>14}")
    rows = [("the seed's eager GradientTape loop (corrected to run)", d["seed eager"]),
            ("best model.fit(batch_size=1), settings below", fit1),
            ("hand-written NumPy per-sample SGD", d["numpy"]),
            ("PyTorch eager, per-sample SGD", d["torch"]),
            (f"tk.train_online, {d['stream']} samples", d["online"]),
            (f"tk.train_online, {d['long stream']} samples", d["online long"])]
    for name, figures in rows:
        print(f"  {name:<56}{pair(figures)}")
    print(f"  best fit(batch_size=1), first call: {fit1['first how']}; steady state: {fit1['steady how']}")
    print(f"  L2 roofline: {d['l2 bytes/s'] / 1e9:.0f} GB/s (one core, NumPy) / {BYTES_PER_SAMPLE / 1e6:.2f} MB per "
          f"sample = {bound:,.0f} samples/s")
    columns = [(method, kind) for method in ("fit default", "fit best", "tape") for kind in WHEN]
    print(f"\n{'mini-batch training (samples/s)':<48}{'fit, defaults':>26}{'fit, best settings':>26}"
          f"{'tk.train_minibatch':>26}")
    print(f"{'':<48}" + "".join(f"{WHEN[kind]:>13}" for _, kind in columns))
    for key, row in d["batches"].items():
        print(f"  {key:<46}" + "".join(f"{row[method][kind]:>13,.0f}" for method, kind in columns))
        fit_best = row["fit best"]
        print(f"  {'':<46}best fit, first call: {fit_best['first how']}; steady state: {fit_best['steady how']}")
    print("\nTargets at default settings (ratios of rates measured in this run; first call against first call,"
          " steady state against steady state):")
    results = []
    for kind, when in WHEN.items():
        online = d["online"][kind]
        results += [check(f"online ({when}) vs best model.fit(batch_size=1)", online / fit1[kind], 5),
                    check(f"online ({when}) vs the seed's eager loop", online / d["seed eager"][kind], 100),
                    check(f"online ({when}) vs NumPy per-sample SGD", online / d["numpy"][kind], 2)]
    for kind, when in WHEN.items():
        results.append(check(f"online, {d['long stream']} samples, {when}: fraction of the L2 roofline",
                             d["online long"][kind] / bound, 0.35))
    for key, row in d["batches"].items():
        for kind, when in WHEN.items():
            tape = row["tape"][kind]
            results += [check(f"mini-batch ({when}) vs best fit, {key}", tape / row["fit best"][kind], 1.0),
                        check(f"mini-batch ({when}) vs default fit, {key}", tape / row["fit default"][kind], 1.5)]
    verdict = " (quick run: sizes too small to judge)" if quick else ""
    print(f"\n{sum(results)} of {len(results)} targets met{verdict}")
    print("\nBEST CASE (one intra-op thread, tk.set_cpu_threads(1))")
    print(f"{'':<48}{'first call':>14}{'steady state':>14}")
    print(f"  {'tk.train_online, ' + str(d['long stream']) + ' samples':<46}{pair(best['online'])}  "
          f"(steady state: {best['online']['steady'] / bound:.2f} of the roofline)")
    n, epochs, _ = batch_sizes(quick)["bench"]
    for batch_size in (32, 256):
        name = f"tk.train_minibatch, batch {batch_size} ({n} x {epochs} epochs)"
        print(f"  {name:<46}{pair(best[f'minibatch bs={batch_size}'])}")


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
