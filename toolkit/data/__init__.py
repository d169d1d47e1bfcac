"""The data layer: MNIST offline and online, replayable streams with drift and late labels, seeded
augmentation, class subsets, and input checks (chapters 1-6). It imports no other toolkit layer but
``errors``."""

from toolkit.data.checks import check_finite_inputs, check_not_empty, shape_dataset, shape_inputs
from toolkit.data.mnist import ImageData, data_dir, export_image_folder, load_mnist
from toolkit.data.streams import (
    DelayedBlock,
    Drift,
    LabelPermutation,
    Rotation,
    Stream,
    as_stream,
    delayed_blocks,
    seeded_order,
)
from toolkit.data.subsets import few_labels, select_classes

__all__ = [
    "check_finite_inputs", "check_not_empty", "shape_dataset", "shape_inputs",
    "ImageData", "data_dir", "export_image_folder", "load_mnist",
    "DelayedBlock", "Drift", "LabelPermutation", "Rotation", "Stream", "as_stream", "delayed_blocks", "seeded_order",
    "few_labels", "select_classes",
]
