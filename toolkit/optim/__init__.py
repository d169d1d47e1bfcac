"""The optimization layer (chapters 1 and 2): learning-rate schedules (``toolkit.optim.schedules``), a
safe optimizer factory, and SGD, AdaGrad, RMSprop, Adam and AdamW written from scratch as
``keras.optimizers.Optimizer`` subclasses (``build`` + ``update_step``).

They take Keras's own constructor arguments and defaults, work in ``model.fit`` and in the
toolkit's GradientTape loops, and match Keras's built-ins (tests: 1e-6 over 100 steps, plus
Keras's published single-step and golden values). ``form="paper"`` switches to the textbook
formula where Keras departs from it. ``descend`` runs any of them on a small loss landscape.
"""

from toolkit.optim import schedules
from toolkit.optim.adagrad import AdaGrad
from toolkit.optim.adam import Adam, AdamW
from toolkit.optim.factory import check_optimizer_kwargs, make_optimizer
from toolkit.optim.landscapes import bowl, descend, rosenbrock
from toolkit.optim.rmsprop import RMSprop
from toolkit.optim.sgd import SGD

__all__ = ["schedules", "check_optimizer_kwargs", "make_optimizer", "SGD", "AdaGrad", "RMSprop", "Adam", "AdamW",
           "bowl", "rosenbrock", "descend"]
