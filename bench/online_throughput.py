"""Online and mini-batch training throughput on the seed's MLP (784 -> 128 -> 10), side by side.

    python bench/online_throughput.py            # about 4 minutes on 2 CPU cores
    python bench/online_throughput.py --quick    # a smoke run with tiny sizes (targets not judged)

Per-sample training, four ways: the seed's eager GradientTape loop (corrected so it runs),
``model.fit(batch_size=1)`` at its best ``steps_per_execution``/``jit_compile``, a hand-written
NumPy per-sample SGD (the practical floor on a CPU) and ``tk.train_online`` (prequential
metrics included). Then at batch 32 and 256: ``model.fit`` (default settings and its best
settings) against ``tk.train_minibatch``. Every figure is steady state (compilation excluded).

TensorFlow's CPU thread pool is fixed per process and matters for tiny ops, so the whole
suite runs twice, in two subprocesses: with TensorFlow's default threads and with one
intra-op thread (``tk.set_cpu_threads(1)``). Each method is then judged at its best setting,
except "default model.fit", which keeps every default, threads included.
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


def seed_mlp() -> keras.Model:
    """The seed's network with a linear output: Dense(128, relu) on 784 inputs, then Dense(10)."""
    return tk.models.mlp(input_shape=(784,), seed=0)


def fit_rate(x, y, batch_size: int, steps_per_execution: int = 1, jit_compile="auto", epochs: int = 3) -> float:
    """Samples/s of ``model.fit`` over the epochs after the first (which includes tracing/compiling)."""
    model = seed_mlp()
    model.compile(keras.optimizers.SGD(LR), LOSS, metrics=["accuracy"],
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    clock = EpochClock()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=[clock])
    return len(x) / float(np.median(clock.durations[1:]))


def best_fit_rate(x, y, batch_size: int, spe_grid: tuple[int, ...]) -> tuple[float, str]:
    """The fastest ``fit`` over a grid of ``steps_per_execution`` x ``jit_compile``."""
    rates = {(spe, jit): fit_rate(x, y, batch_size, spe, jit) for spe in spe_grid for jit in (False, True)}
    (spe, jit), rate = max(rates.items(), key=lambda item: item[1])
    return rate, f"steps_per_execution={spe}, jit_compile={jit}"


def seed_eager_rate(x, y) -> float:
    """The seed's loop, corrected to run: one eager GradientTape step per sample, called from Python."""
    model, optimizer = seed_mlp(), keras.optimizers.SGD(LR)

    def step(xi, yi):
        with tf.GradientTape() as tape:
            loss = LOSS(yi, model(xi, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    step(x[:1], y[:1])
    start = time.perf_counter()
    for i in range(len(x)):
        step(x[i:i + 1], y[i:i + 1])
    return len(x) / (time.perf_counter() - start)


def numpy_sgd_rate(x, y) -> float:
    """Hand-written NumPy per-sample SGD on the same network (in-place updates, no framework)."""
    w1, b1, w2, b2 = (w.copy() for w in seed_mlp().get_weights())
    lr = np.float32(LR)

    def learn(n: int) -> None:
        for i in range(n):
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

    learn(100)
    start = time.perf_counter()
    learn(len(x))
    return len(x) / (time.perf_counter() - start)


def steady_rate(history: tk.RunHistory) -> float:
    """Samples/s between the first and last history rows (the first row includes compiling)."""
    samples, seconds = history.history["samples"], history.history["time"]
    return (samples[-1] - samples[0]) / (seconds[-1] - seconds[0])


def online_rate(x, y) -> float:
    """``tk.train_online`` per sample, prequential loss and accuracy included."""
    history = tk.train_online(seed_mlp(), tk.Stream.from_arrays(x, y, shuffle=False),
                              optimizer=keras.optimizers.SGD(LR), log_every=2000, verbose=0)
    return steady_rate(history)


def minibatch_rate(x, y, batch_size: int) -> float:
    """``tk.train_minibatch`` over the epochs after the first."""
    history = tk.train_minibatch(seed_mlp(), (x, y), optimizer=keras.optimizers.SGD(LR), epochs=3,
                                 batch_size=batch_size, shuffle=False, verbose=0)
    return steady_rate(history)


def measure(quick: bool) -> dict[str, float]:
    """Every rate of the suite in this process, keyed by method (and fit settings)."""
    tk.seed_everything(0, deterministic=False)  # measure the default (fastest) op kernels
    data = tk.load_mnist("subset")
    x_all = np.tile(data.x_train.reshape(-1, 784), (4, 1))
    y_all = np.tile(data.y_train, 4)
    n_eager, n_fit1, n_online, n_batch = (50, 256, 4000, 2048) if quick else (400, 4096, 16000, 16000)
    spe_grid = (1, 64) if quick else (1, 16, 64, 256)
    jit_grid = (False, True)
    rates = {"seed eager loop": seed_eager_rate(x_all[:n_eager], y_all[:n_eager])}
    for spe in spe_grid:
        for jit in jit_grid:
            rates[f"fit bs=1 spe={spe} jit={jit}"] = fit_rate(x_all[:n_fit1], y_all[:n_fit1], 1, spe, jit)
    rates["numpy sgd"] = numpy_sgd_rate(x_all[:n_online], y_all[:n_online])
    rates["train_online"] = online_rate(x_all[:n_online], y_all[:n_online])
    for batch_size in (32, 256):
        x, y = x_all[:n_batch], y_all[:n_batch]
        rates[f"fit bs={batch_size} default"] = fit_rate(x, y, batch_size)
        for spe in spe_grid:
            for jit in jit_grid:
                rates[f"fit bs={batch_size} spe={spe} jit={jit}"] = fit_rate(x, y, batch_size, spe, jit)
        rates[f"train_minibatch bs={batch_size}"] = minibatch_rate(x, y, batch_size)
    return rates


def run_suite(threads: str, quick: bool) -> dict[str, float]:
    """Run :func:`measure` in a fresh process with the given intra-op thread setting."""
    command = [sys.executable, __file__, "--worker", "--threads", threads] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"benchmark worker ({threads} threads) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(runs: dict[str, dict[str, float]], prefix: str) -> tuple[float, str]:
    """The fastest rate among keys starting with ``prefix``, over both thread settings."""
    found = [(rate, ", ".join(filter(None, [key[len(prefix):].strip(), f"threads: {threads}"])))
             for threads, rates in runs.items() for key, rate in rates.items() if key.startswith(prefix)]
    return max(found)


def check(name: str, ratio: float, target: float) -> bool:
    ok = ratio >= target
    print(f"  {'PASS' if ok else 'MISS'}  {name:<50} {ratio:7.2f}x  (target >= {target:g}x)")
    return ok


def report(runs: dict[str, dict[str, float]], quick: bool) -> None:
    """Print every rate under both thread settings, then the targets as ratios."""
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__}; {'quick run' if quick else 'full run'}\n")
    names = list(runs)
    print(f"{'samples/s':<44}" + "".join(f"{n + ' threads':>18}" for n in names))
    for key in runs[names[0]]:
        print(f"{key:<44}" + "".join(f"{runs[n][key]:>18,.0f}" for n in names))

    eager, _ = best(runs, "seed eager loop")
    numpy_rate, _ = best(runs, "numpy sgd")
    online, online_how = best(runs, "train_online")
    fit1, fit1_how = best(runs, "fit bs=1 ")
    print(f"\nBest per method: train_online {online:,.0f} ({online_how}); model.fit(batch_size=1) {fit1:,.0f} "
          f"({fit1_how})")
    print("\nTargets (ratios of rates measured in this run):")
    results = [
        check("online vs best model.fit(batch_size=1)", online / fit1, 5),
        check("online vs seed's eager loop", online / eager, 100),
        check("online vs NumPy per-sample SGD", online / numpy_rate, 2),
    ]
    for batch_size in (32, 256):
        tape, _ = best(runs, f"train_minibatch bs={batch_size}")
        fit_best, fit_how = best(runs, f"fit bs={batch_size} ")
        default = runs["default"][f"fit bs={batch_size} default"]
        print(f"  (batch {batch_size}: best model.fit is {fit_how})")
        results.append(check(f"mini-batch tape vs best model.fit, batch {batch_size}", tape / fit_best, 1.0))
        results.append(check(f"mini-batch tape vs default model.fit, batch {batch_size}", tape / default, 1.5))
    verdict = " (quick run: sizes too small to judge)" if quick else ""
    print(f"\n{sum(results)} of {len(results)} targets met{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that the benchmark runs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.threads != "default":
            tk.set_cpu_threads(int(args.threads))
        print(json.dumps(measure(args.quick)))
        return
    report({threads: run_suite(threads, args.quick) for threads in ("default", "1")}, args.quick)


if __name__ == "__main__":
    main()
