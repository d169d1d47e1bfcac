"""Data-parallel throughput: one device against MirroredStrategy, and mixed precision against float32.

    python bench/distributed.py            # about a minute on 2 CPU cores
    python bench/distributed.py --quick    # a smoke run

Each configuration runs in its own subprocess, because logical devices and the precision
policy are fixed per process. On a GPU machine, the replicas are the GPUs and the mixed policy
is ``mixed_float16``; without a GPU, the replicas are logical CPU devices sharing the same
cores (so mirroring can only cost time) and the mixed policy is ``mixed_bfloat16``. Printed:
samples/s of ``fit`` and of ``tk.train_minibatch`` on a small CNN, and the ratios against one
device in float32. Under the strategy, also the bytes of input copied to each device per step by the
tape loop, from the per-replica shapes of the distributed dataset that ``fit`` iterates (each replica
should receive its 1/R share of the global batch, not the whole batch).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def record_distributed_datasets(strategy) -> list:
    """Keep every dataset ``strategy`` distributes from now on (``fit``'s own input included)."""
    seen = []
    distribute = strategy.experimental_distribute_dataset

    def recording(dataset, *args, **kwargs):
        seen.append(distribute(dataset, *args, **kwargs))
        return seen[-1]

    strategy.experimental_distribute_dataset = recording
    return seen


def bytes_per_device(distributed, strategy) -> dict:
    """Rows and bytes each device receives in one step: the first element of ``distributed``, per replica."""
    import tensorflow as tf

    per_replica = [strategy.experimental_local_results(part) for part in tf.nest.flatten(next(iter(distributed)))]
    replicas = list(zip(*per_replica))  # per device: its shard of every component
    return {"rows": [int(shard[0].shape[0]) for shard in replicas],
            "bytes": [sum(t.shape.num_elements() * t.dtype.size for t in shard) for shard in replicas],
            "devices": [shard[0].device for shard in replicas]}


def measure(replicas: int, policy: str, quick: bool) -> dict:
    """Samples/s of fit and of the tape loop with ``replicas`` replicas (0: no strategy) under ``policy``."""
    import keras
    import tensorflow as tf
    from timing import EpochClock  # bench/timing.py

    import toolkit as tk

    strategy = tk.distribute.get_strategy(cpu_replicas=replicas) if replicas else None
    keras.mixed_precision.set_global_policy(policy)
    tk.seed_everything(0, deterministic=False)
    data = tk.load_mnist("subset")
    n = 1024 if quick else 4000
    x, y = data.x_train[:n, ..., None], data.y_train[:n]
    batch = 256

    def build():
        with strategy.scope() if strategy else tf.name_scope("single"):
            model = tk.models.cnn(seed=0)
            optimizer = keras.optimizers.Adam(1e-3)
        return model, optimizer

    model, optimizer = build()
    clock = EpochClock()
    tk.fit_batch(model, (x, y), optimizer=optimizer, epochs=3, batch_size=batch, verbose=0, callbacks=[clock],
                 strategy=strategy)
    fit_rate = n / min(clock.durations[1:])
    model, optimizer = build()
    distributed = record_distributed_datasets(strategy) if strategy else []
    history = tk.train_minibatch(model, (x, y), optimizer=optimizer, epochs=3, batch_size=batch, verbose=0,
                                 strategy=strategy)
    samples, seconds = history.history["samples"], history.history["time"]
    devices = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    found = {"fit": fit_rate, "tape": (samples[-1] - samples[0]) / (seconds[-1] - seconds[0]), "devices": devices}
    if distributed:
        found["copied"] = bytes_per_device(distributed[0], strategy) | {"global rows": batch}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        replicas, policy = args.worker.split(":")
        print(json.dumps(measure(int(replicas), policy, args.quick)))
        return

    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    replicas = max(gpus, 2)
    mixed = "mixed_float16" if gpus else "mixed_bfloat16"
    configs = {"one device, float32": "0:float32", f"MirroredStrategy x{replicas}, float32": f"{replicas}:float32",
               f"one device, {mixed}": f"0:{mixed}"}
    print(f"{'GPUs: ' + str(gpus) if gpus else 'no GPU: replicas are logical CPU devices on'} "
          f"{os.cpu_count()} CPU cores; TensorFlow {tf.__version__}\n")
    results = {}
    for name, worker in configs.items():
        command = [sys.executable, __file__, "--worker", worker] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(f"{name}: failed\n{done.stderr[-1500:]}")
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results.get("one device, float32")
    header = ("CNN, global batch 256", "fit samples/s", "tape samples/s", "fit ratio", "tape ratio")
    print(f"{header[0]:<36}{header[1]:>15}{header[2]:>16}{header[3]:>11}{header[4]:>12}")
    for name, rates in results.items():
        ratios = (rates["fit"] / base["fit"], rates["tape"] / base["tape"]) if base else (float("nan"),) * 2
        print(f"{name:<36}{rates['fit']:>15,.0f}{rates['tape']:>16,.0f}{ratios[0]:>10.2f}x{ratios[1]:>11.2f}x")
    for name, rates in results.items():
        if "copied" in rates:
            copied = rates["copied"]
            shares = ", ".join(f"{device.rsplit('/', 1)[-1]}: {rows} rows, {size:,} bytes" for device, rows, size in
                               zip(copied["devices"], copied["rows"], copied["bytes"]))
            print(f"\n{name}, tape loop: input copied to each device per step (global batch "
                  f"{copied['global rows']}, {copied['global rows'] // len(copied['rows'])} rows expected per "
                  f"replica): {shares}")
    if not gpus:
        print("\nOn one CPU the replicas share the same cores: mirroring can only use what a single device left "
              "idle, and it adds copying and all-reduce work. Run this on a GPU machine for real scaling.")


if __name__ == "__main__":
    main()
