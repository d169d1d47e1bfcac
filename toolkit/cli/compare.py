"""``python -m toolkit compare``: one model trained four ways on the same data (chapter 1).

1. batch training with ``model.fit`` (``fit_batch``);
2. the same mini-batches with the toolkit's GradientTape step inside ``fit`` (``train_minibatch``);
3. online, per-sample GradientTape updates (``train_online``);
4. a drifting stream (labels permuted half-way), where the online learner keeps learning
   and a frozen copy of the batch-trained model does not.

It prints a table (test accuracy, training time, samples/s, updates, peak TensorFlow
memory), writes ``batch_model.keras``, ``compare.json`` and ``compare.png`` to the output folder,
and lists those files at the end. Training time includes tracing and compiling each loop's steps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import keras
from matplotlib.figure import Figure

from toolkit.data import ImageData, LabelPermutation, Stream, load_mnist
from toolkit.evaluation import evaluate, windowed_accuracy
from toolkit.models import clone_with_weights, zoo
from toolkit.runtime import peak_memory, seed_everything
from toolkit.training import fit_batch, train_minibatch, train_online
from toolkit.viz import HistoryPlotter, format_table

BATCH_LR, ONLINE_LR, LOG_EVERY = 1e-3, 0.01, 500
PLAIN_COLUMNS = ("samples", "loss", "accuracy", "val_accuracy")


class PlainProgress(keras.callbacks.Callback):
    """One plain line per epoch or log window, for output that is not a terminal (a file, a pipe, CI),
    where progress bars turn into control characters: the samples seen (``samples_at(epoch)``, as in the
    history) and ``fit``'s logs (online, ``loss`` and ``accuracy`` are those of the window's predictions)."""

    def __init__(self, samples_at):
        super().__init__()
        self.samples_at = samples_at

    def on_epoch_end(self, epoch, logs=None):
        row = {"samples": self.samples_at(epoch), **(logs or {})}
        shown = [f"{key} {row[key]:.0f}" if key == "samples" else f"{key} {row[key]:.4f}"
                 for key in PLAIN_COLUMNS if key in row]
        print(f"  {epoch + 1}: " + ", ".join(shown), flush=True)


@dataclass
class MethodResult:
    """One row of the comparison table."""

    method: str
    test_accuracy: float
    time_s: float
    samples: int
    samples_per_s: float
    updates: int
    peak_memory_mib: float


def _result(method: str, model: keras.Model, history, test, memory) -> MethodResult:
    cols = history.history
    samples, seconds = int(cols["samples"][-1]), float(cols["time"][-1])
    return MethodResult(method, evaluate(model, *test)["accuracy"], seconds, samples, samples / seconds,
                        int(cols["updates"][-1]), memory.mib)


def results_table(results: list[MethodResult]) -> str:
    """The comparison as a text table."""
    rows = [{"method": r.method, "test acc": r.test_accuracy, "time s": r.time_s, "samples": r.samples,
             "samples/s": r.samples_per_s, "updates": r.updates, "peak MiB": r.peak_memory_mib} for r in results]
    return format_table(rows, {"test acc": ".3f", "time s": ".2f", "samples/s": ",.0f", "peak MiB": ".1f"})


def drift_experiment(frozen: keras.Model, x, y, *, samples: int, seed: int, verbose: int,
                     callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict:
    """Prequential accuracy along a stream whose labels are permuted half-way: an online learner
    (starting from the frozen model's weights) against the frozen model itself."""
    switch = samples // 2
    stream = Stream.from_arrays(x, y, seed=seed + 1, endless=True).drift(LabelPermutation(at=switch, seed=seed))
    learner = clone_with_weights(frozen)
    history = train_online(learner, stream, optimizer=keras.optimizers.SGD(ONLINE_LR), max_samples=samples,
                           log_every=LOG_EVERY, verbose=verbose, callbacks=callbacks)
    frozen_curve = windowed_accuracy(frozen, stream, samples, LOG_EVERY)
    online_curve = history.history["accuracy"]  # each log window's predictions, made before learning them
    after = slice(len(online_curve) - 1, None)
    return {"switch_at": switch, "samples": history.history["samples"], "online": online_curve,
            "frozen": frozen_curve, "online_last_window": online_curve[after][0],
            "frozen_last_window": frozen_curve[after][0], "online_time_s": history.last("time")}


def plot_comparison(histories: dict, drift: dict, path: Path) -> None:
    """Write the three-panel figure: test accuracy vs samples, vs time, and the drifting stream."""
    fig = Figure(figsize=(16, 4.5))  # no pyplot: no GUI backend and no global state to touch
    axes = fig.subplots(1, 3)
    plotter = HistoryPlotter(metric="val_accuracy")
    plotter.plot(histories, x="samples", ax=axes[0]).set(title="Test accuracy vs samples seen", ylabel="test accuracy")
    plotter.plot(histories, x="time", ax=axes[1]).set(
        title="Test accuracy vs training time", ylabel="test accuracy",
        xlabel="training time, s (compiling included: each line's first point carries it)")
    ax = axes[2]
    ax.plot(drift["samples"], drift["online"], label="online learner (starts from the batch model's weights)",
            color=plotter.color("online: per-sample"))
    ax.plot(drift["samples"][: len(drift["frozen"])], drift["frozen"], "--", label="frozen batch model",
            color=plotter.color("batch: model.fit"))
    ax.axvline(drift["switch_at"], color="grey", linestyle=":", label="labels permuted")
    ax.set(title="Drifting stream: prequential accuracy\n(both start from the batch model's weights)",
           xlabel="samples seen", ylabel="accuracy (last 500)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plain_lines(wanted: bool, samples_at) -> list[keras.callbacks.Callback]:
    """A ``PlainProgress`` where plain lines are wanted, else nothing."""
    return [PlainProgress(samples_at)] if wanted else []


def _write_report(out: Path, config: dict, results: list, histories: dict, drift: dict) -> dict:
    """Write ``compare.json`` and ``compare.png``; return the report."""
    report = {"config": config, "results": [asdict(r) for r in results],
              "histories": {name: h.history for name, h in histories.items()}, "drift": drift}
    (out / "compare.json").write_text(json.dumps(report, indent=2, default=float))
    plot_comparison(histories, drift, out / "compare.png")
    return report


def run_compare(out: str | Path = "compare_out", *, seed: int = 0, samples: int = 12000, epochs: int = 5,
                dataset: str = "subset", batch_size: int = 32, verbose: int = 2, plain_progress: bool = False,
                data: ImageData | None = None) -> dict:
    """Run the four-way comparison and write ``batch_model.keras``, ``compare.json`` and ``compare.png``
    (chapter 1); ``report["files"]`` lists them.

    ``verbose``: 0 prints nothing, 1 the final table and the files written, 2 also each step's progress,
    as progress bars or, with ``plain_progress`` (output that is not a terminal), one plain line per epoch.
    ``data``: the digits, already loaded (by default ``load_mnist(dataset)``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    data = load_mnist(dataset) if data is None else data
    train, test = (data.x_train, data.y_train), (data.x_test, data.y_test)
    say = print if verbose >= 2 else (lambda *a, **k: None)
    progress = 1 if verbose >= 2 and not plain_progress else 0
    lines = partial(_plain_lines, verbose >= 2 and plain_progress)

    n = len(train[0])
    per_epoch, per_window = (lambda epoch: (epoch + 1) * n), (lambda epoch: min((epoch + 1) * LOG_EVERY, samples))
    say(f"compare: {dataset} MNIST, {len(train[0])} training / {len(test[0])} test digits, seed {seed}")
    results, histories = [], {}

    def record(name: str, model: keras.Model, history, memory) -> None:
        results.append(_result(name, model, history, test, memory))
        histories[name] = history

    say(f"[1/4] batch: model.fit, {epochs} epochs of batch {batch_size} (Adam {BATCH_LR:g})")
    batch_model = zoo.mlp(seed=seed)
    with peak_memory() as memory:
        history = fit_batch(batch_model, train, optimizer=keras.optimizers.Adam(BATCH_LR), epochs=epochs,
                            batch_size=batch_size, validation_data=test, verbose=2 * progress,
                            callbacks=lines(per_epoch))
    record("batch: model.fit", batch_model, history, memory)
    batch_model.save(out / "batch_model.keras")

    say("[2/4] mini-batch GradientTape, same batches and optimizer")
    model = zoo.mlp(seed=seed)
    with peak_memory() as memory:
        history = train_minibatch(model, train, optimizer=keras.optimizers.Adam(BATCH_LR), epochs=epochs,
                                  batch_size=batch_size, validation_data=test, seed=seed, verbose=progress,
                                  callbacks=lines(per_epoch))
    record("mini-batch: tape", model, history, memory)

    say(f"\n[3/4] online: per-sample GradientTape on a {samples}-sample stream (SGD {ONLINE_LR:g})")
    model = zoo.mlp(seed=seed)
    stream = Stream.from_arrays(*train, seed=seed, endless=True)
    with peak_memory() as memory:
        history = train_online(model, stream, optimizer=keras.optimizers.SGD(ONLINE_LR), max_samples=samples,
                               log_every=LOG_EVERY, validation_data=test, verbose=progress,
                               callbacks=lines(per_window))
    record("online: per-sample", model, history, memory)

    say(f"\n[4/4] drifting stream: labels permuted at sample {samples // 2}; online learner vs frozen batch model")
    frozen = keras.models.load_model(out / "batch_model.keras")
    drift = drift_experiment(frozen, *train, samples=samples, seed=seed, verbose=progress,
                             callbacks=lines(per_window))

    if verbose:
        print("\n" + results_table(results))
        print(f"\nDrifting stream, accuracy over the last {LOG_EVERY} samples: online learner "
              f"{drift['online_last_window']:.3f}, frozen batch model {drift['frozen_last_window']:.3f}")
    config = {"seed": seed, "samples": samples, "epochs": epochs, "dataset": data.source, "batch_size": batch_size,
              "batch_lr": BATCH_LR, "online_lr": ONLINE_LR}
    report = _write_report(out, config, results, histories, drift)
    report["files"] = [out / name for name in ("batch_model.keras", "compare.json", "compare.png")]
    if verbose:
        print("\nWrote:\n" + "\n".join(f"  {path}" for path in report["files"]))
    return report
