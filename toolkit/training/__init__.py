"""The training layer: ``model.fit`` corrected (``fit_batch``), and the GradientTape loops built like
Keras's trainers: a data adapter, a compiled stepper, one trainer loop that reports each window to
Keras callbacks (``train_minibatch``, ``train_online``); checkpoints, history, and the learning-rate
range test (chapters 1-6)."""

from toolkit.training.checkpoints import TrainingState
from toolkit.training.fit import fit_batch
from toolkit.training.history import RunHistory
from toolkit.training.lr_finder import find_lr
from toolkit.training.minibatch import train_minibatch
from toolkit.training.online import train_online
from toolkit.training.setup import prepare_run
from toolkit.training.shared_steps import clear_compiled_steps
from toolkit.training.stepper import TapeStepper

__all__ = ["TrainingState", "fit_batch", "RunHistory", "find_lr", "train_minibatch", "train_online", "prepare_run",
           "TapeStepper", "clear_compiled_steps"]
