"""Optimizer construction with the Keras 3 pitfalls caught (chapters 1 and 2)."""

from __future__ import annotations

import keras

from toolkit.errors import OptimizerArgumentError


def check_optimizer_kwargs(kwargs: dict) -> None:
    """Reject Keras 2 optimizer arguments: ``lr`` (Keras 3 raises a bare error) and ``decay``
    (Keras 3 accepts it with only a warning and ignores it, so the learning rate never decays)."""
    if "lr" in kwargs:
        raise OptimizerArgumentError(
            f"lr={kwargs['lr']} is the Keras 2 spelling; Keras 3 optimizers take learning_rate="
            f"{kwargs['lr']}."
        )
    if "decay" in kwargs:
        raise OptimizerArgumentError(
            f"decay={kwargs['decay']} is ignored by Keras 3 (only a warning is printed), so the "
            "learning rate would never decay. Fix: pass a schedule as the learning rate, e.g. "
            "learning_rate=keras.optimizers.schedules.InverseTimeDecay(initial_learning_rate, "
            f"decay_steps=1, decay_rate={kwargs['decay']}), which is what decay= used to do."
        )


def make_optimizer(spec: str | dict | keras.optimizers.Optimizer = "adam", **kwargs) -> keras.optimizers.Optimizer:
    """Build a Keras optimizer from a name (``"sgd"``), a config dict or an instance.

    ``make_optimizer("sgd", learning_rate=0.01, momentum=0.9)``. Keras 2 arguments fail
    loudly: ``lr=`` (use ``learning_rate=``) and ``decay=`` (Keras 3 ignores it; use a
    schedule). Used by ``fit_batch`` and the tape loops (chapter 1) and chapter 2.
    """
    check_optimizer_kwargs(kwargs)
    if isinstance(spec, keras.optimizers.Optimizer):
        if kwargs:
            raise OptimizerArgumentError(f"Got an optimizer instance and extra arguments {sorted(kwargs)}; "
                            "set them when you construct the optimizer.")
        return spec
    if isinstance(spec, dict):
        check_optimizer_kwargs(spec.get("config", {}))
        return keras.optimizers.get(spec)
    return keras.optimizers.get({"class_name": spec, "config": kwargs})


def copy_optimizer(optimizer: keras.optimizers.Optimizer, variables: list, copy_variables: list,
                   **changes) -> keras.optimizers.Optimizer:
    """A new, unbuilt optimizer with ``optimizer``'s settings (and ``changes`` to its config), for
    ``copy_variables``: the variables of a copy of the model, in the order of ``variables``.

    ``type(opt).from_config(opt.get_config())`` alone is not a faithful copy: it drops the weight-decay
    exclusions (``exclude_from_weight_decay``), which this carries over, by position for excluded
    variables and as the same pattern for excluded names. Used by the tape loops' shared steps and by
    ``tk.find_lr`` (chapters 1 and 2).
    """
    copy = type(optimizer).from_config({**optimizer.get_config(), **changes})
    excluded = getattr(optimizer, "_exclude_from_weight_decay", set())
    pattern = getattr(optimizer, "_exclude_from_weight_decay_pattern", None)
    if excluded or pattern is not None:
        copy.exclude_from_weight_decay(
            var_list=[c for v, c in zip(variables, copy_variables, strict=True) if optimizer._var_key(v) in excluded])
        copy._exclude_from_weight_decay_pattern = pattern  # a compiled pattern of the names, shared as is
    return copy
