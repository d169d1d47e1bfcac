"""Compiled steps shared by every model of the same architecture (chapters 1-6).

Tracing a training step and compiling it with XLA costs about half a second, far more than a
10,000-sample online run on the course's MLP. Notebooks build a fresh model for every experiment,
so each run would pay it again. Here the first model of an architecture gets a private *stand-in*
(a clone of the model and of the optimizer) with its own compiled ``TapeStepper``; every later
model with the same architecture, optimizer settings and loss borrows the stand-in's compiled step.
Before each compiled call the borrower's weights and optimizer state are copied into the stand-in,
and after it they are copied back (a few hundred kilobytes, microseconds), so the borrower's own
variables always hold its training state, as checkpoints and callbacks expect.

Keras 3's ``stateless_call`` would let a step take the weights as arguments instead, but its
``optimizer.stateless_apply`` is not available with the TensorFlow backend, so a stand-in it is.

Only models the toolkit can clone faithfully share steps: ``Sequential`` and functional models
built from Keras's or the toolkit's own layers, trained with Keras's or the toolkit's optimizers
and losses. Any other model, and every distributed run, compiles its own step as before.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import keras
import tensorflow as tf

from toolkit.training.stepper import ChunkResult, TapeStepper, xla_by_default

TRUSTED_MODULES = ("keras.", "toolkit.")  # classes whose get_config describes them completely
TWINS_KEPT = 8
NAMING_KEYS = {"name", "keras_history", "input_layers", "output_layers"}  # where a model config names layers
_stand_ins: OrderedDict[str, TapeStepper] = OrderedDict()


def _trusted(obj) -> bool:
    """Whether ``obj``'s config describes it completely (not a ``Lambda``: its function may close over values)."""
    return type(obj).__module__.startswith(TRUSTED_MODULES) and not isinstance(obj, keras.layers.Lambda)


def _layers(layer) -> list:
    """``layer`` and every layer inside it, nested models included."""
    return [layer, *(inner for child in getattr(layer, "layers", []) for inner in _layers(child))]


def _model_key(model: keras.Model) -> str | None:
    """The architecture without the layers' names (numbered afresh in every model), or ``None``."""
    if type(model) is not keras.Sequential and type(model).__name__ != "Functional":
        return None
    if not all(_trusted(layer) for layer in _layers(model)):
        return None
    config = model.get_config()
    names: dict[str, str] = {}

    def collect(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names.setdefault(value["name"], f"#{len(names)}")
            for v in value.values():
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)

    def anonymous(value, naming: bool = False):
        """``value`` with names replaced where they name a layer: ``name`` and layer references."""
        if isinstance(value, dict):
            return {k: anonymous(v, k in NAMING_KEYS) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [anonymous(v, naming) for v in value]
        return names.get(value, value) if naming and isinstance(value, str) else value

    collect(config)
    weights = [(tuple(v.shape), str(v.dtype), v.trainable) for v in model.variables]
    return json.dumps([type(model).__name__, anonymous(config), weights], sort_keys=True, default=str)


def _optimizer_key(optimizer: keras.optimizers.Optimizer) -> str | None:
    """The optimizer's class and settings; a plain learning rate is left out (it lives in a variable,
    copied like the weights), a schedule is kept."""
    if not _trusted(optimizer):
        return None
    serialized = keras.optimizers.serialize(optimizer)
    config = {k: v for k, v in serialized["config"].items() if k != "name"}
    if not isinstance(config.get("learning_rate"), dict):
        config.pop("learning_rate", None)
    return json.dumps([serialized["class_name"], serialized.get("module"), config], sort_keys=True, default=str)


def _loss_key(loss) -> str | None:
    if isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss) and _trusted(loss):
        return json.dumps([type(loss).__name__, {**loss.get_config(), "name": None}], sort_keys=True, default=str)
    if callable(loss) and getattr(loss, "__module__", "").startswith(TRUSTED_MODULES):
        return f"{loss.__module__}.{loss.__qualname__}"
    return None


class SharedStepper:
    """A model's stepper that runs a stand-in's compiled step on the model's own variables."""

    def __init__(self, stand_in: TapeStepper, model: keras.Model, optimizer: keras.optimizers.Optimizer):
        self.stand_in = stand_in
        optimizer.build(model.trainable_variables)
        self.pairs = list(zip([*stand_in.model.variables, *stand_in.optimizer.variables],
                              [*model.variables, *optimizer.variables], strict=True))

    def __getattr__(self, name: str):
        return getattr(self.stand_in, name)  # jit_compile, correct_fn, replicas, ... are the stand-in's

    def run(self, *args, **kwargs) -> ChunkResult:
        """``TapeStepper.run`` on the model's own weights and optimizer state (see the module)."""
        for borrowed, own in self.pairs:
            borrowed.assign(own)
        try:
            return self.stand_in.run(*args, **kwargs)
        finally:
            for borrowed, own in self.pairs:
                own.assign(borrowed)


def _stand_in(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, **options) -> TapeStepper | None:
    """A clone of ``model`` and ``optimizer`` with a stepper of its own, or ``None`` if they differ."""
    try:
        clone = keras.models.clone_model(model)
        clone_optimizer = type(optimizer).from_config(optimizer.get_config())
    except (ValueError, TypeError, NotImplementedError):  # a layer or optimizer Keras cannot rebuild
        return None
    stepper = TapeStepper(clone, clone_optimizer, loss, **options)
    optimizer.build(model.trainable_variables)
    shapes = [[(tuple(v.shape), v.dtype) for v in variables] for variables in (
        clone.variables + clone_optimizer.variables, model.variables + optimizer.variables)]
    return stepper if shapes[0] == shapes[1] else None


def stepper_for(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, *, prequential: bool,
                batch_size: int, jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None):
    """The compiled stepper for a run of ``batch_size`` micro-batches (chapters 1-6): shared with
    earlier models of the same architecture, optimizer settings and loss where possible, else a
    ``TapeStepper`` of its own."""
    options = {"prequential": prequential, "jit_compile": jit_compile, "batch_size": batch_size}
    keys = (None if strategy is not None or keras.mixed_precision.global_policy().name != "float32"
            else [_model_key(model), _optimizer_key(optimizer), _loss_key(loss)])
    if keys is None or None in keys:
        return TapeStepper(model, optimizer, loss, strategy=strategy, **options)
    key = json.dumps([*keys, prequential, jit_compile, xla_by_default(model, batch_size)])
    if key not in _stand_ins:
        stand_in = _stand_in(model, optimizer, loss, **options)
        if stand_in is None:
            return TapeStepper(model, optimizer, loss, **options)
        _stand_ins[key] = stand_in
        while len(_stand_ins) > TWINS_KEPT:
            _stand_ins.popitem(last=False)
    _stand_ins.move_to_end(key)
    return SharedStepper(_stand_ins[key], model, optimizer)

