"""Code in an exercise cell that reaches into what grading relies on, read off the source (chapters 1-6).

A check runs in the learner's kernel, after the learner's code: it prints through Python's own ``print``
and the kernel's output stream, draws its inputs from the check seed, and runs inside the course's
``tk.exercise_check``. An exercise cell that replaces or reads any of these can forge a check's lines,
so the grader reads every exercise cell (outside the kernel, never running it) and fails an exercise
whose cells use:

- ``print`` rebound (assigned, defined, imported as), ``builtins``/``__builtins__``, the output streams
  (``sys.stdout``, ``sys.displayhook``, ``contextlib.redirect_stdout``), ``sys.modules``;
- frames and the interpreter's insides (``sys._getframe``, ``inspect.currentframe``/``stack``,
  ``gc.get_referrers``, ``ctypes``, ``f_back``/``f_globals``/``__globals__``/``__code__``/``__dict__``);
- the kernel (``get_ipython``, ``IPython``, ``ipykernel``, ``__main__``, IPython magics other than
  ``%time``/``%timeit``/``%matplotlib``, shell lines), the check seed (``tk.check_seed``,
  ``TOOLKIT_CHECK_SEED``, ``os.environ``, ``os.getenv``) and the course's grading (``toolkit.course``,
  ``tk.exercise_check``);
- code or names built at run time, which a reader of the source cannot see: ``exec``, ``eval``,
  ``compile``, ``__import__``, ``importlib``, ``globals()``, ``locals()``, ``vars()``, ``getattr`` with a
  name that is not written out, ``setattr``/``delattr``, and assignments to a module's attributes
  (``np.random.default_rng = ...``), ``unittest.mock``.

None of the course's solutions, right answers or known mistakes needs any of these (a test reads them all).
A determined learner can still get past a reader of source; this closes the ways a tester found
(a patched ``print`` that replays the check seed's draws, ``getattr(tf, "py_" + "function")``), and
``tk.exercise_check`` refuses to run a check when ``print`` or the kernel's output stream was replaced.
"""

from __future__ import annotations

import ast
import re

from toolkit.course import mistakes as known

DIAGNOSIS = ("Exercise {exercise} uses {what}, which an exercise cell must leave alone: the checks print through "
             "Python's own print and the kernel, draw from the check seed, and are graded by reading names as "
             "written.")
REASON = "the exercise cell uses {what}, which grading does not allow in an exercise cell"

NAMES = ("builtins", "__builtins__", "__builtin__", "__main__", "sys.stdout", "sys.stderr", "sys.__stdout__",
         "sys.__stderr__", "sys.displayhook", "sys.modules", "sys._getframe", "sys._current_frames", "sys.settrace",
         "sys.setprofile", "inspect.currentframe", "inspect.stack", "inspect.getouterframes", "inspect.trace",
         "gc.get_referrers", "gc.get_referents", "gc.get_objects", "ctypes", "IPython", "ipykernel", "get_ipython",
         "toolkit.course", "toolkit.check_seed", "toolkit.exercise_check", "os.environ", "os.environb",
         "os.getenv", "os.putenv", "importlib", "runpy", "unittest.mock", "mock.patch", "contextlib.redirect_stdout",
         "contextlib.redirect_stderr", "io.TextIOWrapper", "posix", "operator.attrgetter", "operator.methodcaller")
BUILT_AT_RUN_TIME = ("exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr",
                     "breakpoint")
INSIDES = ("f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
           "__globals__", "__code__", "__builtins__", "__dict__", "__subclasses__", "__closure__", "__setattr__",
           "__delattr__", "__getattribute__", "__mro__", "__bases__", "__wrapped__", "__defaults__", "__kwdefaults__",
           "__module__", "__qualname__")
TEXTS = ("TOOLKIT_CHECK_SEED", "environ", "/proc/")
ALLOWED_MAGICS = ("time", "timeit", "matplotlib")
MODULES = ("np", "numpy", "tf", "tensorflow", "keras", "ops", "layers", "tk", "toolkit", "plt", "sys", "os", "math",
           "random", "builtins")  # the chapters' imports: their attributes belong to the course, not to a cell
MAGIC_LINE = re.compile(r"^[ \t]*(!|%%?)([\w]*)", re.MULTILINE)


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _modules(tree: ast.AST) -> set[str]:
    """The names a cell's imports bind to modules, and the chapters' own."""
    found = set(MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return found


def _assigned_attributes(target: ast.AST) -> list[ast.Attribute]:
    """The attributes an assignment target writes (``a.b`` in ``a.b = 1``, ``a.b[0] = 1``, ``x, a.b = ...``)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [found for element in target.elts for found in _assigned_attributes(element)]
    if isinstance(target, ast.Starred):
        return _assigned_attributes(target.value)
    while isinstance(target, ast.Subscript):
        target = target.value
    return [target] if isinstance(target, ast.Attribute) else []


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _binds_print(node: ast.AST) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == "print"
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return "print" in node.names
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name) == "print" for alias in node.names)
    if isinstance(node, ast.Name):
        return node.id == "print" and isinstance(node.ctx, (ast.Store, ast.Del))
    return False


def reaches(source: str) -> list[str]:
    """What ``source`` (an exercise cell's code) uses of the above, as written, in the order found.

    >>> reaches("import builtins\\nbuiltins.print = lambda *a: None")
    ['builtins', 'builtins.print', 'an assignment to builtins.print']
    >>> reaches("rng = np.random.default_rng(seed)\\nprint(rng.integers(3))")
    []
    >>> reaches("fn = getattr(tf, 'py_' + 'function')")
    ["getattr(tf, 'py_' + 'function')"]
    """
    found: list[str] = []

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    for match in MAGIC_LINE.finditer(source) if not _is_python(source) else ():  # "% b" may continue a line
        if match.group(1) == "!" or match.group(2) not in ALLOWED_MAGICS:
            add(f"the IPython line {match.group(0).strip()}")
    try:
        tree = ast.parse(known.MAGIC.sub("", source))
    except SyntaxError:
        return found
    modules = _modules(tree)
    used = known.names_used(source)
    for name in sorted(used):
        if any(name == entry or name.startswith(entry + ".") for entry in NAMES):
            add(name.replace("toolkit.", "tk.", 1) if name.startswith("toolkit.") else name)
    for node in ast.walk(tree):
        if _binds_print(node):
            add("a print of its own")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in BUILT_AT_RUN_TIME:
                add(f"{node.func.id}()")
            elif node.func.id == "getattr" and len(node.args) >= 2 and not (
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                add(ast.unparse(node))
        elif isinstance(node, ast.Attribute) and node.attr in INSIDES:
            add(f".{node.attr}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                for part in _assigned_attributes(target):
                    if _root(part) in modules:
                        add(f"an assignment to {ast.unparse(part)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for text in TEXTS:
                if text in node.value:
                    add(repr(node.value))
    return found
