"""Inputs shaped for a model, as every loop feeds them (chapter 1)."""

from __future__ import annotations

import keras
import numpy as np

from toolkit.data.checks import shape_inputs
from toolkit.models.inspect import model_input_shape


def shaped(x: np.ndarray, model: keras.Model) -> np.ndarray:
    """``x`` scaled and reshaped for ``model``'s input (see ``toolkit.data.checks.shape_inputs``)."""
    return shape_inputs(x, model_input_shape(model))
