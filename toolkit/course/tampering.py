"""Code in an exercise cell that reaches into what grading relies on, read off the source (chapters 1-6).

A check runs in the learner's kernel, after the learner's code: it prints through Python's own ``print``
and the kernel's output stream, draws its inputs from the check seed, and runs inside the course's
``tk.exercise_check``. An exercise cell that replaces or reads any of these can forge a check's lines,
so the grader reads every exercise cell (outside the kernel, never running it) and fails an exercise
whose cells use:

- ``print`` rebound (assigned, defined, imported as), ``builtins``/``__builtins__``, the output streams
  replaced (``sys.stdout = ...``, ``sys.displayhook``, ``contextlib.redirect_stdout``), ``sys.modules``;
- frames and the interpreter's insides (``sys._getframe``, ``inspect.currentframe``/``stack``,
  ``gc.get_referrers``, ``ctypes``, ``f_back``/``f_globals``/``__globals__``/``__code__``/``__dict__``);
- the kernel (``get_ipython``, ``IPython``, ``ipykernel``, ``__main__``, IPython magics other than
  ``%time``/``%timeit``/``%matplotlib``, shell lines), the check seed (``tk.check_seed``,
  ``TOOLKIT_CHECK_SEED``, ``os.environ``, ``os.getenv``) and the course's grading (``toolkit.course``,
  ``tk.exercise_check``);
- code or names built at run time, which a reader of the source cannot see: ``exec``, ``eval``,
  ``compile``, ``__import__``, ``importlib``, ``globals()``, ``locals()``, ``unittest.mock``; on a module
  (however reached: renamed, imported from a package, in a list), ``getattr`` with a name not written out,
  ``setattr``/``delattr``/``vars`` and attribute assignments (``np.random.default_rng = ...``); and those
  built-ins passed around as values (``f = setattr``). On the cell's own objects they are fine.

None of the course's solutions, right answers or known mistakes needs any of these (a test reads them all).
A determined learner can still get past a reader of source; this closes the ways a tester found
(a patched ``print`` that replays the check seed's draws, ``getattr(tf, "py_" + "function")``), and
``tk.exercise_check`` refuses to run a check when ``print`` or the kernel's output stream was replaced.
"""

from __future__ import annotations

import ast
import re

from toolkit.course import mistakes as known

REASON = ("the exercise cell uses {what}, which an exercise cell must leave alone: checks print through Python's own "
          "print and the kernel, draw from the check seed, and are graded by reading names as written")

NAMES = ("builtins", "__builtins__", "__builtin__", "sys.__stdout__", "sys.__stderr__", "sys.displayhook",
         "sys.modules", "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "inspect",
         "gc.get_referrers", "gc.get_referents", "gc.get_objects", "ctypes", "IPython", "ipykernel", "get_ipython",
         *(f"toolkit.{name}" for name in ("course", "check_seed", "exercise_check")), "os.environ", "os.environb",
         "os.getenv", "os.putenv", "importlib", "runpy", "unittest.mock", "mock.patch", "contextlib.redirect_stdout",
         "contextlib.redirect_stderr", "io.TextIOWrapper", "posix", "operator.attrgetter", "operator.methodcaller")
ALWAYS = ("exec", "eval", "compile", "__import__", "globals", "locals", "breakpoint")  # code built at run time
ON_MODULES = ("getattr", "setattr", "delattr", "vars")  # fine on the cell's own objects, not on a module
INSIDES = ("f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
           "__globals__", "__code__", "__builtins__", "__subclasses__", "__closure__", "__mro__", "__bases__",
           "__wrapped__", "__defaults__", "__kwdefaults__", "__self__", "__getattr__", "__getattribute__")
NOT_WRITTEN = ("__module__", "__qualname__", "__name__")  # read freely; written, they disguise notebook code
PROCESS_FILES = re.compile(r"/proc/(self|thread-self|\d+)\b")  # the environment file holds the check seed
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


def _bound(tree: ast.AST) -> set[str]:
    """Names the cell binds to values of its own (assigned, looped over, defined, taken as arguments)."""
    found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    found |= {node.name for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return found | {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}


def _modules(tree: ast.AST) -> set[str]:
    """The names that may hold modules in the cell: the chapters' imports unless the cell rebinds the name, the
    cell's own imports (``from keras import ops`` too), and names given a module or a container holding one
    (``k = keras.ops``, ``box = [tf]``, ``k = [keras.ops][0]``), followed through chains of such assignments."""
    found = set(MODULES) - _bound(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    assignments = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)]
    for _ in range(len(assignments)):
        more = {target.id for node in assignments if _holds_a_module(node.value, found)
                for target in node.targets if isinstance(target, ast.Name)} - found
        if not more:
            break
        found |= more
    return found


def _holds_a_module(node: ast.AST, modules: set[str]) -> bool:
    """Whether a value is a module, or a container or an item of one that holds a module (not a call's result:
    ``keras.Sequential(...)`` is the cell's own object)."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _root(node) in modules
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return any(_holds_a_module(element, modules) for element in node.elts)
    if isinstance(node, ast.Dict):
        return any(_holds_a_module(value, modules) for value in node.values)
    if isinstance(node, (ast.Subscript, ast.Starred)):
        return _holds_a_module(node.value, modules)
    if isinstance(node, ast.IfExp):
        return _holds_a_module(node.body, modules) or _holds_a_module(node.orelse, modules)
    return False


def _assigned_attributes(target: ast.AST) -> list[ast.Attribute]:
    """The attributes an assignment target writes (``a.b`` in ``a.b = 1`` or ``x, a.b = ...``; not an item
    written into one: ``plt.rcParams["figure.dpi"] = 100``)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [found for element in target.elts for found in _assigned_attributes(element)]
    if isinstance(target, ast.Starred):
        return _assigned_attributes(target.value)
    return [target] if isinstance(target, ast.Attribute) else []


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _names_a_module(node: ast.AST, modules: set[str]) -> bool:
    """Whether an expression mentions a module (``tf``, ``keras.random if a else keras.ops``)."""
    return any(isinstance(part, ast.Name) and part.id in modules for part in ast.walk(node))


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


def _dynamic(node: ast.AST, modules: set[str], called: set[int], bound: set[str]) -> str | None:
    """How ``node`` builds code or reaches a module's attribute at run time, or ``None``."""
    if isinstance(node, ast.Name) and node.id in ALWAYS + ON_MODULES and id(node) not in called \
            and node.id not in bound:  # vars = model.trainable_variables is the cell's own variable
        return f"{node.id} passed around as a value"  # f = setattr; functools.reduce(getattr, ...)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    name, args = node.func.id, node.args
    if name in bound:
        return None  # the cell's own function of that name
    if name in ALWAYS:
        return f"{name}()"
    if name == "vars" and (not args or _names_a_module(args[0], modules)):
        return ast.unparse(node)
    if name in ("setattr", "delattr") and args and _names_a_module(args[0], modules):
        return ast.unparse(node)
    if name == "getattr" and len(args) >= 2 and _names_a_module(args[0], modules) and not (
            isinstance(args[1], ast.Constant) and isinstance(args[1].value, str)):
        return ast.unparse(node)
    return None


def reaches(source: str) -> list[str]:
    """What ``source`` (an exercise cell's code) uses of the above, as written, in the order found.

    >>> reaches("import builtins\\nbuiltins.print = lambda *a: None")
    ['builtins', 'builtins.print', 'an assignment to builtins.print']
    >>> reaches("for name in names:\\n    setattr(self, name, getattr(layer, name))")
    []
    >>> reaches("t = tf\\nfn = getattr(t, 'py_' + 'function')")
    ["getattr(t, 'py_' + 'function')"]
    """
    found: list[str] = []

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    for match in MAGIC_LINE.finditer(source) if not _is_python(source) else ():  # "% b" may continue a line
        if match.group(1) == "!" or match.group(2) not in ALLOWED_MAGICS:
            add(f"the IPython line {match.group(0).strip()}")
    if (tree := known.parse(source)) is None:
        return found
    modules = _modules(tree)
    for name in sorted(known.names_used(source, strings=False)):
        if any(name == entry or name.startswith(entry + ".") for entry in NAMES):
            add(name.replace("toolkit.", "tk.", 1) if name.startswith("toolkit.") else name)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    bound = _bound(tree)
    for node in ast.walk(tree):
        if _binds_print(node):
            add("a print of its own")
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and "__main__" in (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]):
            add("__main__")  # the notebook's own namespace
        elif (how := _dynamic(node, modules, called, bound)) is not None:
            add(how)
        elif isinstance(node, ast.Attribute) and (
                node.attr in INSIDES or node.attr in NOT_WRITTEN and isinstance(node.ctx, ast.Store)
                or node.attr == "__dict__" and _names_a_module(node.value, modules)):
            add(f".{node.attr}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                for part in _assigned_attributes(target):
                    if _names_a_module(part.value, modules):  # type(sys.stdout).write = ... too
                        add(f"an assignment to {ast.unparse(part)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                "TOOLKIT_CHECK_SEED" in node.value or PROCESS_FILES.search(node.value)):
            add(repr(node.value))
    return found
