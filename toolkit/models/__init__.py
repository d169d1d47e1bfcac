"""The models layer: the course's networks (logits out), transfer learning, and model inspection
(chapters 1-6). ``tk.models.mlp`` and ``tk.models.cnn`` are the zoo."""

from toolkit.models import transfer
from toolkit.models.inspect import clone_with_weights, model_input_shape, num_outputs, output_activation
from toolkit.models.zoo import cnn, mlp

__all__ = ["mlp", "cnn", "transfer", "clone_with_weights", "model_input_shape", "num_outputs", "output_activation"]
