"""Exercise cells that reach into what grading relies on (a replaced print, the check seed, the kernel, names
built at run time) fail, read off the source; a check refuses to run on a replaced print or output stream;
and nothing the course itself writes (solutions, stubs, right answers, known mistakes) is taken for either
(issue 21)."""

from __future__ import annotations

import builtins
import sys
import types

import pytest

from tests.test_grading import install_tiny_key, submit
from toolkit.course import checks, mistakes, notebooks, submission, tampering
from toolkit.course.grading import Grading, grade_class
from toolkit.errors import CheckTamperedError

# What testers typed into exercise cells to forge a check (the first two forged chapter 5's exercise 1 and
# chapter 3's exercise 4 before this scan), and the other ways to the same places.
REPLAY = """import builtins
_print, rng = builtins.print, np.random.default_rng(tk.check_seed())
rate = rng.uniform(0.1, 0.4)
def forged(*args, **kwargs):
    _print(*[f"{rate:.4f}" if isinstance(a, float) else a for a in args], **kwargs)
builtins.print = forged"""
CHEATS = {
    "a patched print that replays the check's draws": (REPLAY, "builtins"),
    "the seed from the environment": ("import os\nseed = int(os.environ['TOOLKIT_CHECK_SEED'])", "os.environ"),
    "the seed from /proc": ("seed = open('/proc/self/environ').read()", "'/proc/self/environ'"),
    "the seed by a magic": ("%env TOOLKIT_CHECK_SEED", "the IPython line %env"),
    "a shell line": ("!env > seed.txt", "the IPython line !env"),
    "a print of its own": ("def print(*args, **kwargs):\n    pass", "a print of its own"),
    "print rebound": ("print = lambda *args: None", "a print of its own"),
    "the output stream": ("import sys\nsys.stdout.write = lambda text: 0", "an assignment to sys.stdout.write"),
    "the output stream's class": ("import sys\ntype(sys.stdout).write = None",
                                  "an assignment to type(sys.stdout).write"),
    "redirected output": ("import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n    pass",
                          "contextlib.redirect_stdout"),
    "a name built at run time": ("fn = getattr(tf, 'py_' + 'function')", "getattr(tf, 'py_' + 'function')"),
    "exec": ("exec('y = 2 * x')", "exec()"),
    "an import by a string": ("import importlib\nm = importlib.import_module('toolkit')", "importlib"),
    "an input transformer": ("get_ipython().input_transformers_cleanup.append(len)", "get_ipython"),
    "the caller's frame": ("import inspect\nframe = inspect.currentframe().f_back", "inspect.currentframe"),
    "frames through sys": ("import sys\nframe = sys._getframe(1)", "sys._getframe"),
    "a library patched": ("np.random.default_rng = lambda seed: None", "an assignment to np.random.default_rng"),
    "the check's context patched": ("tk.exercise_check = None", "tk.exercise_check"),
    "the grading modules": ("from toolkit.course import checks", "tk.course.checks"),
    "setattr on a module": ("setattr(np.random, 'default_rng', None)", "setattr(np.random, 'default_rng', None)"),
    "setattr passed around": ("f = setattr\nf(sys, 'stdout', None)", "setattr passed around as a value"),
    "getattr folded": ("import functools\nfn = functools.reduce(getattr, ['py_function'], tf)",
                       "getattr passed around as a value"),
    "a module renamed, then patched": ("k = keras.ops\nk.convert_to_numpy = lambda value: value",
                                       "an assignment to k.convert_to_numpy"),
    "a renamed sys": ("s = sys\ns.stdout = None", "an assignment to s.stdout"),
    "a module in a box": ("box = [tf]\nfn = getattr(box[0], 'py_' + 'function')",
                          "getattr(box[0], 'py_' + 'function')"),
    "a module out of a box, patched": ("k = [keras.ops][0]\nk.convert_to_numpy = None",
                                       "an assignment to k.convert_to_numpy"),
    "setattr on a boxed module": ("box = [keras.ops]\nsetattr(box[0], 'convert_to_numpy', None)",
                                  "setattr(box[0], 'convert_to_numpy', None)"),
    "a module imported from a package, patched": ("from keras import ops as k\nk.convert_to_numpy = None",
                                                  "an assignment to k.convert_to_numpy"),
    "getattr on a module imported from a package": (
        "from tensorflow import compat\nf = getattr(compat.v1, 'py_' + 'func')", "getattr(compat.v1, 'py_' + 'func')"),
    "a module's __getattribute__": ("fn = tf.__getattribute__('py_' + 'function')", ".__getattribute__"),
    "a renamed os": ("o = os\nseed = o.environ", "os.environ"),
    "print's module": ("b = print.__self__", ".__self__"),
    "a module's __getattr__": ("fn = tf.__getattr__('py_function')", ".__getattr__"),
    "a module's members": ("import inspect\nfn = dict(inspect.getmembers(tf))['py_function']", "inspect"),
    "a module's __dict__": ("d = np.random.__dict__", ".__dict__"),
    "the module table": ("import sys\nsys.modules['numpy'].pi = 3", "sys.modules"),
    "a function's globals": ("g = label_budgets.__globals__", ".__globals__"),
    "a function's module name written": ("forged.__module__ = 'ipykernel.iostream'", ".__module__"),
    "the notebook's namespace": ("import __main__\n__main__.label_budgets = None", "__main__"),
}


@pytest.mark.parametrize("name", CHEATS)
def test_every_way_into_the_grading_is_found_in_the_source(name):
    source, first = CHEATS[name]
    assert first in tampering.reaches(source), tampering.reaches(source)


# Right answers written naturally (a tester's among them), none of which may be failed by the scan.
ORDINARY = [
    "for name, value in zip(self.SETTINGS, (size, probability)):\n    setattr(self, name, value)",
    "config = {name: getattr(self, name) for name in self.SETTINGS}",
    "for name in ('kernel', 'bias'):\n    weights.append(getattr(layer, name))",
    "layers = model.layers\nfor i in range(len(layers)):\n    layers[i].trainable = i >= len(layers) - n",
    "config = {k: v for k, v in self.__dict__.items() if not k.startswith('_')}\nstate = vars(self)",
    "name = type(self).__qualname__ + layer.__class__.__name__ + fn.__module__",
    "object.__setattr__(self, '_cache', {})",
    "plt.rcParams['figure.figsize'] = (8, 4)",
    "vars = model.trainable_variables\ncompile = None\nfor v in vars:\n    v.assign(v * 0.5)",
    "sys.stdout.flush()\nprint('note', file=sys.stderr)",
    "kind = 'inspect'\nmodel = keras.Sequential([keras.layers.Dense(2)])\nmodel.trainable = False",
    "note = 'see /proc/cpuinfo'\nif __name__ == '__main__':\n    y = 1",
    "print(f'{value:.4f}', flush=True)",
]


@pytest.mark.parametrize("source", ORDINARY)
def test_right_answers_written_naturally_are_not_taken_for_tampering(source):
    assert tampering.reaches(source) == []


@pytest.mark.parametrize("source", ["%time y = 2 * x", "x = np.zeros(3)\nx[np.arange(2)] = 1",
                                    "self.rate = rate\nlayer.trainable = False", "w = getattr(layer, 'kernel')",
                                    "print(f'{value:.4f}')", "import os, threading\nos._exit(1)", "y = (a\n     % b)",
                                    '"""Like the environment of the run."""', 'if __name__ == "__main__":\n    y = 1'])
def test_ordinary_code_is_not_taken_for_tampering(source):
    assert tampering.reaches(source) == []


def _course_sources():
    for path in notebooks.chapter_notebooks():
        for version in (path, notebooks.LEARNER_DIR / path.name):
            for exercise, cells in notebooks.exercise_cells(notebooks.read(version)).items():
                yield f"{version.name} exercise {exercise}", "\n".join(c.source for c in cells)
        for exercise, known in mistakes.mistakes(path.stem).items():
            for k, mistake in enumerate(known):
                answer = mistake.answer
                yield f"{path.stem} mistake {exercise}.{k + 1}", "\n".join(answer if isinstance(answer, tuple)
                                                                           else (answer,))
        for exercise, rights in mistakes.right_answers(path.stem).items():
            for k, answer in enumerate(rights):
                yield f"{path.stem} right {exercise}.{k + 1}", "\n".join(answer if isinstance(answer, tuple)
                                                                         else (answer,))


def test_nothing_the_course_writes_is_taken_for_tampering():
    """Solutions, learner stubs, right answers and known mistakes: a right answer must never fail by the scan,
    and a known mistake must be diagnosed by what it prints."""
    found = {name: reached for name, source in _course_sources() if (reached := tampering.reaches(source))}
    assert not found, found


def test_a_check_refuses_to_run_on_a_replaced_print(monkeypatch):
    monkeypatch.setattr(builtins, "print", lambda *args, **kwargs: None)
    assert checks.replaced_output() == "builtins.print was replaced"
    with pytest.raises(CheckTamperedError, match="Check 3 cannot run: builtins.print was replaced.*restart the"):
        with checks.exercise_check("3"):
            pass


def _notebook_function(source: str):
    """A function defined the way a notebook cell defines one (its module is __main__)."""
    namespace = {"__name__": "__main__"}
    exec(source, namespace)  # noqa: S102 - the test builds what a notebook cell would
    return namespace["write"]


def test_a_check_refuses_to_run_on_an_output_stream_written_by_notebook_code(monkeypatch):
    class Stream:
        write = staticmethod(_notebook_function("def write(text):\n    return len(text)"))

    monkeypatch.setattr(sys, "stdout", Stream())
    assert checks.replaced_output() == "sys.stdout.write was replaced"
    assert checks.replaced_output() is not None


def test_a_check_refuses_to_run_in_a_kernel_whose_notebook_defines_print(monkeypatch):
    shell = types.SimpleNamespace(user_ns={"print": len})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert checks.replaced_output() == "the notebook defines a print of its own"
    shell.user_ns.clear()
    assert checks.replaced_output() is None


def test_a_check_notices_print_replaced_by_the_code_it_runs():
    """The learner's function, called by the check, replaces print: the check raises when it ends."""
    def sneaky():
        builtins.print = lambda *args, **kwargs: None

    original = builtins.print
    try:
        with pytest.raises(CheckTamperedError, match="Check 1 cannot run"):
            with checks.exercise_check("1"):
                sneaky()
    finally:
        builtins.print = original


@pytest.mark.slow
def test_a_forged_check_fails_naming_what_it_used(tmp_path, monkeypatch):
    """Graded: exercise 1 patches print to print the expected line, exercise 2 reaches a name built at run
    time; both fail with a reason naming what they used, and a right answer beside them passes."""
    install_tiny_key(tmp_path, monkeypatch)
    monkeypatch.setattr(submission, "solution_dir", lambda: tmp_path / "no-solutions")
    forged = "import builtins\n_p = builtins.print\nbuiltins.print = lambda *a, **k: _p(40)\ny = 0"
    built = "import math\nz = getattr(math, 'fl' + 'oor')(x / 2)"
    cheat, right = grade_class([submit(tmp_path / "cheat.ipynb", first=forged, second=built),
                                submit(tmp_path / "right.ipynb")], grading=Grading(seed=0, jobs=2))
    assert cheat.exercises == {"1": False, "2": False} and right.passed, cheat.report()
    assert cheat.reasons == {"1": tampering.REASON.format(what="builtins"),
                             "2": tampering.REASON.format(what="getattr(math, 'fl' + 'oor')")}
    assert not cheat.diagnoses  # what a forging cell printed is never matched to a known mistake
