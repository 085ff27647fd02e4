"""Python DSL models: the file is executed (it is code the user named) in a fresh namespace."""

from __future__ import annotations

import ast
import sys
import traceback
from pathlib import Path

from threatgraph.errors import InputError
from threatgraph.load.yamlsafe import read_text
from threatgraph.model import dsl
from threatgraph.model.schema import SystemModel


def imports_module(tree_or_text: str, module: str) -> bool:
    """Whether Python source imports ``module`` (checked statically, nothing runs)."""
    try:
        tree = ast.parse(tree_or_text)
    except (SyntaxError, ValueError):
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


def _line_in(exc: BaseException, file: str) -> int:
    """The deepest traceback line that is inside the model file."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == file:
            line = frame.lineno or line
    return line


def load(path: Path) -> list[SystemModel]:
    """Execute a Python model file and return every Model it built, in order."""
    file = str(path)
    source = read_text(path)
    try:
        code = compile(source, file, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InputError.single(file, exc.lineno or 0, f"syntax error: {exc.msg}") from None
    namespace = {
        "__name__": "__threatgraph_model__",
        "__file__": file,
        "__builtins__": __builtins__,
    }
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [file]
    sys.path.insert(0, str(path.parent))
    built: list[dsl.Model] = []
    dsl._collect.models = built
    try:
        exec(code, namespace)  # noqa: S102 - running the model file the user named is the point
    except InputError:
        raise
    except SystemExit as exc:
        raise InputError.single(
            file, _line_in(exc, file), f"model file called exit({exc.code!r})"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise InputError.single(
            file, _line_in(exc, file), f"model raised {type(exc).__name__}: {exc}"
        ) from None
    finally:
        dsl._collect.models = None
        sys.argv, sys.path = saved_argv, saved_path
    if not built:
        raise InputError.single(file, 1, "the file builds no threatgraph Model")
    return [m.build() for m in built]


def looks_like_model(path: Path, head: str) -> bool:
    """Static check used when searching directories: the file imports threatgraph."""
    del path
    return "threatgraph" in head and imports_module(head, "threatgraph")
