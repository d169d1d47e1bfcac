"""Optimizer construction with the Keras 3 pitfalls caught (chapters 1 and 2)."""

from __future__ import annotations

import keras

from toolkit.guards import check_optimizer_kwargs


def make_optimizer(spec: str | dict | keras.optimizers.Optimizer = "adam", **kwargs) -> keras.optimizers.Optimizer:
    """Build a Keras optimizer from a name (``"sgd"``), a config dict or an instance.

    ``make_optimizer("sgd", learning_rate=0.01, momentum=0.9)``. Keras 2 arguments fail
    loudly: ``lr=`` (use ``learning_rate=``) and ``decay=`` (Keras 3 ignores it; use a
    schedule). Used by ``fit_batch`` and the tape loops (chapter 1) and chapter 2.
    """
    check_optimizer_kwargs(kwargs)
    if isinstance(spec, keras.optimizers.Optimizer):
        if kwargs:
            raise TypeError(f"Got an optimizer instance and extra arguments {sorted(kwargs)}; "
                            "set them when you construct the optimizer.")
        return spec
    if isinstance(spec, dict):
        check_optimizer_kwargs(spec.get("config", {}))
        return keras.optimizers.get(spec)
    return keras.optimizers.get({"class_name": spec, "config": kwargs})
