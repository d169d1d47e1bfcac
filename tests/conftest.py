"""Shared fixtures: quiet TensorFlow, seeded runs and the embedded MNIST subset."""

from __future__ import annotations

import pytest

import toolkit as tk

tk.runtime.tensorflow_environment(log_level="2")  # before any test module imports TensorFlow


def pytest_collection_modifyitems(config, items):
    """Tests marked ``network`` need internet access: skip them unless ``-m network`` asks for them."""
    if "network" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="needs the network; run with -m network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same seeds, with deterministic ops."""
    tk.seed_everything(0)


@pytest.fixture(scope="session")
def mnist():
    """The embedded subset (float32 images in [0, 1])."""
    return tk.load_mnist("subset")


@pytest.fixture
def small(mnist):
    """600 training and 200 test digits: enough to learn something in a second."""
    return (mnist.x_train[:600], mnist.y_train[:600]), (mnist.x_test[:200], mnist.y_test[:200])
