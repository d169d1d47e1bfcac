"""The training layer: every loop runs inside ``model.fit`` (chapters 1-6). ``fit_batch`` is ``fit`` with
the course's checks; ``train_minibatch`` and ``train_online`` replace only ``fit``'s train step with the
toolkit's GradientTape steps (``toolkit.training.steps``), so callbacks, metrics, History, checkpoints and
distributed input are Keras's own; the learning-rate range test (``find_lr``)."""

from toolkit.training.fit import fit_batch
from toolkit.training.history import RunHistory
from toolkit.training.lr_finder import find_lr
from toolkit.training.minibatch import train_minibatch
from toolkit.training.online import train_online
from toolkit.training.steps import MinibatchStep, OnlineStep

__all__ = ["fit_batch", "RunHistory", "find_lr", "train_minibatch", "train_online", "MinibatchStep", "OnlineStep"]
