"""report.md and index.md: sections, checklists, references, escaping of model text."""

from __future__ import annotations

import json
import re

from report_support import ASSISTANT, HOSTILE, render, text

from threatgraph.formats.markdown import code, escape, link


def test_escape_makes_model_text_literal() -> None:
    assert escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert escape("**b** _i_ `c` [l](u) | # $x$ ~s~") == (
        "\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\[l\\](u) \\| \\# \\$x\\$ \\~s\\~"
    )
    assert escape("a\\b") == "a\\\\b"
    assert escape("two\nlines\r\n") == "two lines"
    assert escape("&amp;") == "&amp;amp;"


def test_code_and_link_helpers() -> None:
    assert code("TG-PI-001/llm") == "`TG-PI-001/llm`"
    assert code("a`b") == "a\\`b"
    assert link("x", "javascript:alert(1)") == "x"
    assert link("x", "https://e.org/a (b)") == "[x](https://e.org/a%20%28b%29)"


def _report() -> tuple[str, dict]:  # type: ignore[type-arg]
    files = render(ASSISTANT, formats=("markdown", "json"))
    doc = json.loads(text(files, "support-assistant/findings.json"))
    return text(files, "support-assistant/report.md"), doc


def test_report_sections_in_order() -> None:
    md, doc = _report()
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads[:3] == ["## Summary", "## Data-flow diagram", heads[2]]
    assert heads[2].startswith("## Open findings (")
    assert heads[3].startswith("## Mitigated and accepted findings (")
    assert md.startswith("# Threat model: Support assistant\n")
    assert "- **As of:** 2026-06-01" in md
    s = doc["summary"]
    assert f"| open | {s['by_status']['open']} |" in md
    assert "| count | " + " | ".join(str(n) for n in s["open_by_severity"].values()) in md
    assert "```mermaid\nflowchart LR\n" in md


def test_each_open_finding_has_where_why_checklist_and_references() -> None:
    md, doc = _report()
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    headings = re.findall(r"^### \d+\. (\w+): (.+)$", md, flags=re.M)
    assert len(headings) == len(opened)
    for f, (sev, title) in zip(opened, headings, strict=True):
        assert sev.lower() == f["severity"]
        assert title == escape(f["title"])
        assert f"- **Finding id:** `{f['id']}`" in md
    rpt = next(f for f in opened if f["id"] == "TG-RPT-001/llm")
    block = md[md.index("`TG-RPT-001/llm`") - 600 : md.index("`TG-RPT-001/llm`") + 3000]
    assert "- **Where:** Hosted LLM («LLM») at tests/fixtures/report/assistant.yaml:" in block
    assert "(2 of these 3 controls close the finding)" in block
    assert "- [ ] **" in block and "(`guardrail.input_filter`)" in block
    assert "*Declare it on* Hosted LLM." in block
    assert "[OWASP LLM LLM01 (2025): Prompt Injection](https://genai.owasp.org/" in block
    assert "[CWE-1427 (4.16): " in block
    assert rpt["location"]["line"] > 0


def test_present_controls_are_ticked_with_where() -> None:
    md, _ = _report()
    assert (
        "- [x] **Input guardrail (injection and policy filter)** (`guardrail.input_filter`): "
        "Screen what reaches the model. *Declared on* Support agent." in md
    )


def test_closed_findings_in_one_table() -> None:
    md, doc = _report()
    closed = [f for f in doc["findings"] if f["status"] != "open"]
    table = md[md.index("## Mitigated and accepted findings") :]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(rows) == len(closed)
    assert (
        "| critical | `TG-RPT-003` Test rule for actors reaching a datastore | Customer DB "
        "(tests/fixtures/report/assistant.yaml:27) | accepted by security@example.org until "
        "2027-03-01 | The vault is reachable only through the order lookup tool, reviewed in "
        "SEC-12. · ticket SEC-12 |" in table
    )
    assert "| false positive | The vendor is not ours to log. |" in table
    assert "| mitigated | controls present: Security audit logging (`audit.logging`) |" in table
    assert "`TG-RPT-001` Test rule" not in table  # 1 of the 2 needed: still open


def test_path_findings_show_the_path() -> None:
    md, _ = _report()
    assert "- **Flow:** Support web app → Prompt shield (flow 'raw prompt')" in md


def test_hostile_markdown_has_no_live_markup() -> None:
    md = text(render(HOSTILE, formats=("markdown",)), "hostile/report.md")
    outside_fences = re.sub(r"```mermaid\n.*?\n```", "", md, flags=re.S)
    assert "<script" not in outside_fences and "<img" not in outside_fences
    assert "<iframe" not in outside_fences and "<svg" not in outside_fences
    assert "<style" not in outside_fences
    allowed_html = {"<details>", "<summary>", "</summary>", "</details>"}
    tags = set(re.findall(r"</?[a-zA-Z][^>]*>", outside_fences))
    assert tags <= allowed_html, tags - allowed_html
    # no unescaped link or image syntax from model text
    assert "](javascript:" not in outside_fences.replace("\\](javascript:", "")
    assert md.count("```") == 2  # the mermaid fence only: nothing from the model closed it
    for line in outside_fences.splitlines():
        # every line from model text is one table row, list item, heading or paragraph
        assert "\r" not in line and "\t" not in line


def test_every_mitigation_place_has_words() -> None:
    """Each place a rule may name is explained in the 'declare it on' text."""
    from datetime import date
    from typing import get_args

    from helpers import findings, model, rule

    from threatgraph import graph as graph_mod
    from threatgraph.engine.library import load_library
    from threatgraph.engine.rules import Place
    from threatgraph.formats.view import ModelView

    m = model(
        {
            "elements": [
                {"kind": "vendor", "name": "Acme"},
                {"kind": "app", "name": "App"},
                {"kind": "llm", "name": "LLM", "provider": "acme"},
            ],
            "flows": [
                {"from": "app", "to": "llm", "name": "prompt"},
                {"from": "llm", "to": "app", "name": "answer"},
            ],
        }
    )
    f = findings(m, rule({"flow": {"target": {"kind": "llm"}}}, [{"control": "crypto.tls"}]))[0]
    view = ModelView.build(
        graph_mod.build(m), [f], load_library(), date(2026, 6, 1), "high", "test.yaml"
    )
    for place in get_args(Place):
        assert view.places_text(f, (place,)), place
