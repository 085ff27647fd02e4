"""Any text a model can hold: a model that `check` accepts renders everywhere.

Text fields are drawn from every code point, lone surrogates included (JSON writes them as
``\\ud800`` escapes, a Python model as string literals). Either the model is refused with an
input error naming the file and a line, or every report format, the SRA, the test plan, the
coverage report, the text report and the OTM export render it, and every output encodes as
UTF-8 (a lone surrogate that got through would fail there).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from helpers import builtin_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.features import testplan
from threatgraph.features.coverage import run_coverage
from threatgraph.features.sra import build
from threatgraph.features.sra import html as sra_html
from threatgraph.features.sra import markdown as sra_md
from threatgraph.formats.reportset import render_reports
from threatgraph.formats.text import render_text
from threatgraph.interop import otm_export
from threatgraph.pipeline import run
from threatgraph.reports import coverage as coverage_report
from threatgraph.reports import testplan as testplan_report
from threatgraph.util.errors import InputError

DAY = date(2026, 6, 1)
FORMATS = ["markdown", "html", "json", "sarif", "csv", "dot", "mermaid"]

#: Every code point, surrogates included (hypothesis leaves category Cs out by default).
any_char = st.characters(codec=None, exclude_categories=())
valid = st.text(st.characters(codec=None), max_size=12)
surrogate = st.one_of(
    st.text(any_char, min_size=1, max_size=12),
    st.sampled_from(["\ud800", "a\udfffb", "\ude00\ud83d", "\ud83d\ude00", "\x1b[31m\u202e::x"]),
)


@st.composite
def texts(draw: st.DrawFn) -> list[str]:
    """Ten texts from every code point but surrogates; about half the time one of them is
    replaced by text that may hold a lone surrogate (so both outcomes are well tested)."""
    t = draw(st.lists(valid, min_size=10, max_size=10))
    if draw(st.booleans()):
        t[draw(st.integers(0, 9))] = draw(surrogate)
    return t


def _doc(t: list[str]) -> dict[str, Any]:
    return {
        "threatgraph": 1,
        "model": {"id": "m", "name": t[0] if t[0].strip() else "m", "description": t[1]},
        "boundaries": [{"id": "cloud", "name": "Cloud", "trust": "third_party"}],
        "data": [{"id": "notes", "name": "Notes", "classification": "phi", "description": t[2]}],
        "elements": [
            {"id": "user", "name": "User", "kind": "actor", "owner": t[3]},
            {"id": "app", "name": "App", "kind": "app", "description": t[4]},
            {"id": "llm", "name": "LLM", "kind": "llm", "boundary": "cloud", "owner": t[5]},
        ],
        "flows": [
            {"from": "user", "to": "app", "data": ["notes"], "protocol": t[6]},
            {"from": "app", "to": "llm", "data": ["notes"], "description": t[7]},
        ],
        "decisions": [
            {
                "finding": "TG-PI-001/llm",
                "status": "accepted",
                "reason": t[8] if t[8].strip() else "r",
                "owner": t[9],
                "date": "2026-01-10",
                "expires": "2026-06-30",
            }
        ],
    }


def _renders_everywhere(path: Path) -> None:
    try:
        r = run([str(path)], as_of=DAY, library=builtin_library())
    except InputError as exc:
        for p in exc.problems:
            assert p.file == str(path) and p.line > 0, p
            str(p).encode("utf-8")
        return
    res = r.results[0]
    outputs: list[str] = [render_text(r)]
    with mock.patch("threatgraph.formats.render.find_renderer", return_value=None):
        files, _ = render_reports(r, Path("/nonexistent-report-dir"), FORMATS)
    outputs += [c if isinstance(c, str) else c.decode("utf-8") for c in files.values()]
    doc = build(res, builtin_library(), DAY)
    outputs += [sra_md.render(doc), sra_html.render(doc)]
    outputs.append(otm_export.dumps(otm_export.document(res.loaded.model, res.findings)))
    plan = testplan.plan(r)
    outputs += [testplan_report.render_markdown(plan), json.dumps(testplan_report.document(plan))]
    outputs += [
        coverage_report.render_markdown(run_coverage(r)),
        json.dumps(coverage_report.document(run_coverage(r))),
    ]
    for out in outputs:
        out.encode("utf-8")


_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(t=texts())
def test_a_json_model_check_accepts_renders_everywhere(tmp_path: Path, t: list[str]) -> None:
    path = tmp_path / "any.json"
    path.write_text(json.dumps(_doc(t), indent=1))  # ensure_ascii: surrogates as escapes
    _renders_everywhere(path)


@_SETTINGS
@given(t=texts())
def test_a_python_model_check_accepts_renders_everywhere(tmp_path: Path, t: list[str]) -> None:
    path = tmp_path / "any_model.py"
    path.write_text(
        "from threatgraph import Model\n"
        f"m = Model({t[0]!r} if {t[0]!r}.strip() else 'm', description={t[1]!r})\n"
        f"user = m.actor('User', owner={t[3]!r})\n"
        f"app = m.app('App', description={t[4]!r})\n"
        f"llm = m.llm('LLM', owner={t[5]!r})\n"
        f"m.flow(user, app, protocol={t[6]!r})\n"
        f"m.flow(app, llm, description={t[7]!r})\n",
        encoding="utf-8",
    )
    _renders_everywhere(path)
