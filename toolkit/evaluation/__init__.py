"""The evaluation layer: the loss understood once (kind, logits, per-sample form, correctness, the
checks that model, labels and loss fit) and held-out metrics (chapters 1-6). The prequential score of the
online loop is ``fit``'s own logs (``toolkit.training.steps.OnlineStep``).
It never imports the training layer."""

from toolkit.evaluation.losses import (
    check_labels,
    check_logits,
    correctness_fn,
    default_loss,
    loss_from_logits,
    loss_kind,
    loss_name,
    per_example_loss,
)
from toolkit.evaluation.metrics import evaluate, predict_logits, windowed_accuracy

__all__ = [
    "check_labels", "check_logits", "correctness_fn", "default_loss", "loss_from_logits", "loss_kind", "loss_name",
    "per_example_loss", "evaluate", "predict_logits", "windowed_accuracy",
]
