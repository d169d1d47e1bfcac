"""One worker of a multi-worker job: ``python -m toolkit.cli.worker`` (chapter 4).

``python -m toolkit distribute --workers N`` starts N of these, each with its own ``TF_CONFIG``.
Every worker builds the same ``MultiWorkerMirroredStrategy``, reads the same seeded data and
trains the seed's MLP with ``tk.train_minibatch(strategy=...)``; ``--api fit`` tries Keras's
``model.fit`` instead, which fails under this strategy on TF 2.21 / Keras 3.15.

Checkpoints: ``train_minibatch(checkpoint_dir=...)`` backs up every epoch with Keras's ``BackupAndRestore``,
which has no notion of workers: every worker saves (a save may read variables through a collective, so
all must take part) to the same file name. So each worker passes a directory of its own: the chief
``OUT/checkpoints``, worker i ``OUT/checkpoints/.worker-<i>``. On ``--resume`` every other worker first
copies the chief's backup and history rows into its own directory, so all restore the same epoch (a worker
killed between the chief's save and its own would otherwise resume one epoch behind, and the job would
hang). The chief writes ``OUT/weights.npz`` and ``OUT/history.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

SUBSET_TRAINING_DIGITS = 4000


def add_worker_options(p: argparse.ArgumentParser) -> list[argparse.Action]:
    """Add the training options every worker takes to ``p`` (the worker's parser, and ``distribute``'s, which
    checks them before starting any worker); returns them, for ``worker_argv``."""
    from toolkit.cli.arguments import positive, whole

    return [
        p.add_argument("--epochs", type=whole(1), default=3, help="epochs of training (default 3)"),
        p.add_argument("--batch-size", type=whole(1), default=64,
                       help="global batch, split among all workers (default 64)"),
        p.add_argument("--learning-rate", type=positive, default=0.05, help="SGD learning rate (default 0.05)"),
        p.add_argument("--samples", type=whole(1, SUBSET_TRAINING_DIGITS), default=SUBSET_TRAINING_DIGITS,
                       help="training digits to use, of the embedded subset's 4000 (default all)"),
        p.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="seed of the weights and the data order"),
        p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out"),
        p.add_argument("--api", choices=["custom", "fit"], default="custom",
                       help="custom: tk.train_minibatch (works); fit: Keras's model.fit (fails under this strategy)"),
    ]


def worker_argv(args: argparse.Namespace, options: list[argparse.Action]) -> list[str]:
    """The command-line arguments that give a worker the values ``args`` holds for ``options``."""
    argv: list[str] = []
    for option in options:
        value = getattr(args, option.dest)
        if option.nargs == 0:  # a flag such as --resume
            argv += [option.option_strings[0]] if value else []
        else:
            argv += [option.option_strings[0], str(value)]
    return argv


def parser() -> argparse.ArgumentParser:
    """The worker's arguments (the launcher passes them through)."""
    from toolkit.cli.arguments import Parser

    p = Parser(prog="python -m toolkit.cli.worker", description=__doc__)
    p.add_argument("--out", required=True, help="folder for checkpoints, weights and history")
    add_worker_options(p)
    return p


WORKER_COMMAND = [sys.executable, "-m", "toolkit.cli.worker"]  # this module, run as a program


def launch_workers(workers: int, worker_args: list[str], out: str | Path, *, timeout: float = 600.0):
    """Run this worker program as a ``workers``-process job on 127.0.0.1 and return its ``JobResult``
    (chapter 4; ``python -m toolkit distribute`` calls it). ``worker_args`` are the worker's own options
    (``--epochs 3``, ``--resume``, ...); see ``toolkit.distributed.launch.launch``."""
    from toolkit.distributed.launch import launch

    return launch(workers, [*WORKER_COMMAND, *worker_args], out, timeout=timeout)


def checkpoint_dir_of(out: str | Path, strategy, *, resume: bool) -> Path:
    """This worker's ``checkpoint_dir`` (see the module's docstring): the chief's is ``OUT/checkpoints``;
    another worker's is its own, which on ``resume`` first receives a copy of the chief's backup and rows."""
    from toolkit.distributed.strategy import writes_checkpoints
    from toolkit.training.checkpoints import backup_dir, history_path

    chief = Path(out) / "checkpoints"
    if writes_checkpoints(strategy):
        return chief
    own = chief / f".worker-{strategy.cluster_resolver.task_id}"
    if resume:  # the chief saves only after an epoch that needs every worker, so it writes nothing meanwhile
        shutil.rmtree(own, ignore_errors=True)
        own.mkdir(parents=True)
        if backup_dir(chief).exists():
            shutil.copytree(backup_dir(chief), backup_dir(own))
        if history_path(chief).exists():
            shutil.copy2(history_path(chief), history_path(own))
    return own


def held_out_scores(x, y):
    """A callback that adds ``val_loss``/``val_accuracy`` on ``(x, y)`` to each epoch's logs, computed on this
    worker's copy of the weights (identical on every worker) without a collective: ``fit``'s own
    ``validation_data`` fails under ``MultiWorkerMirroredStrategy`` (Keras averages the test step's scalar
    logs over axis 0: "Invalid reduction dimension 0 for input with 0 dimensions")."""
    import keras

    from toolkit.evaluation import evaluate

    class HeldOutScores(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:  # the same dict reaches the history, after this callback
                logs.update({f"val_{key}": value for key, value in evaluate(self.model, x, y).items()})

    return HeldOutScores()


def main(argv: list[str] | None = None) -> None:
    """Join the job's MultiWorkerMirroredStrategy, train, save checkpoints, and (the chief) the results."""
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from toolkit.distributed.strategy import multi_worker_strategy, writes_checkpoints

    strategy = multi_worker_strategy()  # first: MultiWorkerMirroredStrategy must exist before other TF work
    import keras
    import numpy as np
    import tensorflow as tf

    import toolkit as tk

    tk.seed_everything(args.seed)
    data = tk.load_mnist("subset")
    x, y = data.x_train[: args.samples], data.y_train[: args.samples]
    with strategy.scope():
        model = tk.models.mlp(seed=args.seed)
        optimizer = keras.optimizers.SGD(args.learning_rate)
    chief = writes_checkpoints(strategy)
    if args.api == "fit":  # TF 2.21 / Keras 3.15: fails with "Attempt to convert a value (PerReplica...)"
        model.compile(optimizer, tk.default_loss())
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size), epochs=args.epochs, verbose=2)
        return
    checkpoint_dir = checkpoint_dir_of(args.out, strategy, resume=args.resume)
    scores = held_out_scores(data.x_test, data.y_test)
    history = tk.train_minibatch(model, (x, y), optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size,
                                 seed=args.seed, callbacks=[scores], strategy=strategy,
                                 checkpoint_dir=str(checkpoint_dir), resume=args.resume, verbose=0,
                                 jit_compile=False)  # XLA has no CPU collectives ("not yet implemented for CPU")
    rows = {"epoch": [float(epoch) for epoch in range(1, history.rows + 1)], **history.history}  # resumed: all rows
    for epoch, loss, accuracy in zip(rows["epoch"], rows["loss"], rows["val_accuracy"]):
        print(f"epoch {epoch:.0f}: training loss {loss:.4f}, test accuracy {accuracy:.4f}", flush=True)
    if chief:
        np.savez(Path(args.out) / "weights.npz", *model.get_weights())
        (Path(args.out) / "history.json").write_text(json.dumps(rows))
        print(f"{strategy.num_replicas_in_sync} replicas; wrote weights.npz and history.json to {args.out}")


if __name__ == "__main__":
    main()
