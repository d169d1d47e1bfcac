"""toolkit.data: the embedded subset, its checksum, and the full/auto loaders offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from toolkit.data import mnist as data
from toolkit.errors import DatasetUnavailableError


def test_subset_is_real_balanced_and_scaled(mnist):
    assert mnist.source == "subset"
    assert mnist.x_train.shape == (4000, 28, 28) and mnist.x_test.shape == (1000, 28, 28)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int32
    assert 0.0 == mnist.x_train.min() and mnist.x_train.max() == 1.0
    assert np.bincount(mnist.y_train).tolist() == [400] * 10
    assert np.bincount(mnist.y_test).tolist() == [100] * 10
    # real digits: mean pixel of MNIST is about 0.13, and train/test share no image
    assert 0.10 < mnist.x_train.mean() < 0.16
    train = {im.tobytes() for im in mnist.x_train}
    assert not any(im.tobytes() in train for im in mnist.x_test)


def test_readme_states_the_checksum_the_loader_checks():
    readme = (data.data_dir() / "README.md").read_text()
    assert data.SUBSET_SHA256 in readme
    assert re.search(r"CC BY-SA 3\.0", readme)


def test_corrupt_subset_is_refused(tmp_path, monkeypatch):
    shutil.copy(data.data_dir() / data.SUBSET_FILE, tmp_path / data.SUBSET_FILE)
    with open(tmp_path / data.SUBSET_FILE, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="sha256.*git checkout data/"):
        data.load_mnist("subset")


def test_missing_subset_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="build_mnist_subset.py"):
        data.load_mnist("subset")


def _offline(*args, **kwargs):
    raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")


def test_full_offline_names_the_offline_alternative(monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _offline)
    with pytest.raises(DatasetUnavailableError, match=r'load_mnist\("subset"\)'):
        data.load_mnist("full")


def test_auto_falls_back_to_subset_with_one_warning(monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _offline)
    with pytest.warns(UserWarning) as warned:
        loaded = data.load_mnist("auto")
    assert loaded.source == "subset"
    assert len(warned) == 1 and "subset" in str(warned[0].message)


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="auto"):
        data.load_mnist("mnist")


@pytest.mark.network
def test_full_mnist_downloads():
    full = data.load_mnist("full")
    assert full.x_train.shape == (60000, 28, 28) and full.source == "full"


def test_build_script_writes_byte_identical_stratified_files(tmp_path):
    """The build writer is reproducible (fixed zip timestamps) and the split is stratified."""
    import hashlib
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", data.data_dir() / "build_mnist_subset.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    with np.load(data.data_dir() / data.SUBSET_FILE) as shipped:
        images = np.concatenate([shipped["x_train"], shipped["x_test"]])
        labels = np.concatenate([shipped["y_train"], shipped["y_test"]])
    paths = [Path(tmp_path) / "a.npz", Path(tmp_path) / "b.npz"]
    for path in paths:
        build.write_npz(build.split(images, labels), path)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert len(digests) == 1
    with np.load(paths[0]) as rebuilt:
        assert np.bincount(rebuilt["y_test"]).tolist() == [build.TEST_PER_CLASS] * 10
        assert len(rebuilt["y_train"]) == 5000 - 10 * build.TEST_PER_CLASS
