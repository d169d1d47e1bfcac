"""Distributed training with tf.distribute, runnable without GPUs (chapter 4).

- ``get_strategy()``: a ``MirroredStrategy`` over every GPU or, without a GPU, over logical CPU
  devices, so data parallelism runs for real on a laptop, in CI and in free Colab.
- ``global_batch_size``, ``scale_learning_rate``, ``distribute_dataset``: the arithmetic and
  plumbing every data-parallel job needs.
- ``launch``: start a ``MultiWorkerMirroredStrategy`` job as N local worker processes (one
  ``TF_CONFIG`` each, on free ports of 127.0.0.1) with a time limit and dead-worker detection;
  ``python -m toolkit distribute`` runs it.

The training itself is ``tk.fit_batch(..., strategy=)`` under ``MirroredStrategy`` and
``tk.train_minibatch``/``tk.train_online(..., strategy=)`` under either strategy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf

from toolkit.guards import DistributionSetupError


def configure_cpu_replicas(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices; must run before TensorFlow initialises."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as error:
        existing = tf.config.get_logical_device_configuration(cpu) or [None]
        if len(existing) != count:
            raise DistributionSetupError(
                f"TensorFlow is already running with {len(existing)} logical CPU device(s), so the CPU cannot be "
                f"split into {count} now. Call tk.distribute.get_strategy() before anything else runs TensorFlow "
                "(right after the imports; in a notebook, restart the kernel first)."
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")][:count]


def get_strategy(devices: list[str] | None = None, cpu_replicas: int = 2, *, verbose: bool = True,
                 ) -> tf.distribute.MirroredStrategy:
    """A ``MirroredStrategy`` over ``devices``, else every GPU, else ``cpu_replicas`` logical CPU
    devices (configured first; call this before TensorFlow runs anything). Prints its choice."""
    gpus = tf.config.list_physical_devices("GPU")
    if devices is None:
        devices = [f"/gpu:{i}" for i in range(len(gpus))] if gpus else configure_cpu_replicas(cpu_replicas)
    strategy = tf.distribute.MirroredStrategy(devices)
    if verbose:
        kind = "GPUs" if gpus and devices[0].lower().startswith("/gpu") else "logical CPU devices (no GPU in use)"
        print(f"MirroredStrategy: {strategy.num_replicas_in_sync} replicas on {kind}: {', '.join(devices)}")
    return strategy


def global_batch_size(per_replica_batch: int, strategy: tf.distribute.Strategy) -> int:
    """The global batch: what one step processes over all replicas together."""
    return per_replica_batch * strategy.num_replicas_in_sync


def scale_learning_rate(learning_rate: float, batch_size: int, base_batch_size: int) -> float:
    """The linear scaling rule (Goyal et al. 2017): k times the batch, k times the learning rate."""
    return learning_rate * batch_size / base_batch_size


def distribute_dataset(dataset: tf.data.Dataset, strategy: tf.distribute.Strategy):
    """Split each global batch of ``dataset`` among the replicas (for hand-written ``strategy.run`` loops)."""
    return strategy.experimental_distribute_dataset(dataset)


def tf_config(addresses: list[str], index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of workers at ``addresses`` ("host:port")."""
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """The ``MultiWorkerMirroredStrategy`` described by ``TF_CONFIG``; create it before anything else."""
    if "TF_CONFIG" not in os.environ:
        raise DistributionSetupError(
            "TF_CONFIG is not set, so this process does not know its cluster. Start the workers with "
            "`python -m toolkit distribute --workers N`, which sets it, or set it yourself (tk.distribute.tf_config)."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports that are free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stop(processes: list[subprocess.Popen], grace: float = 5.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def launch(workers: int, worker_args: list[str], out: str | Path, *, timeout: float = 600.0,
           verbose: bool = True) -> int:
    """Run ``python -m toolkit.worker`` as a ``workers``-process job on 127.0.0.1 (chapter 4).

    Each worker gets its own ``TF_CONFIG`` (and its own GPU when there is one per worker; else all run
    on the CPU) and writes its output to ``out/worker-<i>.log`` and
    TensorFlow's log and any traceback to ``out/worker-<i>.err``; their process ids go to
    ``out/workers.json``. If any worker dies, or the job outlives ``timeout`` seconds, the
    others are stopped (a collective would otherwise wait forever) and the exit code is 1, with
    the reason printed. Returns 0 when every worker finished cleanly. ``verbose=False`` prints
    only a failure's one-line reason (the logs keep everything).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    visible = [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(visible)).split(",") if visible else []
    processes, logs = [], []
    for index in range(workers):
        # A GPU each when there are enough; otherwise CPU only: processes sharing one GPU would fight for its memory.
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config(addresses, index)),
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               "CUDA_VISIBLE_DEVICES": visible[index] if len(visible) >= workers else "-1"}
        log, err = open(out / f"worker-{index}.log", "w"), open(out / f"worker-{index}.err", "w")  # noqa: SIM115
        logs += [log, err]
        processes.append(subprocess.Popen([sys.executable, "-m", "toolkit.worker", *worker_args, "--out", str(out)],
                                          env=env, stdout=log, stderr=err))
    (out / "workers.json").write_text(json.dumps({"addresses": addresses, "pids": [p.pid for p in processes]}))
    if verbose:
        print(f"launched {workers} workers on {', '.join(addresses)}; logs in {out}/worker-*.log and .err",
              flush=True)
    started, failure = time.monotonic(), None
    try:
        while failure is None and any(p.poll() is None for p in processes):
            for index, process in enumerate(processes):
                code = process.poll()
                if code not in (None, 0):
                    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                    failure = f"worker {index} {how}"
                    break
            if failure is None and time.monotonic() - started > timeout:
                failure = f"the job ran past its {timeout:.0f}-second limit"
            time.sleep(0.1)
        if failure is None:
            failure = next((f"worker {i} exited with code {p.returncode}" for i, p in enumerate(processes)
                            if p.returncode), None)
    finally:
        _stop(processes)
        for log in logs:
            log.close()
    if verbose:
        print(_tail(out / "worker-0.log", 40))  # the chief's own lines; TensorFlow's log is in worker-0.err
    if not failure:
        return 0
    print(f"job failed: {failure}; the other workers were stopped.")
    if verbose:
        for index in range(workers):
            for suffix in ("log", "err"):
                print(f"--- end of worker-{index}.{suffix} ---\n{_tail(out / f'worker-{index}.{suffix}')}")
        print(f"\nRestart with --resume to continue from the newest checkpoint in {out / 'checkpoints'}.")
    return 1


def kill_worker(out: str | Path, index: int) -> None:
    """SIGKILL worker ``index`` of a running job (its pid is in ``out/workers.json``): a crash drill."""
    pid = json.loads((Path(out) / "workers.json").read_text())["pids"][index]
    os.kill(pid, signal.SIGKILL)
