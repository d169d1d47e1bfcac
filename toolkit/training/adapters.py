"""Data adapters: arrays or a stream in, chunks for the compiled stepper out (chapter 1).

As in Keras's ``trainers/data_adapters``, the adapter owns the inputs: their order (a seeded
permutation per epoch, or the stream's own order), late labels (``toolkit.data.streams``), shaping,
and the checks on every chunk. Each chunk carries the ids of its samples, so an error can name one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from toolkit.data.checks import check_finite_inputs
from toolkit.data.streams import Stream, delayed_blocks, seeded_order


@dataclass
class Chunk:
    """Samples for one compiled call: learn ``(x, y)`` (``mask`` 0 = no label yet), predict ``x_pred``
    (when labels arrive late; else the training pass is the prediction). ``ids[i]`` names sample i
    in ``where`` (e.g. ``"x[{}] in epoch 2"``)."""

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    where: str
    mask: np.ndarray | None = None
    x_pred: np.ndarray | None = None
    y_pred: np.ndarray | None = None


def array_epoch(x: np.ndarray, y: np.ndarray, epoch: int, *, chunk: int, shuffle: bool, seed: int) -> Iterator[Chunk]:
    """One epoch over arrays, in chunks of ``chunk`` samples, in the seeded order of ``seeded_order``."""
    order = seeded_order(len(x), epoch, seed=seed, shuffle=shuffle)
    for start in range(0, len(x), chunk):
        index = order[start:start + chunk]
        yield Chunk(x[index], y[index], index, f"x[{{}}] in epoch {epoch + 1}")


def stream_chunks(stream: Stream, start: int, total: int, *, chunk: int, label_delay: int,
                  shape: Callable[[np.ndarray], np.ndarray]) -> Iterator[Chunk]:
    """The stream from position ``start`` to ``total`` in chunks of ``chunk`` samples, shaped by
    ``shape``; with ``label_delay``, each chunk learns the samples whose labels have just arrived."""
    position = start
    for block in delayed_blocks(stream, start, chunk, label_delay):
        n = min(len(block.x), total - position)
        if n <= 0:
            return
        x = shape(block.x[:n])
        check_finite_inputs(x, "sample {} of the stream", first_id=position)
        ids = position + np.arange(n)
        if label_delay:
            yield Chunk(shape(block.x_learn[:n]), block.y_learn[:n], ids - label_delay, "sample {} of the stream",
                        mask=block.mask[:n], x_pred=x, y_pred=block.y[:n])
        else:
            yield Chunk(x, block.y[:n], ids, "sample {} of the stream")
        position += n


def merge(chunks: Sequence[Chunk]) -> Chunk:
    """Consecutive chunks of one stream as one chunk (for one compiled call)."""
    if len(chunks) == 1:
        return chunks[0]

    def joined(name: str, default=None) -> np.ndarray | None:
        parts = [getattr(c, name) for c in chunks]
        if all(p is None for p in parts):
            return None
        return np.concatenate([default(c) if p is None else p for c, p in zip(chunks, parts)])

    return Chunk(joined("x"), joined("y"), joined("ids"), chunks[0].where,
                 mask=joined("mask", lambda c: np.ones(len(c.x), np.float32)), x_pred=joined("x_pred", lambda c: c.x),
                 y_pred=joined("y_pred", lambda c: c.y))
