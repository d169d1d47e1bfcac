"""Seeded, replayable sample streams for online learning, with concept drift and late labels (chapter 1).

A :class:`Stream` hands out consecutive blocks of ``(x, y)`` samples starting at any
position, so a run that stops at sample *k* can resume at sample *k* and see exactly
the samples it would have seen. Drift is a position-dependent transform, so it too is
the same wherever reading starts. ``delayed_blocks`` adapts a stream whose labels arrive
late, the way river's ``simulate_qa`` does: label delay belongs to the stream, not the learner.

>>> s = Stream.from_arrays(np.arange(10.0)[:, None], np.arange(10), seed=1)
>>> [y.tolist() for _, y in s.blocks(start=0, size=4)]
[[8, 4, 7, 0], [1, 2, 5, 9], [6, 3]]
>>> [y.tolist() for _, y in s.blocks(start=4, size=4)]
[[1, 2, 5, 9], [6, 3]]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from toolkit.errors import ArgumentError, StreamError, UnsupportedDataError

Block = tuple[np.ndarray, np.ndarray]
Reader = Callable[[int, int], Iterator[Block]]


class Drift:
    """A concept-drift transform: ``drift(x, y, positions)`` returns the drifted block."""

    def __call__(self, x: np.ndarray, y: np.ndarray, positions: np.ndarray) -> Block:
        raise NotImplementedError


@dataclass(frozen=True)
class LabelPermutation(Drift):
    """Abrupt drift: from sample ``at`` on, every label ``c`` becomes ``permutation[c]``.

    The permutation is seeded and has no fixed points, so a model frozen before the
    switch gets every sample after it wrong.
    """

    at: int
    num_classes: int = 10
    seed: int = 0
    permutation: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        while True:
            perm = rng.permutation(self.num_classes)
            if not np.any(perm == np.arange(self.num_classes)):
                break
        object.__setattr__(self, "permutation", perm)

    def __call__(self, x: np.ndarray, y: np.ndarray, positions: np.ndarray) -> Block:
        return x, np.where(positions >= self.at, self.permutation[y], y).astype(y.dtype)


@dataclass(frozen=True)
class Rotation(Drift):
    """Gradual drift: images turn counter-clockwise, linearly from 0 degrees at ``start`` to ``degrees`` at ``end``."""

    start: int
    end: int
    degrees: float = 90.0

    def angles(self, positions: np.ndarray) -> np.ndarray:
        """Rotation angle in degrees for each stream position."""
        progress = np.clip((positions - self.start) / max(self.end - self.start, 1), 0.0, 1.0)
        return self.degrees * progress

    def __call__(self, x: np.ndarray, y: np.ndarray, positions: np.ndarray) -> Block:
        if x.ndim not in (3, 4):
            raise StreamError(
                f"Rotation drift needs image-shaped samples (N, H, W) or (N, H, W, C); got {x.shape}. "
                "Apply it to a stream of images and flatten inside the model (tk.models.mlp does)."
            )
        import keras

        images = x if x.ndim == 4 else x[..., None]
        theta = np.deg2rad(self.angles(positions))
        cy, cx = (images.shape[1] - 1) / 2, (images.shape[2] - 1) / 2
        cos, sin = np.cos(theta), np.sin(theta)
        transform = np.stack(
            [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy,
             np.zeros_like(theta), np.zeros_like(theta)], axis=1,
        ).astype(np.float32)
        turned = keras.ops.convert_to_numpy(
            keras.ops.image.affine_transform(images.astype(np.float32), transform, fill_value=0.0)
        ).astype(x.dtype)
        return (turned if x.ndim == 4 else turned[..., 0]), y


def seeded_order(n: int, epoch: int, *, seed: int, shuffle: bool = True) -> np.ndarray:
    """The sample order of one pass over ``n`` samples: a permutation seeded by ``(seed, epoch)``, or
    ``0..n-1`` without shuffling. Streams and the mini-batch loop share it (chapter 1)."""
    return np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)


def _stack(samples: list[Block]) -> Block:
    return np.stack([s[0] for s in samples]), np.stack([np.asarray(s[1]) for s in samples])


@dataclass(frozen=True)
class Stream:
    """A replayable stream of ``(x, y)`` samples; ``length`` is ``None`` for an endless stream.

    Build one with :meth:`from_arrays`, :meth:`from_generator` or :meth:`from_dataset`;
    add drift with :meth:`drift`. Used by ``tk.train_online`` (chapter 1).
    """

    read: Reader
    length: int | None
    drifts: tuple[Drift, ...] = ()

    @classmethod
    def from_arrays(
        cls, x: np.ndarray, y: np.ndarray, *, shuffle: bool = True, seed: int = 0, endless: bool = False
    ) -> Stream:
        """Stream arrays in a seeded order; ``endless=True`` reshuffles on every pass."""
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise StreamError(f"x has {len(x)} samples but y has {len(y)}; they must match one to one.")
        n = len(x)

        def order(epoch: int) -> np.ndarray:
            return seeded_order(n, epoch, seed=seed, shuffle=shuffle)

        def read(start: int, size: int) -> Iterator[Block]:
            stop = None if endless else n
            position = start
            while (stop is None or position < stop) and n:
                end = position + size if stop is None else min(position + size, stop)
                index = np.concatenate(
                    [order(e)[max(position, e * n) - e * n: min(end, (e + 1) * n) - e * n]
                     for e in range(position // n, (end - 1) // n + 1)]
                )
                yield x[index], y[index]
                position = end

        return cls(read, None if endless else n)

    @classmethod
    def from_generator(cls, factory: Callable[[], Iterable[Block]], *, length: int | None = None) -> Stream:
        """Stream single ``(x, y)`` samples from ``factory()``, which must replay the same samples
        each time it is called (seed it), so that a resumed run sees the same stream."""

        def read(start: int, size: int) -> Iterator[Block]:
            samples = itertools.islice(iter(factory()), start, None)
            while chunk := list(itertools.islice(samples, size)):
                yield _stack(chunk)

        return cls(read, length)

    @classmethod
    def from_dataset(cls, dataset, *, length: int | None = None) -> Stream:
        """Stream an unbatched ``tf.data.Dataset`` of ``(x, y)`` samples (shuffle it with a seed)."""
        import tensorflow as tf

        if length is None:
            cardinality = int(dataset.cardinality())
            length = cardinality if cardinality >= 0 else None

        def read(start: int, size: int) -> Iterator[Block]:
            yield from dataset.skip(start).batch(size).prefetch(tf.data.AUTOTUNE).as_numpy_iterator()

        return cls(read, length)

    def drift(self, *drifts: Drift) -> Stream:
        """The same stream with drift transforms applied in order (see LabelPermutation, Rotation)."""
        return Stream(self.read, self.length, self.drifts + drifts)

    def blocks(self, start: int, size: int) -> Iterator[Block]:
        """Consecutive blocks of ``size`` samples from position ``start`` (the last may be shorter)."""
        if size < 1:
            raise ArgumentError(f"Blocks hold at least one sample; got size={size}.")
        position = start
        for x, y in self.read(start, size):
            positions = np.arange(position, position + len(x))
            for drift in self.drifts:
                x, y = drift(x, y, positions)
            yield x, y
            position += len(x)

    def take(self, count: int, start: int = 0) -> Block:
        """The ``count`` samples from position ``start`` as two arrays (fewer, or none, if the stream ends)."""
        empty = (np.empty((0,)), np.empty((0,)))
        return next(self.blocks(start, count), empty) if count > 0 else empty


def as_stream(data, *, seed: int = 0) -> Stream:
    """Turn a Stream, an ``(x, y)`` pair of arrays or an unbatched ``tf.data.Dataset`` into a Stream."""
    if isinstance(data, Stream):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return Stream.from_arrays(*data, seed=seed)
    if hasattr(data, "element_spec"):
        return Stream.from_dataset(data)
    raise UnsupportedDataError(
        f"Cannot stream a {type(data).__name__}. Pass tk.Stream.from_arrays(x, y), an (x, y) tuple, "
        "or an unbatched tf.data.Dataset of (x, y) samples."
    )


@dataclass
class DelayedBlock:
    """A block of a stream whose labels arrive late: the new samples, predicted now, and the samples
    whose labels have just arrived, learned now (``mask`` 0 where no label has arrived yet)."""

    x: np.ndarray
    y: np.ndarray
    x_learn: np.ndarray
    y_learn: np.ndarray
    mask: np.ndarray


def delayed_blocks(stream: Stream, start: int, size: int, delay: int) -> Iterator[DelayedBlock]:
    """Blocks of ``size`` new samples from position ``start``, each paired with the samples whose labels
    arrive as they do: sample *t*'s label comes ``delay`` samples later (chapter 1, as river's
    ``simulate_qa``). On resuming at ``start``, the samples still waiting for their labels are read
    again from the stream, so a resumed run learns exactly what an uninterrupted one does.

    >>> s = Stream.from_arrays(np.arange(5.0)[:, None], np.arange(5), shuffle=False)
    >>> [(b.y.tolist(), b.y_learn.tolist(), b.mask.tolist()) for b in delayed_blocks(s, 0, 2, delay=2)]
    [([0, 1], [0, 0], [0.0, 0.0]), ([2, 3], [0, 1], [1.0, 1.0]), ([4], [2], [1.0])]
    """
    known = min(start, delay)
    first_x, first_y = stream.take(max(size, 1), start=start) if known == 0 else stream.take(known, start=start - known)
    pending_x = np.zeros((delay, *first_x.shape[1:]), first_x.dtype)
    pending_y = np.zeros((delay, *np.shape(first_y)[1:]), np.asarray(first_y).dtype)
    pending_mask = np.zeros(delay, np.float32)
    if known:
        pending_x[delay - known:], pending_y[delay - known:], pending_mask[delay - known:] = first_x, first_y, 1.0
    for x, y in stream.blocks(start, size):
        all_x, all_y = np.concatenate([pending_x, x]), np.concatenate([pending_y, y.astype(pending_y.dtype)])
        all_mask = np.concatenate([pending_mask, np.ones(len(x), np.float32)])
        n = len(x)
        pending_x, pending_y, pending_mask = all_x[n:], all_y[n:], all_mask[n:]
        yield DelayedBlock(x, y, all_x[:n], all_y[:n].astype(y.dtype), all_mask[:n])
