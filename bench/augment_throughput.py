"""Augmentation pipeline throughput: a parallel tf.data map with prefetch against a sequential map.

    python bench/augment_throughput.py            # about a minute on 2 CPU cores
    python bench/augment_throughput.py --quick    # a smoke run with tiny sizes

Measured side by side, on the 4,000-digit subset with rotation, shift, shear, zoom, contrast and
noise (``tk.augment``):

1. the input pipeline alone: images/s, and how many CPU cores each variant keeps busy;
2. the same, reading and decoding PNG files per image first (``export_image_folder``);
3. training a small CNN: no augmentation, augmentation in a sequential pipeline, in a parallel
   pipeline with prefetch, and inside the model.

The suite runs twice, in two subprocesses: with TensorFlow's defaults, and with op determinism
on (``tk.seed_everything``, the course's default). The two differ in exactly what this benchmark
measures: with TensorFlow's defaults each augmentation kernel already runs on several threads,
so a "sequential" map keeps most cores busy and a parallel map has little left to add; with op
determinism, kernels run on one thread and the map's parallelism is what uses the other cores.

Target: the parallel pipeline at least 1.5x the sequential one on 2 cores.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import EpochClock  # noqa: E402  (bench/timing.py)

import toolkit as tk  # noqa: E402

SPEC = tk.augment.AugmentSpec(rotation_degrees=15, width_shift=0.1, height_shift=0.1, shear_degrees=10, zoom=0.1,
                              contrast=0.2, noise_std=0.05)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pipeline_rate(dataset: tf.data.Dataset, repeats: int = 2) -> tuple[float, float]:
    """(images per second, cores busy) for full passes over ``dataset``, best of ``repeats``."""
    for _ in dataset.take(2):
        pass
    best = (0.0, 0.0)
    for _ in range(repeats):
        cpu, start = cpu_seconds(), time.perf_counter()
        count = sum(int(x.shape[0]) for x, _ in dataset)
        wall = time.perf_counter() - start
        best = max(best, (count / wall, (cpu_seconds() - cpu) / wall))
    return best


def training_rate(dataset: tf.data.Dataset, model: keras.Model, samples: int) -> float:
    """Samples/s of ``fit``: its fastest epoch after the first (which includes tracing)."""
    model.compile(keras.optimizers.Adam(), tk.default_loss())
    clock = EpochClock()
    model.fit(dataset, epochs=4, verbose=0, callbacks=[clock])
    return samples / min(clock.durations[1:])


def measure(quick: bool, deterministic: bool) -> None:
    """Run the three measurements in this process and print them with the verdict."""
    tk.seed_everything(0, deterministic=deterministic)
    data = tk.load_mnist("subset")
    n = 512 if quick else len(data.x_train)
    images, labels = data.x_train[:n, ..., None], data.y_train[:n]
    batched = tf.data.Dataset.from_tensor_slices((images, labels)).batch(64).cache()

    print("  1. Input pipeline, in-memory images:")
    rates = {}
    for parallel in (False, True):
        name = "parallel map + prefetch" if parallel else "sequential map"
        rates[name] = pipeline_rate(tk.augment.augment_dataset(batched, SPEC, seed=0, parallel=parallel))
        print(f"     {name:<26}{rates[name][0]:>10,.0f} images/s   {rates[name][1]:.2f} cores busy")

    print("  2. Input pipeline, PNG files read and decoded per image:")
    folder = tk.data.export_image_folder(images[..., 0], labels, tempfile.mkdtemp())
    files = sorted(glob.glob(os.path.join(folder, "*", "*.png")))
    file_labels = [int(os.path.basename(os.path.dirname(f))) for f in files]

    def load(path, label):
        return tf.cast(tf.io.decode_png(tf.io.read_file(path), channels=1), tf.float32) / 255.0, label

    file_rates = {}
    for parallel in (False, True):
        name = "parallel map + prefetch" if parallel else "sequential map"
        calls = tf.data.AUTOTUNE if parallel else None
        loaded = tf.data.Dataset.from_tensor_slices((files, file_labels)).map(load, num_parallel_calls=calls)
        augmented = tk.augment.augment_dataset(loaded.batch(64), SPEC, seed=0, parallel=parallel)
        file_rates[name] = pipeline_rate(augmented)
        print(f"     {name:<26}{file_rates[name][0]:>10,.0f} images/s   {file_rates[name][1]:.2f} cores busy")

    print("  3. Training a small CNN (samples/s, fastest of epochs 2-4):")
    training = {
        "no augmentation": (batched, tk.models.cnn(seed=0)),
        "tf.data, sequential map": (tk.augment.augment_dataset(batched, SPEC, seed=0, parallel=False),
                                    tk.models.cnn(seed=0)),
        "tf.data, parallel + prefetch": (tk.augment.augment_dataset(batched, SPEC, seed=0), tk.models.cnn(seed=0)),
        "inside the model": (batched, tk.augment.with_augmentation(tk.models.cnn(seed=0), SPEC, seed=0)),
    }
    fit_rates = {name: training_rate(ds, model, n) for name, (ds, model) in training.items()}
    for name, rate in fit_rates.items():
        print(f"     {name:<30}{rate:>10,.0f} samples/s")

    sequential, parallel = rates["sequential map"], rates["parallel map + prefetch"]
    ratio = parallel[0] / sequential[0]
    print(f"  Target, parallel >= 1.5x sequential: in-memory {ratio:.2f}x ({'PASS' if ratio >= 1.5 else 'MISS'}), "
          f"PNG {file_rates['parallel map + prefetch'][0] / file_rates['sequential map'][0]:.2f}x, training "
          f"{fit_rates['tf.data, parallel + prefetch'] / fit_rates['tf.data, sequential map']:.2f}x")
    print(f"  The sequential map keeps {sequential[1]:.2f} of {os.cpu_count()} cores busy: a parallel map can add at "
          f"most {os.cpu_count() / max(sequential[1], 1e-9):.2f}x here.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=["default", "deterministic"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        measure(args.quick, deterministic=args.worker == "deterministic")
        return
    print(f"{os.cpu_count()} CPU cores; TensorFlow {tf.__version__}; {'quick' if args.quick else 'full'} run")
    modes = (("default", "TensorFlow's defaults"), ("deterministic", "op determinism on (the course default)"))
    for mode, title in modes:
        print(f"\n{title}:", flush=True)
        command = [sys.executable, __file__, "--worker", mode] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"benchmark worker ({mode}) failed:\n{done.stderr[-3000:]}")
        print(done.stdout.rstrip())


if __name__ == "__main__":
    main()
