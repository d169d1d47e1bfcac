"""Course toolkit: corrected batch and online training for the Keras 3 training-strategies course.

Notebooks read ``import toolkit as tk`` and then ``tk.train_online(...)``.
"""

from toolkit import augment, data, distribute, guards, models, optimizers, plots, schedules, streams, transfer, tuning
from toolkit.batch import fit_batch
from toolkit.course.frontends import grade
from toolkit.data import load_mnist
from toolkit.evaluate import PrequentialScore, default_loss, evaluate, predict_logits, windowed_accuracy
from toolkit.guards import NonFiniteLossError, TrainingSetupError
from toolkit.history import RunHistory
from toolkit.lr_finder import find_lr
from toolkit.measure import Stopwatch, peak_memory
from toolkit.minibatch import train_minibatch
from toolkit.online import train_online
from toolkit.optimizers import make_optimizer
from toolkit.runtime import seed_everything, set_cpu_threads
from toolkit.streams import LabelPermutation, Rotation, Stream

__all__ = [
    "augment", "data", "distribute", "guards", "models", "optimizers", "plots", "schedules", "streams", "transfer",
    "tuning", "find_lr",
    "fit_batch", "train_minibatch", "train_online",
    "load_mnist", "Stream", "LabelPermutation", "Rotation",
    "evaluate", "predict_logits", "windowed_accuracy", "default_loss", "PrequentialScore", "RunHistory",
    "grade", "make_optimizer", "seed_everything", "set_cpu_threads", "Stopwatch", "peak_memory",
    "NonFiniteLossError", "TrainingSetupError",
]
