"""The known wrong answers of every chapter's exercises, each with the one sentence that names its
misconception, right answers written differently from the solution, and the names an exercise must not
call (chapters 1-6).

One module per chapter (``batch_vs_online`` for ``01_batch_vs_online``) holds:

- ``MISTAKES`` (``{exercise: (Mistake, ...)}``): an answer replaces the exercise cell's solution blocks
  (``### BEGIN SOLUTION`` ... ``### END SOLUTION``), written without the block's indentation: a string
  for a cell with one block, a tuple of strings for a cell with several. When a submission fails a check
  and its check cells print what the k-th mistake prints at the same check seed (by value, with the
  comparison's tolerance), the grade report shows that mistake's ``diagnosis``. Each mistake must fail
  its exercise, and print something no other mistake of the same exercise prints;
- ``RIGHT`` (``{exercise: (answer, ...)}``): right answers written differently; each must PASS;
- ``FORBIDDEN`` (optional, ``{exercise: ("transfer.unfreeze", ...)}``): dotted names the exercise must not
  call: the toolkit's own implementation of its answer (or Keras's), or a way around the exercise's rules
  (``tf.py_function`` where it asks for graph code). The grader reads the learner's
  exercise cells (never runs them for this) and fails the exercise when one names such a thing:
  ``"transfer.unfreeze"`` matches ``tk.transfer.unfreeze(...)``, ``toolkit.transfer.unfreeze``,
  ``from toolkit.transfer import unfreeze``, ``getattr(tk.transfer, "unfreeze")`` and, when
  ``toolkit`` re-exports it, ``tk.unfreeze``. A name that starts with ``keras.`` matches the Keras
  path given (``"keras.layers.RandomFlip"``).

The tests grade every one of them (``tests/test_chapters.py``). The learner's sandbox never holds this
folder.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

Answer = str | tuple[str, ...]
# For FORBIDDEN: NumPy or Python run from inside a graph (or the graph not built at all), under each of
# TensorFlow's names for it (and its private modules), where an exercise asks for graph code
PYTHON_BEHIND_A_GRAPH_OP = ("tf.py_function", "tf.numpy_function", "tf.compat.v1.py_func", "tf.raw_ops.EagerPyFunc",
                            "tf.raw_ops.PyFunc", "tf.raw_ops.PyFuncStateless", "tf.data.Dataset.from_generator",
                            "tf.config.run_functions_eagerly", "tf.config.experimental_run_functions_eagerly",
                            "tensorflow.python", "tf.python")
FORBIDDEN_DIAGNOSIS = "Exercise {exercise} calls {name}, which the exercise asks you to do without."


def shown_name(entry: str) -> str:
    """A ``FORBIDDEN`` entry as the learner writes it: Keras, TensorFlow and NumPy names as they are, the
    toolkit's with ``tk.`` in front.

    >>> shown_name("augment.with_augmentation"), shown_name("keras.layers.RandomErasing")
    ('tk.augment.with_augmentation', 'keras.layers.RandomErasing')
    """
    return entry if entry.startswith(("keras.", "tf.", "np.")) else f"tk.{entry}"


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong (or lazy) answer to one exercise, and the sentence the grade report shows when a
    submission's check prints what this answer prints."""

    diagnosis: str
    answer: Answer
    lazy: bool = False  # a call to the toolkit's own implementation of what the exercise asks for


def _module(chapter: str):
    """The chapter's module, or ``None`` when the course has none for it (a chapter without known mistakes)."""
    try:
        return importlib.import_module(f"{__name__}.{chapter.split('_', 1)[1]}")
    except (ModuleNotFoundError, IndexError):
        return None


def mistakes(chapter: str) -> dict[str, tuple[Mistake, ...]]:
    """``{exercise id: its known mistakes}`` for a chapter stem such as ``01_batch_vs_online``."""
    return dict(getattr(_module(chapter), "MISTAKES", {}))


def right_answers(chapter: str) -> dict[str, tuple[Answer, ...]]:
    """``{exercise id: right answers written differently from the solution}`` for a chapter stem."""
    return dict(getattr(_module(chapter), "RIGHT", {}))


def forbidden(chapter: str) -> dict[str, tuple[str, ...]]:
    """``{exercise id: dotted names it must not call}`` for a chapter stem (``{}`` when the module has none)."""
    return {exercise: tuple(names) for exercise, names in getattr(_module(chapter), "FORBIDDEN", {}).items()}


def rounds(chapter: str) -> list[dict[str, Answer]]:
    """The chapter's mistakes as grading rounds: round k gives every exercise its k-th mistake (exercises
    with fewer keep their solution)."""
    found = mistakes(chapter)
    count = max((len(ms) for ms in found.values()), default=0)
    return [{e: ms[k].answer for e, ms in found.items() if len(ms) > k} for k in range(count)]


SOLUTION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n(?P<body>.*?)^[ \t]*### END SOLUTION[ \t]*\n?",
                      re.MULTILINE | re.DOTALL)  # the same blocks as toolkit.course.learner.SOLUTION


def substitute(nb, answers: Mapping[str, Answer]):
    """``nb`` (a solution notebook, changed in place and returned) with each exercise's solution blocks
    replaced by its answer in ``answers``, indented as the block was."""
    from toolkit.course import notebooks

    for exercise, cells in notebooks.exercise_cells(nb).items():
        if exercise not in answers:
            continue
        answer = answers[exercise]
        bodies = iter(answer if isinstance(answer, tuple) else (answer,))

        def replace(found, bodies=bodies):
            indent = found.group("indent")
            return "".join(f"{indent}{line}\n" if line else "\n" for line in next(bodies).splitlines())

        for cell in cells:
            cell.source = SOLUTION.sub(replace, cell.source)
    return nb


# --- forbidden calls, read off the source ------------------------------------------------------------------

MAGIC = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)  # IPython magics and shell lines: not Python
TOOLKIT_ALIASES = {"tk": "toolkit"}  # every chapter imports the toolkit as tk in its first cells


def _chain(node: ast.AST, aliases: Mapping[str, str]) -> str | None:
    """``a.b.c`` for an attribute chain or a name (aliases resolved), ``getattr(x, "c")`` included."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            parts.append(node.args[1].value)
            node = node.args[0]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) == "import_module" or getattr(node.func, "id", None)
                   in ("__import__", "import_module"))):
            parts.append(node.args[0].value)
            return ".".join(reversed(parts))
        elif isinstance(node, ast.Name):
            parts.append(aliases.get(node.id, node.id))
            return ".".join(reversed(parts))
        else:
            return None


def parse(source: str) -> ast.Module | None:
    """A cell's code as Python, IPython magics and shell lines left out; ``None`` when it is not Python."""
    try:
        return ast.parse(MAGIC.sub("", source))
    except SyntaxError:
        return None


def _renames(tree: ast.AST, aliases: Mapping[str, str]) -> dict[str, str]:
    """``{name: dotted}`` for plain assignments of a dotted name to a new one (``t = tf``, ``L = keras.layers``),
    so ``t.py_function`` is read as ``tf.py_function``; followed through chains of such assignments."""
    pairs = [(node.targets[0].id, node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
             and isinstance(node.value, (ast.Name, ast.Attribute))]
    found: dict[str, str] = {}
    for _ in range(len(pairs)):  # each pass resolves one more link of a chain
        known = {**aliases, **found}
        changed = False
        for name, value in pairs:
            chain = _chain(value, known)
            if chain is not None and chain != name and found.get(name) != chain:
                found[name], changed = chain, True
        if not changed:
            break
    return found


def names_used(source: str, *, strings: bool = True) -> set[str]:
    """Every dotted name a piece of code refers to, aliases of imports and plain renames resolved (``tk`` is
    ``toolkit``; after ``t = tf``, ``t.x`` is ``tf.x``): attribute chains, names, ``from x import y`` (as
    ``x.y``), ``getattr(x, "y")`` and string literals passed to ``importlib.import_module`` / ``__import__``
    or (with ``strings``) that look like dotted names."""
    if (tree := parse(source)) is None:
        return set()
    aliases = dict(TOOLKIT_ALIASES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    aliases.update(_renames(tree, aliases))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name, ast.Call)):
            if (chain := _chain(node, aliases)) is not None:
                found.add(chain)
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and re.fullmatch(r"[\w.]+", node.value):
            found.add(node.value)
    return found


def _resolve(dotted: str):
    """The object a dotted name starting with ``toolkit`` names, in the grader's own toolkit, or ``None``."""
    parts = dotted.split(".")
    if parts[0] != "toolkit":
        return None
    try:
        found = importlib.import_module("toolkit")
        for part in parts[1:]:
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found


def _matches(used: str, entry: str) -> bool:
    if used == entry or used.endswith("." + entry) or used.startswith(entry + ".") \
            or used.startswith(f"toolkit.{entry}."):
        return True
    target = _resolve(f"toolkit.{entry}")
    if target is None or not callable(target):
        return False
    mine = _resolve(used)
    return mine is not None and mine is target


def _attributes(source: str) -> set[str]:
    """Every attribute name ``source`` reads (``x`` in ``[tf][0].x``)."""
    tree = parse(source)
    return set() if tree is None else {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def _distinctive(entry: str) -> str | None:
    """A library entry's last part when no other object is likely to have an attribute so named
    (``py_function``, ``RandomErasing``), else ``None`` (``keras.src``, the toolkit's own names)."""
    last = entry.rsplit(".", 1)[-1]
    library = entry.startswith(("keras.", "tf.", "np.", "tensorflow."))
    return last if library and "." in entry and ("_" in last or last != last.lower()) else None


def forbidden_calls(source: str, names: tuple[str, ...]) -> list[str]:
    """The entries of ``names`` that ``source`` refers to, in the order of ``names``. A library entry with a
    distinctive last part also matches that attribute reached from anything (``[tf][0].py_function``).

    >>> forbidden_calls("from toolkit.transfer import unfreeze as u\\nu(f)", ("transfer.unfreeze",))
    ['transfer.unfreeze']
    >>> forbidden_calls("features.trainable = True", ("transfer.unfreeze",))
    []
    """
    used, attributes = names_used(source), _attributes(source)
    return [entry for entry in names
            if any(_matches(name, entry) for name in used) or _distinctive(entry) in attributes]


def called_by(mistake: Mistake, names: tuple[str, ...]) -> list[str]:
    """The entries of ``names`` a known mistake calls: its report is the forbidden call's, so it is never
    matched by what it prints."""
    answer = mistake.answer
    return forbidden_calls("\n".join(answer if isinstance(answer, tuple) else (answer,)), names)


def written_as(source: str, entry: str) -> str:
    """How ``source`` names the forbidden ``entry``, for the report: the shortest matching dotted name, the
    toolkit's as ``tk.``; ``shown_name(entry)`` when it does not name it.

    >>> written_as("from keras.optimizers import schedules\\nschedules.CosineDecay(0.1, 9)", "schedules.CosineDecay")
    'keras.optimizers.schedules.CosineDecay'
    >>> written_as("import toolkit\\ntoolkit.transfer.unfreeze(f)", "transfer.unfreeze")
    'tk.transfer.unfreeze'
    """
    found = sorted((name for name in names_used(source) if _matches(name, entry)), key=lambda name: (len(name), name))
    if not found:
        return shown_name(entry)
    return "tk." + found[0][len("toolkit."):] if found[0].startswith("toolkit.") else found[0]
