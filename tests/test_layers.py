"""The package's layers hold: the import-linter contracts in pyproject.toml are kept, and no
module imports another module's private names.

`make lint` runs the same contracts (lint-imports); this test runs them under `make test` too,
so that a broken layer fails the suite a developer runs most.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "threatgraph"


def test_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 kept, 0 broken" in out, out


def private_imports(root: Path) -> list[str]:
    """``from threatgraph.x import _name`` in any module under ``root``: file:line name."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] != "threatgraph":
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    out.append(f"{path.relative_to(root)}:{node.lineno} {alias.name}")
    return out


def test_no_private_name_imports_across_modules() -> None:
    assert private_imports(SRC) == []


def test_private_import_check_sees_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from threatgraph.load.registry import _x, public\n")
    (tmp_path / "b.py").write_text("def f():\n    from threatgraph.util import __version__\n")
    assert private_imports(tmp_path) == ["a.py:1 _x"]
