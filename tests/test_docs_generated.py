"""The generated reference pages in docs/ match the library (tools/gen_docs.py).

The threat catalogue, the coverage matrix and the controls catalogue are generated from
threats/. When a rule or control changes, the committed pages must be regenerated; this test
re-renders them in memory and says how to fix a difference.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOWTO = "run `make docs` (or `.venv/bin/python tools/gen_docs.py`) and commit the result"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", mod)
    spec.loader.exec_module(mod)
    return mod


gen_docs = _load_tool()


@pytest.fixture(scope="module")
def pages(library: Any) -> dict[str, str]:
    return gen_docs.render_all(library)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "name", ["threat-catalogue.md", "coverage-matrix.md", "controls.md", "hipaa.md"]
)
def test_generated_page_is_up_to_date(pages: dict[str, str], name: str) -> None:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing: {HOWTO}"
    committed = path.read_text(encoding="utf-8")
    if committed != pages[name]:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    pages[name].splitlines(keepends=True),
                    f"docs/{name} (committed)",
                    f"docs/{name} (from threats/)",
                    n=1,
                )
            )[:40]
        )
        pytest.fail(f"docs/{name} is stale: {HOWTO}.\n{diff}")


def test_rendering_is_deterministic(library: Any, pages: dict[str, str]) -> None:
    assert gen_docs.render_all(library) == pages


def test_catalogue_has_every_rule_with_its_parts(library: Any, pages: dict[str, str]) -> None:
    text = pages["threat-catalogue.md"]
    for lr in library.rules:
        r = lr.rule
        assert f'<a id="{r.id.lower()}"></a>{r.id}:' in text
        assert f"](#{r.id.lower()})" in text  # in the table of contents
        entry = text.split(f'<a id="{r.id.lower()}"></a>', 1)[1].split("\n### ", 1)[0]
        for part in ("**Detection.**", "**Known false positives.**", "**Mitigations.**"):
            assert part in entry, (r.id, part)
        for mit in r.mitigations:
            assert f"[`{mit.control}`](controls.md#" in entry
        assert entry.count("\n- [") >= len(r.references), r.id  # every reference, linked


def test_coverage_matrix_rows(library: Any, pages: dict[str, str]) -> None:
    text = pages["coverage-matrix.md"]
    for prefix, n in (("LLM", 10), ("ML", 10), ("ASI", 10)):
        for i in range(1, n + 1):
            row = re.search(rf"^\| \[{prefix}{i:02d}\]\(.*$", text, re.M)
            assert row, f"{prefix}{i:02d} has no row"
            assert "threat-catalogue.md#tg-" in row.group(0), f"{prefix}{i:02d} has no rule"
    cited = {
        ref.split(":", 1)[1].rsplit("@", 1)[0]
        for lr in library.rules
        for ref in lr.rule.references
        if ref.startswith("atlas:AML.T0")
    }
    for tid in cited:
        assert f"| [{tid}](" in text, tid
    assert "| [AML.TA0005](" in text and "Execution" in text
    assert "| [164.312(b)](" in text  # audit controls, cited by the audit-trail rule


def test_controls_page_lists_every_control_and_its_users(
    library: Any, pages: dict[str, str]
) -> None:
    text = pages["controls.md"]
    users: dict[str, set[str]] = {}
    for lr in library.rules:
        for m in lr.rule.mitigations:
            users.setdefault(m.control, set()).add(lr.rule.id)
    for cid in library.controls:
        assert f"`{cid}`: " in text, cid
        entry = text.split(f"`{cid}`: ", 1)[1].split("\n### ", 1)[0]
        assert "**Evidence.**" in entry and "**Used by.**" in entry
        for rid in users.get(cid, ()):
            assert f"[{rid}](threat-catalogue.md#{rid.lower()})" in entry


def test_markdown_escapes_library_text() -> None:
    assert gen_docs.md("a | b <script> `x`") == r"a \| b \<script\> \`x\`"
    assert gen_docs.natural("AML.T0051.001") > gen_docs.natural("AML.T0051")
    assert gen_docs.natural("CWE-79") < gen_docs.natural("CWE-200")


def test_check_mode_reports_stale_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_docs.main(["--out", str(tmp_path)]) == 0
    assert gen_docs.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "controls.md").write_text("old\n", encoding="utf-8")
    assert gen_docs.main(["--check", "--out", str(tmp_path)]) == 1
    assert "stale:" in capsys.readouterr().err
