"""Subsets of a labelled data set: chosen classes, and a few labels per class (chapter 6).

>>> x, y = np.arange(6.0), np.array([0, 1, 2, 0, 1, 2])
>>> select_classes(x, y, [2, 0])[1].tolist()
[1, 0, 1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toolkit.errors import ArgumentError


def select_classes(x: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``classes`` only, relabelled 0..len(classes)-1 in the order given (chapter 6).

    ``select_classes(x, y, [5, 6, 7, 8, 9])`` turns digit 5 into label 0, and so on.
    """
    classes = list(classes)
    keep = np.isin(y, classes)
    if not keep.any():
        raise ArgumentError(f"No sample has a label in {classes}; the labels present are {sorted(set(y.tolist()))}.")
    relabel = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([relabel[int(label)] for label in y[keep]], dtype=y.dtype)


def few_labels(x: np.ndarray, y: np.ndarray, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` samples of every class, drawn without replacement with ``seed``, shuffled (chapter 6)."""
    rng = np.random.default_rng(seed)
    picks = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < per_class:
            raise ArgumentError(f"Class {label} has only {len(members)} samples; ask for per_class <= {len(members)}.")
        picks.append(rng.choice(members, per_class, replace=False))
    order = rng.permutation(np.concatenate(picks))
    return x[order], y[order]
