"""Compiled steps shared by fresh models of one architecture, only where the sharing is faithful (chapters 1-6).

Tracing a training step and compiling it with XLA costs about half a second, far more than a
10,000-sample online run on the course's MLP, and notebooks build a fresh model for every
experiment. So the first model of an architecture gets a private *stand-in*: a clone of the model
and a copy of the optimizer, with its own compiled ``TapeStepper``. A later model borrows that
compiled step: before each compiled call its weights and optimizer state are copied into the
stand-in, and after it they are copied back, under the stand-in's lock (a few hundred kilobytes,
microseconds). The model's own variables always hold its training state, as checkpoints and
callbacks expect.

A step is shared only where it computes what the model's own step would:

* the model is ``Sequential`` or functional, built from Keras's or the toolkit's own layers (a
  ``Lambda`` may close over anything), and its configuration, less what only sets initial values
  (layer names, initializers, seeds: those values live in variables that are copied), equals
  the stand-in's;
* the optimizer is Keras's or the toolkit's, and its *behaviour* equals the stand-in's: every
  setting it holds, whether ``get_config`` records it or not (``exclude_from_weight_decay`` does
  not: it is compared as the list of variables that decay), and any attribute the toolkit cannot
  compare makes the model compile a step of its own;
* the loss is Keras's or the toolkit's, with the same configuration.

Keras 3's ``stateless_call`` would let a step take the weights as arguments instead, but
``optimizer.stateless_apply`` is refused by the TensorFlow backend, hence the stand-in.
``clear_compiled_steps()`` frees every stand-in; at most ``STEPS_KEPT`` are kept.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import keras
import tensorflow as tf

from toolkit.errors import ArgumentError
from toolkit.optim.factory import copy_optimizer
from toolkit.optim.forms import ScratchOptimizer
from toolkit.training.stepper import ChunkResult, TapeStepper, xla_by_default

TRUSTED_MODULES = ("keras.", "toolkit.")  # classes whose behaviour their attributes describe completely
STEPS_KEPT = 8
NAMING_KEYS = {"name", "keras_history", "input_layers", "output_layers"}  # where a model config names layers
# Optimizers whose update of a variable depends on nothing but their settings and, for weight decay, on
# which variables are excluded (compared below). Others (Muon picks its update by layer name) are not shared.
SHAREABLE_OPTIMIZERS = (keras.optimizers.SGD, keras.optimizers.RMSprop, keras.optimizers.Adam,
                        keras.optimizers.AdamW, keras.optimizers.Adagrad, keras.optimizers.Adamax,
                        keras.optimizers.Nadam, keras.optimizers.Adadelta, keras.optimizers.Ftrl,
                        keras.optimizers.Lion, ScratchOptimizer)
# Optimizer attributes that are state (copied like the weights) or bookkeeping, not behaviour.
OPTIMIZER_BOOKKEEPING = {"name", "built", "_lock", "_tracker", "_distribution_strategy", "_iterations",
                         "_learning_rate", "_variables", "_trainable_variables", "_trainable_variables_indices",
                         "_exclude_from_weight_decay", "_exclude_from_weight_decay_pattern",
                         "_exclude_from_weight_decay_cache"}


def _trusted(obj) -> bool:
    """Whether ``obj`` is Keras's or the toolkit's own (not a ``Lambda``: its function may close over values)."""
    return type(obj).__module__.startswith(TRUSTED_MODULES) and not isinstance(obj, keras.layers.Lambda)


def _layers(layer) -> list:
    """``layer`` and every layer inside it, nested models included."""
    return [layer, *(inner for child in getattr(layer, "layers", []) for inner in _layers(child))]


def _initial_values_only(key: str) -> bool:
    """Config keys that only choose initial values, which live in variables the stand-in copies."""
    return key == "seed" or key.endswith("_initializer")


def architecture_key(model: keras.Model) -> str | None:
    """The model's computation as JSON: its configuration without layer names, initializers and seeds,
    and its variables' shapes, dtypes and trainability; ``None`` if it cannot be cloned faithfully."""
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
        """``value`` with layer names numbered in order and initial-value settings left out."""
        if isinstance(value, dict):
            return {k: anonymous(v, k in NAMING_KEYS) for k, v in value.items() if not _initial_values_only(k)}
        if isinstance(value, list | tuple):
            return [anonymous(v, naming) for v in value]
        return names.get(value, value) if naming and isinstance(value, str) else value

    collect(config)
    # What fit follows is each variable's own regularizer and constraint, which may differ from the config.
    weights = [(tuple(v.shape), str(v.dtype), v.trainable, _serialized(getattr(v, "regularizer", None)),
                _serialized(getattr(v, "constraint", None))) for v in model.variables]
    return json.dumps([type(model).__name__, anonymous(config), weights], sort_keys=True, default=str)


def _serialized(obj):
    """A regularizer's or constraint's class and config, ``None`` for none."""
    return None if obj is None else [type(obj).__module__, type(obj).__qualname__, obj.get_config()]


def _plain(value) -> bool:
    """Whether ``value`` is plain data (numbers, strings, and lists or dicts of them), which JSON compares."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _plain(v) for k, v in value.items())


def optimizer_behaviour(optimizer: keras.optimizers.Optimizer, variables: list) -> str | None:
    """Everything that decides how ``optimizer`` updates ``variables``, as JSON; ``None`` if some part of it
    cannot be compared (an optimizer class or schedule from elsewhere, an attribute that is not plain data).

    Variables and slots are state, copied between the stand-in and the model, so they are left out; a
    plain learning rate is a variable too, while a schedule is behaviour. Weight-decay exclusions are
    compared as what they decide: which of ``variables`` decay.
    """
    rate = optimizer._learning_rate
    if not isinstance(optimizer, SHAREABLE_OPTIMIZERS) or not (isinstance(rate, keras.Variable) or _trusted(rate)):
        return None
    settings = {}
    for name, value in vars(optimizer).items():
        if name in OPTIMIZER_BOOKKEEPING or name.startswith("_self_"):
            continue
        if isinstance(value, keras.Variable) or (isinstance(value, list | tuple)
                                                 and all(isinstance(v, keras.Variable) for v in value)):
            continue  # slots (empty before build): state
        if not _plain(value):
            return None
        settings[name] = value
    schedule = None if isinstance(rate, keras.Variable) else keras.optimizers.schedules.serialize(rate)
    decays = [bool(optimizer._use_weight_decay(v)) for v in variables] if optimizer.weight_decay else []
    return json.dumps([type(optimizer).__module__, type(optimizer).__qualname__, settings, schedule, decays],
                      sort_keys=True, default=str)


def loss_key(loss) -> str | None:
    """The loss's class and every setting it holds as JSON (``Huber``'s config omits ``delta``, so the
    config alone would not do); ``None`` for a loss from elsewhere."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss) and _trusted(loss):
        function = getattr(loss, "fn", None)
        if function is not None and not getattr(function, "__module__", "").startswith(TRUSTED_MODULES):
            return None
        settings = {k: v for k, v in vars(loss).items() if k not in ("name", "fn", "_dtype_policy")}
        if not all(_plain(v) for v in settings.values()):
            return None
        where = None if function is None else f"{function.__module__}.{function.__qualname__}"
        return json.dumps([type(loss).__module__, type(loss).__qualname__, where, settings], sort_keys=True)
    if callable(loss) and getattr(loss, "__module__", "").startswith(TRUSTED_MODULES):
        return f"{loss.__module__}.{loss.__qualname__}"
    return None


def check_optimizer_is_for(optimizer: keras.optimizers.Optimizer, variables: list) -> None:
    """Refuse an optimizer already built for other variables, as Keras does ("Unknown variable")."""
    if not optimizer.built:
        return
    known = optimizer._trainable_variables_indices
    unknown = [v.path for v in variables if optimizer._var_key(v) not in known]
    if unknown:
        raise ArgumentError(
            f"This optimizer was built for another model's variables, not for {unknown[0]}"
            f"{f' and {len(unknown) - 1} more' if len(unknown) > 1 else ''}. An optimizer keeps state for the "
            "variables it was built with: create a new optimizer for each model, e.g. keras.optimizers.Adam(...)."
        )


class SharedStepper:
    """A model's stepper that runs a stand-in's compiled step on the model's own variables."""

    def __init__(self, stand_in: TapeStepper, lock: threading.Lock, model: keras.Model,
                 optimizer: keras.optimizers.Optimizer):
        self.stand_in, self.lock = stand_in, lock  # the cache has built the optimizer and matched the shapes
        self.pairs = list(zip([*stand_in.model.variables, *stand_in.optimizer.variables],
                              [*model.variables, *optimizer.variables], strict=True))

    def __getattr__(self, name: str):
        return getattr(self.stand_in, name)  # jit_compile, correct_fn, replicas, ... are the stand-in's

    def run(self, *args, **kwargs) -> ChunkResult:
        """``TapeStepper.run`` on the model's own weights and optimizer state (see the module)."""
        with self.lock:  # one model at a time in the stand-in
            for borrowed, own in self.pairs:
                borrowed.assign(own)
            try:
                return self.stand_in.run(*args, **kwargs)
            finally:
                for borrowed, own in self.pairs:
                    own.assign(borrowed)


class StepCache:
    """The stand-ins, least recently used first: at most ``size``, each with the lock its borrowers share."""

    def __init__(self, size: int = STEPS_KEPT):
        self.size = size
        self._stand_ins: OrderedDict[str, tuple[TapeStepper, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._stand_ins)

    def clear(self) -> None:
        """Forget every stand-in (their compiled steps are freed with them)."""
        with self._lock:
            self._stand_ins.clear()

    def stepper(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, *, key: str,
                options: dict) -> SharedStepper | None:
        """A stepper borrowing the stand-in for ``key``, made from ``model`` if there is none yet;
        ``None`` if no faithful stand-in can be made."""
        with self._lock:
            if key not in self._stand_ins:
                stand_in = _stand_in(model, optimizer, loss, key, options)
                if stand_in is None:
                    return None
                self._stand_ins[key] = (stand_in, threading.Lock())
                while len(self._stand_ins) > self.size:
                    self._stand_ins.popitem(last=False)
            self._stand_ins.move_to_end(key)
            stand_in, lock = self._stand_ins[key]
        optimizer.build(model.trainable_variables)
        if _shapes(stand_in.model, stand_in.optimizer) != _shapes(model, optimizer):
            return None  # e.g. an optimizer built before a layer was frozen keeps slots for it
        return SharedStepper(stand_in, lock, model, optimizer)


COMPILED_STEPS = StepCache()


def clear_compiled_steps() -> None:
    """Free every compiled step kept for sharing between models (chapters 1-6); later runs compile anew."""
    COMPILED_STEPS.clear()


def _stand_in(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, key: str,
              options: dict) -> TapeStepper | None:
    """A clone of ``model`` and a copy of ``optimizer`` with a stepper of their own, or ``None`` if the copy
    would compute something else (its key differs) or its variables do not line up with the model's."""
    try:
        clone = keras.models.clone_model(model)
        copy = copy_optimizer(optimizer, model.trainable_variables, clone.trainable_variables)
    except (ValueError, TypeError, NotImplementedError):  # a layer or optimizer Keras cannot rebuild
        return None
    if _sharing_key(clone, copy, loss, options) != key:
        return None
    return TapeStepper(clone, copy, loss, **options)


def _shapes(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> list:
    """The shapes and dtypes of the variables a shared step copies in and out, in order."""
    return [(tuple(v.shape), v.dtype) for v in [*model.variables, *optimizer.variables]]


def _sharing_key(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, options: dict) -> str | None:
    """What a shared step must agree on, as JSON; ``None`` where this model and optimizer cannot share."""
    if keras.mixed_precision.global_policy().name != "float32":
        return None
    keys = [architecture_key(model), optimizer_behaviour(optimizer, model.trainable_variables), loss_key(loss)]
    if None in keys:
        return None
    xla = options["jit_compile"] if options["jit_compile"] != "auto" else xla_by_default(model, options["batch_size"])
    return json.dumps([*keys, options["prequential"], bool(xla)])


def stepper_for(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss, *, prequential: bool,
                batch_size: int, jit_compile: bool | str = "auto", strategy: tf.distribute.Strategy | None = None):
    """The compiled stepper for a run of ``batch_size`` micro-batches (chapters 1-6): shared with earlier
    models where that is faithful (see the module), else a ``TapeStepper`` of the model's own. An optimizer
    built for another model's variables is refused."""
    check_optimizer_is_for(optimizer, model.trainable_variables)
    options = {"prequential": prequential, "jit_compile": jit_compile, "batch_size": batch_size}
    key = None if strategy is not None else _sharing_key(model, optimizer, loss, options)
    shared = None if key is None else COMPILED_STEPS.stepper(model, optimizer, loss, key=key, options=options)
    return shared or TapeStepper(model, optimizer, loss, strategy=strategy, **options)
