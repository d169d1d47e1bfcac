"""A ``MultiWorkerMirroredStrategy`` job as N local worker processes (chapter 4).

``launch`` starts the workers (one ``TF_CONFIG`` each, on free ports of 127.0.0.1), stops them all
when one dies or time runs out (a collective would otherwise wait forever), and reports how the job
ended. It runs whatever worker command it is given; the course's own worker program, and
``python -m toolkit distribute``, live in the command-line layer above (``tk.launch_workers``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from toolkit.distributed.strategy import tf_config

log = logging.getLogger(__name__)
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


@dataclass
class JobResult:
    """How a multi-worker job ended: ``returncode`` 0 when every worker finished cleanly, else 1 with
    the ``failure``; ``out`` holds each worker's ``worker-<i>.log`` (its own lines) and ``.err``
    (TensorFlow's log and any traceback)."""

    returncode: int
    failure: str | None
    addresses: list[str]
    out: Path

    def report(self, *, logs: bool = True) -> str:
        """The chief's output, then, for a failed job, the reason, every worker's last lines and how to resume."""
        lines = [_tail(self.out / "worker-0.log", 40)] if logs else []
        if self.failure:
            lines.append(f"job failed: {self.failure}; the other workers were stopped.")
            if logs:
                lines += [f"--- end of worker-{index}.{suffix} ---\n{_tail(self.out / f'worker-{index}.{suffix}')}"
                          for index in range(len(self.addresses)) for suffix in ("log", "err")]
                lines.append(f"\nRestart with --resume to continue from the newest checkpoint in "
                             f"{self.out / 'checkpoints'}.")
        return "\n".join(line for line in lines if line)


def _start(workers: int, command: list[str], out: Path) -> tuple[list[str], list[subprocess.Popen], list]:
    """Start the worker processes, each with its TF_CONFIG and its own GPU when there is one per worker."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    visible = [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(visible)).split(",") if visible else []
    processes, logs = [], []
    for index in range(workers):
        # A GPU each when there are enough; otherwise CPU only: processes sharing one GPU would fight for its memory.
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config(addresses, index)),
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               "CUDA_VISIBLE_DEVICES": visible[index] if len(visible) >= workers else "-1"}
        log_file = open(out / f"worker-{index}.log", "w")  # noqa: SIM115  (closed when the job ends)
        err_file = open(out / f"worker-{index}.err", "w")  # noqa: SIM115
        logs += [log_file, err_file]
        processes.append(subprocess.Popen([*command, "--out", str(out)],
                                          env=env, stdout=log_file, stderr=err_file))
    (out / "workers.json").write_text(json.dumps({"addresses": addresses, "pids": [p.pid for p in processes]}))
    return addresses, processes, logs


def _watch(processes: list[subprocess.Popen], timeout: float) -> str | None:
    """Wait for the workers; the reason the job failed, or None."""
    started = time.monotonic()
    while any(p.poll() is None for p in processes):
        for index, process in enumerate(processes):
            code = process.poll()
            if code not in (None, 0):
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                return f"worker {index} {how}"
        if time.monotonic() - started > timeout:
            return f"the job ran past its {timeout:.0f}-second limit"
        time.sleep(0.1)
    return next((f"worker {i} exited with code {p.returncode}" for i, p in enumerate(processes) if p.returncode), None)


def launch(workers: int, command: list[str], out: str | Path, *, timeout: float = 600.0) -> JobResult:
    """Run ``command`` (a worker program's command line; ``--out OUT`` is appended) as a
    ``workers``-process job on 127.0.0.1 (chapter 4).

    Each worker gets its own ``TF_CONFIG`` (and its own GPU when there is one per worker; else all
    run on the CPU) and writes its output to ``out/worker-<i>.log`` and TensorFlow's log and any
    traceback to ``out/worker-<i>.err``; their process ids go to ``out/workers.json``. If any worker
    dies, or the job outlives ``timeout`` seconds, the others are stopped (a collective would
    otherwise wait forever). ``JobResult.report()`` tells what happened.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    addresses, processes, logs = _start(workers, list(command), out)
    log.info("launched %d workers on %s; logs in %s/worker-*.log and .err", workers, ", ".join(addresses), out)
    try:
        failure = _watch(processes, timeout)
    finally:
        _stop(processes)
        for file in logs:
            file.close()
    if failure:
        log.warning("job failed: %s; the other workers were stopped", failure)
    return JobResult(1 if failure else 0, failure, addresses, out)


def kill_worker(out: str | Path, index: int) -> None:
    """SIGKILL worker ``index`` of a running job (its pid is in ``out/workers.json``): a crash drill."""
    pid = json.loads((Path(out) / "workers.json").read_text())["pids"][index]
    os.kill(pid, signal.SIGKILL)
