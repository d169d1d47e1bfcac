"""Optimizers for chapters 1 and 2: a safe factory, and SGD, AdaGrad, RMSprop, Adam and AdamW
written from scratch as ``keras.optimizers.Optimizer`` subclasses (``build`` + ``update_step``).

They take Keras's own constructor arguments and defaults, work in ``model.fit`` and in the
toolkit's GradientTape loops, and match Keras's built-ins (tests: 1e-6 over 100 steps, plus
Keras's published single-step and golden values). ``form="paper"`` switches to the textbook
formula where Keras departs from it. ``descend`` runs any of them on a small loss landscape.
"""

from toolkit.optimizers.adagrad import AdaGrad
from toolkit.optimizers.adam import Adam, AdamW
from toolkit.optimizers.factory import make_optimizer
from toolkit.optimizers.landscapes import bowl, descend, rosenbrock
from toolkit.optimizers.rmsprop import RMSprop
from toolkit.optimizers.sgd import SGD

__all__ = ["make_optimizer", "SGD", "AdaGrad", "RMSprop", "Adam", "AdamW", "bowl", "rosenbrock", "descend"]
