"""Build step: a wheel carries the grading keys and the embedded MNIST subset as package data.

``pip install .`` installs the package without the repository around it, so the learner notebooks
(``chapters/learner/*.ipynb``: the grading keys) and the digits (``data/mnist_subset.npz``) are
copied into it as ``toolkit/course/keys/`` and ``toolkit/data/files/``. An editable install
(``pip install -e .``) reads them where they are. Everything else is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# package folder in the wheel: (folder in the repository, files)
SHIPPED = {"toolkit/course/keys": ("chapters/learner", "[0-9][0-9]_*.ipynb"),
           "toolkit/data/files": ("data", "mnist_subset.npz")}


class BuildWithCourseFiles(build_py):
    """``build_py``, then the course files that live outside the package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for target, (source, pattern) in SHIPPED.items():
            folder = Path(self.build_lib, target)
            folder.mkdir(parents=True, exist_ok=True)
            for path in sorted((HERE / source).glob(pattern)):
                shutil.copy2(path, folder / path.name)


setup(cmdclass={"build_py": BuildWithCourseFiles})
