"""Course toolkit: corrected batch and online training for the Keras 3 training-strategies course.

Notebooks read ``import toolkit as tk`` and then ``tk.train_online(...)``. The package is a stack of
layers, each importing only the ones below it::

    errors < runtime < data < models < evaluation < optim < distributed < training < tuning < viz
    < course < cli

Importing ``toolkit`` loads nothing heavy and changes no global state: each name below is imported
the first time it is used (KerasTuner and pyplot only when a search or a plot needs them).
"""

from __future__ import annotations

import importlib

# Sub-modules by the names the chapters use, then the names each module lends the package.
_MODULES = {
    "errors": "toolkit.errors", "runtime": "toolkit.runtime", "data": "toolkit.data", "augment": "toolkit.data.augment",
    "streams": "toolkit.data.streams", "models": "toolkit.models", "transfer": "toolkit.models.transfer",
    "evaluation": "toolkit.evaluation", "optim": "toolkit.optim", "optimizers": "toolkit.optim",
    "schedules": "toolkit.optim.schedules", "distributed": "toolkit.distributed", "distribute": "toolkit.distributed",
    "training": "toolkit.training", "tuning": "toolkit.tuning", "viz": "toolkit.viz", "plots": "toolkit.viz",
    "course": "toolkit.course",
}
_NAMES = {
    "toolkit.runtime": ("seed_everything", "set_cpu_threads", "Stopwatch", "peak_memory"),
    "toolkit.data": ("load_mnist", "Stream", "LabelPermutation", "Rotation"),
    "toolkit.evaluation": ("evaluate", "predict_logits", "windowed_accuracy", "default_loss"),
    "toolkit.optim": ("make_optimizer",),
    "toolkit.training": ("fit_batch", "train_minibatch", "train_online", "find_lr", "RunHistory"),
    "toolkit.errors": ("NonFiniteLossError", "TrainingSetupError"),
    "toolkit.course.frontends": ("grade",),
    "toolkit.cli.worker": ("launch_workers",),
    "toolkit.course.claims": ("claim",),
    "toolkit.course.checks": ("check_seed", "exercise_check"),
}
_EXPORTS = {name: (module, None) for name, module in _MODULES.items()} | {
    name: (module, name) for module, names in _NAMES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
