"""Offline-first MNIST loading (chapters 1-6).

``load_mnist("subset")`` reads the 5,000 real MNIST digits shipped in ``data/`` and
verifies their sha256; ``load_mnist("full")`` goes through ``keras.datasets.mnist``
(network or cache); ``load_mnist("auto")`` tries the full set and falls back to the
subset offline, with a warning. ``export_image_folder`` writes digits as class folders of PNGs.

>>> d = load_mnist("subset")
>>> d.x_train.shape, d.x_train.dtype, float(d.x_train.max()), d.source
((4000, 28, 28), dtype('float32'), 1.0, 'subset')
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from toolkit.errors import ArgumentError, DatasetUnavailableError

SUBSET_FILE = "mnist_subset.npz"
SUBSET_SHA256 = "0857efa77d11f9f71574dda6d177fffa20fbf8fdf0df2e28cbbff4fc034827bd"

Source = Literal["auto", "subset", "full"]


class ImageData(NamedTuple):
    """Train/test images as float32 in [0, 1] with integer labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


PACKAGED_DATA = Path(__file__).resolve().parent / "files"  # where a wheel ships the subset (setup.py)


def data_dir() -> Path:
    """The folder holding the shipped data: ``$TOOLKIT_DATA_DIR``, else the package's own copy (a regular
    install), else the repository's ``data/`` (a checkout or an editable install)."""
    if "TOOLKIT_DATA_DIR" in os.environ:
        return Path(os.environ["TOOLKIT_DATA_DIR"])
    return PACKAGED_DATA if PACKAGED_DATA.is_dir() else Path(__file__).resolve().parents[2] / "data"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _to_float_images(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0).reshape(len(images), 28, 28)


def _load_subset() -> ImageData:
    path = data_dir() / SUBSET_FILE
    if not path.is_file():
        raise DatasetUnavailableError(
            f"The embedded MNIST subset is missing: {path} does not exist. Restore it with "
            "`git checkout data/` or rebuild it with `python data/build_mnist_subset.py`, "
            "or point TOOLKIT_DATA_DIR at a folder that holds it."
        )
    digest = _sha256(path)
    if digest != SUBSET_SHA256:
        raise DatasetUnavailableError(
            f"{path} has sha256 {digest}, but the course expects {SUBSET_SHA256}. The file is "
            "corrupt or was replaced; restore it with `git checkout data/` or rebuild it with "
            "`python data/build_mnist_subset.py`."
        )
    with np.load(path, allow_pickle=False) as arrays:
        return ImageData(
            _to_float_images(arrays["x_train"]), arrays["y_train"].astype(np.int32),
            _to_float_images(arrays["x_test"]), arrays["y_test"].astype(np.int32), "subset",
        )


def _load_full() -> ImageData:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # keras raises a bare Exception("URL fetch failure ...")
        raise DatasetUnavailableError(
            "The full MNIST could not be downloaded or found in the cache "
            f"(~/.keras/datasets/mnist.npz): {error}. Offline, use the embedded subset: "
            'load_mnist("subset") or `--dataset subset`.'
        ) from error
    return ImageData(
        _to_float_images(x_train), y_train.astype(np.int32),
        _to_float_images(x_test), y_test.astype(np.int32), "full",
    )


def load_mnist(source: Source = "auto") -> ImageData:
    """Load MNIST as float32 images in [0, 1] (shape N x 28 x 28) and int32 labels (chapters 1-6).

    ``"subset"``: the 4,000/1,000 digits shipped in ``data/``, checksum-verified, no network.
    ``"full"``: the 60,000/10,000 digits from ``keras.datasets.mnist`` (cached after one download).
    ``"auto"``: ``"full"`` when it can be had, otherwise ``"subset"`` with a warning.
    """
    if source == "subset":
        return _load_subset()
    if source == "full":
        return _load_full()
    if source == "auto":
        try:
            return _load_full()
        except DatasetUnavailableError:
            warnings.warn("load_mnist: full MNIST unavailable (offline?); using the embedded 5,000-digit subset.",
                          stacklevel=2)
            return _load_subset()
    raise ArgumentError(f'source must be "auto", "subset" or "full", not {source!r}.')


def export_image_folder(images: np.ndarray, labels: np.ndarray, directory: str | os.PathLike,
                        *, per_class: int | None = None) -> Path:
    """Write images as one folder of PNG files per class (``0/``, ``1/``, ...) (chapters 1 and 3).

    This is the layout ``keras.utils.image_dataset_from_directory`` reads. Images are float
    in [0, 1] or uint8, shaped (N, H, W) or (N, H, W, 1); ``per_class`` keeps the first n of each.
    """
    import keras

    directory = Path(directory)
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    pixels = images if images.dtype == np.uint8 else np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)
    for label in np.unique(labels):
        folder = directory / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        for index in np.flatnonzero(labels == label)[:per_class]:
            keras.utils.save_img(folder / f"{index:05d}.png", pixels[index], scale=False)
    return directory
