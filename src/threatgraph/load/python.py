"""Python DSL models: the file is executed (it is code the user named) in a fresh namespace."""

from __future__ import annotations

import ast
import contextlib
import math
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType

from threatgraph.model import dsl
from threatgraph.model.schema import SystemModel
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import read_text


def imports_module(tree_or_text: str | ast.AST, module: str) -> bool:
    """Whether Python source (text or an already parsed tree) imports ``module``.

    Checked statically: nothing runs.
    """
    if isinstance(tree_or_text, ast.AST):
        tree = tree_or_text
    else:
        try:
            tree = ast.parse(tree_or_text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # CPython's parser gives up on deep nesting with MemoryError or RecursionError.
            return False
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        if any(n == module or n.startswith(module + ".") for n in names):
            return True
    return False


#: Seconds a Python or pytm model file may run before it is stopped, unless
#: ``THREATGRAPH_MODEL_TIMEOUT`` says otherwise (0: no limit). Building a model takes well
#: under a second; the limit is there so that a file stuck in a loop fails a pre-commit hook
#: or a CI job with a message instead of hanging it.
DEFAULT_MODEL_TIMEOUT = 60.0


class ModelTimeout(BaseException):
    """Raised inside a model file that runs past its time limit (see :func:`time_limit`).

    A BaseException, so that a model's own ``except Exception`` does not swallow it.
    """


def model_timeout() -> float:
    """The time limit for running a model file: ``THREATGRAPH_MODEL_TIMEOUT`` in seconds
    (0 for none), or :data:`DEFAULT_MODEL_TIMEOUT`."""
    raw = os.environ.get("THREATGRAPH_MODEL_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_MODEL_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError.single(
            "THREATGRAPH_MODEL_TIMEOUT",
            0,
            f"expected a number of seconds (0 for no limit), got {raw!r}",
        )
    return value


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ModelTimeout` in the code run inside once ``seconds`` have passed.

    It takes a timer signal, so the limit applies where one can be used: on POSIX systems,
    in the main thread, and when no timer is running already (a program that embeds
    threatgraph and set its own keeps it, untouched). Elsewhere, or with 0 seconds, the code
    runs without a limit. Code stuck inside one call to C (a huge regular expression, say)
    is stopped only when that call returns.
    """
    import signal  # here: loading a data model never needs it

    if (
        seconds <= 0
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0
    ):
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise ModelTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def model_time_limit(file: str) -> Iterator[None]:
    """Run a model file's code under :func:`model_timeout`'s limit: a file still running
    then fails with an :class:`InputError` at the line it was on."""
    seconds = model_timeout()
    try:
        with time_limit(seconds):
            yield
    except ModelTimeout as exc:
        raise InputError.single(
            file,
            traceback_line(exc, file),
            f"model file still running after {seconds:g} s (an endless loop?); it was stopped "
            "here. THREATGRAPH_MODEL_TIMEOUT sets the limit in seconds (0: none)",
        ) from None


def traceback_line(exc: BaseException, file: str) -> int:
    """The deepest traceback line that is inside the model file."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == file:
            line = frame.lineno or line
    return line


#: The one suffix of files threatgraph ever runs as Python (compared without case, as the
#: registry compares suffixes).
PYTHON_SUFFIX = ".py"


def compile_model(path: Path) -> CodeType:
    """Compile a Python model file the user named; syntax errors become file:line errors.

    Every model file threatgraph runs is compiled here, and only a file named ``*.py`` is:
    a YAML or JSON model can also be valid Python, and must never be run as such.
    """
    file = str(path)
    if path.suffix.lower() != PYTHON_SUFFIX:
        raise InputError.single(
            file,
            0,
            f"not a Python file: only {PYTHON_SUFFIX} files are run as model code "
            "(this file was not run)",
        )
    source = read_text(path)
    try:
        return compile(source, file, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InputError.single(file, exc.lineno or 0, f"syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):  # the parser's answer to very deep nesting
        raise InputError.single(file, 0, "cannot compile: nested too deeply") from None


def load(path: Path) -> list[SystemModel]:
    """Execute a Python model file and return every Model it built, in order."""
    file = str(path)
    code = compile_model(path)
    namespace = {
        "__name__": "__threatgraph_model__",
        "__file__": file,
        "__builtins__": __builtins__,
    }
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_modules = set(sys.modules)
    saved_bytecode = sys.dont_write_bytecode
    sys.argv = [file]
    # Absolute: the import system caches finders by sys.path entry, and a relative entry
    # would keep pointing at the directory of whichever model was loaded first.
    sys.path.insert(0, str(path.parent.resolve()))
    # No __pycache__ in the user's model directories, and no stale bytecode between loads.
    sys.dont_write_bytecode = True
    built = dsl.start_collecting()
    try:
        with model_time_limit(file):
            exec(code, namespace)  # noqa: S102 - running the model file the user named
    except InputError:
        raise
    except SystemExit as exc:
        raise InputError.single(
            file, traceback_line(exc, file), f"model file called exit({exc.code!r})"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise InputError.single(
            file, traceback_line(exc, file), f"model raised {type(exc).__name__}: {exc}"
        ) from None
    finally:
        dsl.stop_collecting()
        sys.argv, sys.path = saved_argv, saved_path
        sys.dont_write_bytecode = saved_bytecode
        _forget_modules(saved_modules, path.parent)
    if not built:
        raise InputError.single(file, 1, "the file builds no threatgraph Model")
    return [m.build() for m in built]


def _forget_modules(before: set[str], directory: Path) -> None:
    """Drop modules the model file imported from its own directory.

    Two model directories may each hold a sibling ``parts.py``, and ``diff`` loads the same
    model at two revisions: a module cached in ``sys.modules`` by one load must not be
    handed to the next.
    """
    try:
        root = directory.resolve()
    except OSError:
        return
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules.get(name), "__file__", None)
        if not origin:
            continue
        try:
            inside = Path(origin).resolve().is_relative_to(root)
        except OSError:
            continue
        if inside:
            del sys.modules[name]


_IMPORT_RE = re.compile(r"^\s*(from\s+threatgraph[\w.]*\s+import\b|import\s+threatgraph\b)", re.M)


def _scan(tree: ast.AST) -> tuple[bool, bool]:
    """(imports threatgraph, calls ``Model(...)`` or ``<module>.Model(...)``) in one walk."""
    imports = calls = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports = imports or any(
                a.name == "threatgraph" or a.name.startswith("threatgraph.") for a in node.names
            )
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            imports = imports or (
                node.level == 0 and (mod == "threatgraph" or mod.startswith("threatgraph."))
            )
        elif isinstance(node, ast.Call):
            fn = node.func
            calls = (
                calls
                or (isinstance(fn, ast.Name) and fn.id == "Model")
                or (isinstance(fn, ast.Attribute) and fn.attr == "Model")
            )
        if imports and calls:
            break
    return imports, calls


def mentions_threatgraph(text: str) -> bool:
    """An ``import threatgraph`` line: how a file too big to parse whole is recognised."""
    return _IMPORT_RE.search(text) is not None


def looks_like_model(path: Path, head: str) -> bool:
    """Static check used when searching directories (and by the pre-commit mode).

    The file imports threatgraph and calls ``Model(...)``: helper modules that import
    threatgraph but build no model are skipped, and nothing is executed to decide. A file
    with a syntax error that imports threatgraph is kept, so that the loader reports it
    (a broken model must fail the check loudly, not vanish from the search).
    """
    del path
    if "threatgraph" not in head or "Model" not in head:
        return False
    try:
        tree = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return bool(_IMPORT_RE.search(head))
    imports, calls = _scan(tree)
    return imports and calls
