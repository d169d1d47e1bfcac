"""The prequential (test-then-train) score of a learner, cumulative and per window (chapters 1-6).

Online learners are scored the way ``river.evaluate.progressive_val_score`` does: every
sample is predicted before it is learned, so the running score is an honest estimate of
accuracy on unseen data, with no separate test set needed. The mini-batch loop keeps the same
record of its training passes, with an epoch as its window.

>>> score = PrequentialScore()
>>> score.update(np.array([0.5, 1.5]), np.array([1.0, 0.0]))
>>> score.result()
{'loss': 1.0, 'accuracy': 0.5, 'window_loss': 1.0, 'window_accuracy': 0.5}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Sums:
    """Summed per-sample losses and 0/1 correctness, and how many samples they cover."""

    loss: float = 0.0
    correct: float = 0.0
    count: int = 0

    def add(self, loss: float, correct: float, count: int) -> None:
        """Add a block's sums."""
        self.loss, self.correct, self.count = self.loss + loss, self.correct + correct, self.count + count

    def means(self, with_accuracy: bool) -> tuple[float, float]:
        """Mean loss and accuracy (NaN when empty, accuracy NaN without a classification loss)."""
        if not self.count:
            return float("nan"), float("nan")
        return self.loss / self.count, self.correct / self.count if with_accuracy else float("nan")


@dataclass
class PrequentialScore:
    """Running loss and accuracy, since the start (``total``) and since the current window began."""

    total: Sums = field(default_factory=Sums)
    window: Sums = field(default_factory=Sums)
    has_accuracy: bool = False

    def update(self, losses: np.ndarray, correct: np.ndarray | None) -> None:
        """Add per-sample losses and 0/1 correctness (``None`` for regression) to the score and the window."""
        if not len(losses):
            return
        loss_sum = float(np.sum(losses, dtype=np.float64))
        correct_sum = 0.0 if correct is None else float(np.sum(correct, dtype=np.float64))
        self.has_accuracy = self.has_accuracy or correct is not None
        for sums in (self.total, self.window):
            sums.add(loss_sum, correct_sum, len(losses))

    def close_window(self) -> None:
        """Start a new window (the trainer calls it after each logged row)."""
        self.window = Sums()

    def result(self) -> dict[str, float]:
        """Cumulative and window means."""
        loss, accuracy = self.total.means(self.has_accuracy)
        window_loss, window_accuracy = self.window.means(self.has_accuracy)
        return {"loss": loss, "accuracy": accuracy, "window_loss": window_loss, "window_accuracy": window_accuracy}

    def state(self) -> dict:
        """A JSON-serialisable snapshot, saved in checkpoints."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> PrequentialScore:
        """The score a snapshot describes (``state()``); an empty dict gives a fresh score."""
        return cls(Sums(**state.get("total", {})), Sums(**state.get("window", {})), state.get("has_accuracy", False))
