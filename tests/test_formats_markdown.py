"""report.md and index.md: sections, checklists, references, escaping of model text."""

from __future__ import annotations

import json
import re

from report_support import ASSISTANT, HOSTILE, ROOT, render, text

from threatgraph.formats.markdown import code, escape, link


def test_escape_makes_model_text_literal() -> None:
    assert escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert escape("**b** _i_ `c` [l](u) | # $x$ ~s~") == (
        "\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\[l\\](u) \\| \\# \\$x\\$ \\~s\\~"
    )
    assert escape("a\\b") == "a\\\\b"
    assert escape("two\nlines\r\n") == "two lines"
    assert escape("&amp;") == "&amp;amp;"


def test_escape_replaces_each_character_once() -> None:
    """The replace chain equals a per-character mapping (no character escaped twice), with
    a backslash before a leading '-', '+', '=' or ':'."""
    import random

    table = {c: "\\" + c for c in "\\`*_[]#|~$"} | {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "@": "&#64;",
    }
    rng = random.Random(7)
    for _ in range(3000):
        s = "".join(rng.choice("ab-+=:@\\`*_[]#|~$&<>;") for _ in range(rng.randint(1, 14)))
        lead = "\\" if s[0] in "-+=:" else ""
        assert escape(s) == lead + "".join(table.get(c, c) for c in s), s


def test_code_and_link_helpers() -> None:
    assert code("TG-PI-001/llm") == "`TG-PI-001/llm`"
    assert code("a`b") == "a\\`b"
    assert code("a  b") == code(" a\u202eb\n") == "`a b`"
    assert code("") == code(" \n") == ""
    # A pipe ends a table cell even inside a code span: such text is escaped text instead.
    assert code("models/a|b.yaml:3") == "models/a\\|b.yaml:3"
    assert escape("::error::x") == "\\::error::x"
    assert escape("ping @security-team") == "ping &#64;security-team"
    assert link("x", "javascript:alert(1)") == "x"
    assert link("x", "https://e.org/a (b)") == "[x](https://e.org/a%20%28b%29)"


def _report() -> tuple[str, dict]:  # type: ignore[type-arg]
    files = render(ASSISTANT, formats=("markdown", "json"))
    doc = json.loads(text(files, "support-assistant/findings.json"))
    return text(files, "support-assistant/report.md"), doc


def test_report_sections_in_order() -> None:
    md, doc = _report()
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads[:4] == ["## Review summary", "## Summary", "## Data-flow diagram", heads[3]]
    assert heads[3].startswith("## Open findings (")
    assert heads[4].startswith("## Mitigated and accepted findings (")
    assert md.startswith("# Threat model: Support assistant\n")
    assert "- **As of:** 2026-06-01" in md
    s = doc["summary"]
    assert f"| open | {s['by_status']['open']} |" in md
    assert "| count | " + " | ".join(str(n) for n in s["open_by_severity"].values()) in md
    assert "```mermaid\nflowchart LR\n" in md


_SEV = ["critical", "high", "medium", "low", "info"]
_RULE_HEAD = re.compile(r"^### (\w+): (.+) · `([\w-]+)` · (\d+) open findings?$", re.M)
_FINDING_HEAD = re.compile(r"^#### (\d+)\. (\w+): `([^`]+)`$", re.M)


def _grouped(opened: list[dict]) -> list[tuple[str, list[dict]]]:  # type: ignore[type-arg]
    """Open findings by rule: worst rule first (then rule id), each group in document order."""
    groups: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for f in opened:
        groups.setdefault(f["threat"], []).append(f)
    worst = {t: min(_SEV.index(f["severity"]) for f in fs) for t, fs in groups.items()}
    return sorted(groups.items(), key=lambda kv: (worst[kv[0]], kv[0]))


def test_open_findings_are_grouped_by_threat_worst_first() -> None:
    md, doc = _report()
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    expected = _grouped(opened)
    heads = _RULE_HEAD.findall(md)
    assert [(t, int(n)) for _, _, t, n in heads] == [(t, len(fs)) for t, fs in expected]
    for (sev, title, _, _), (_, fs) in zip(heads, expected, strict=True):
        assert sev.lower() == fs[0]["severity"]
        assert title == escape(fs[0]["title"])
    # each finding once, numbered 1..n down the page, in its rule's group
    found = _FINDING_HEAD.findall(md)
    order = [f for _, fs in expected for f in fs]
    assert [int(n) for n, _, _ in found] == list(range(1, len(opened) + 1))
    assert [fid for _, _, fid in found] == [f["id"] for f in order]
    assert [sev.lower() for _, sev, _ in found] == [f["severity"] for f in order]
    # every finding sits below its own rule's heading
    for f in order:
        at = md.index(f"`{f['id']}`\n")
        assert md.rfind(f"`{f['threat']}` · ", 0, at) > md.rfind("\n### ", 0, at) > 0


def test_rule_text_is_written_once_per_threat() -> None:
    md, doc = _report()
    rules = {f["threat"] for f in doc["findings"] if f["status"] == "open"}
    assert md.count("<summary>About this threat</summary>") == len(rules)
    assert doc["summary"]["by_status"]["open"] > len(rules)  # some rule has several findings
    # TG-RPT-004 has open findings on seven elements: its text is written once
    assert sum(f["threat"] == "TG-RPT-004" for f in doc["findings"] if f["status"] == "open") > 1
    assert md.count("every element gets an informational finding") == 1
    assert md.count("*Known false positives:* None; it is a test rule.") == len(
        rules & {"TG-RPT-001", "TG-RPT-002", "TG-RPT-003", "TG-RPT-004"}
    )


def _block(md: str, start: str) -> str:
    """From a line to the next heading."""
    i = md.index(start)
    j = md.find("\n#", i + len(start))
    return md[i : j if j >= 0 else len(md)]


def test_each_open_finding_has_where_why_and_its_own_checklist() -> None:
    md, doc = _report()
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    item = re.compile(r"^- \[([x ])\] `([^`]+)`: (declared on|declare it on) (.+)$", re.M)
    for f in opened:
        block = _block(md, f"`{f['id']}`\n")
        assert "\n- **Where:** " in block and "\n- **Why it applies:** " in block
        items = item.findall(block)
        assert [(box, ctl, on) for box, ctl, on, _ in items] == [
            (
                "x" if m["present"] else " ",
                m["control"],
                "declared on" if m["present"] else "declare it on",
            )
            for m in f["mitigations"]
        ]
    rpt = next(f for f in opened if f["id"] == "TG-RPT-001/llm")
    block = _block(md, "`TG-RPT-001/llm`\n")
    assert "- **Where:** Hosted LLM («LLM») at tests/fixtures/report/assistant.yaml:" in block
    assert "- [ ] `guardrail.input_filter`: declare it on Hosted LLM\n" in block
    assert rpt["location"]["line"] > 0


def test_each_threat_has_likelihood_stride_controls_and_references() -> None:
    md, _ = _report()
    section = _block(md, "### High: Test rule for LLMs and agents with too few guardrails")
    assert "`TG-RPT-001` · 2 open findings" in section
    assert "- **Likelihood:** medium · **STRIDE:** tampering" in section
    assert "<details><summary>About this threat</summary>" in section
    assert "*Known false positives:* None; it is a test rule." in section
    assert "**Mitigations** (2 of these 3 controls close the finding;" in section
    assert (
        "- **Output guardrail** (`guardrail.output_filter`): Screen what the model says. "
        "*What it means:* " in section
    )
    assert "[OWASP LLM LLM01 (2025): Prompt Injection](https://genai.owasp.org/" in section
    assert "[CWE-1427 (4.16): " in section


def test_mixed_severities_of_one_rule_stay_together() -> None:
    """A rule ranks by its worst open finding; its findings follow in severity, id order."""
    from datetime import date

    from helpers import findings, model, rule

    from threatgraph import graph as graph_mod
    from threatgraph.engine.library import load_library
    from threatgraph.formats.base import Diagrams, ReportInput
    from threatgraph.formats.markdown import render_markdown
    from threatgraph.formats.view import ModelView

    m = model(
        {
            "elements": [
                {"kind": "llm", "name": "Big LLM"},
                {"kind": "agent", "name": "Agent"},
                {"kind": "llm", "name": "Small LLM"},
            ]
        }
    )
    a = rule(
        {"element": {"kind": ["llm", "agent"]}},
        id="TG-TEST-002",
        severity="high",
        severity_when=[{"if": {"kind": "agent"}, "severity": "low"}],
    )
    b = rule({"element": {"kind": ["llm", "agent"]}}, id="TG-TEST-001", severity="medium")
    fs = findings(m, a, b)
    view = ModelView.build(
        graph_mod.build(m), fs, load_library(), date(2026, 6, 1), "high", "test.yaml"
    )
    md = render_markdown(ReportInput(view, Diagrams("", [], []), None, None, ROOT))
    assert [t for _, _, t, _ in _RULE_HEAD.findall(md)] == ["TG-TEST-002", "TG-TEST-001"]
    assert _FINDING_HEAD.findall(md) == [
        ("1", "High", "TG-TEST-002/big-llm"),
        ("2", "High", "TG-TEST-002/small-llm"),
        ("3", "Low", "TG-TEST-002/agent"),
        ("4", "Medium", "TG-TEST-001/agent"),
        ("5", "Medium", "TG-TEST-001/big-llm"),
        ("6", "Medium", "TG-TEST-001/small-llm"),
    ]


def test_present_controls_are_ticked_with_where() -> None:
    md, _ = _report()
    assert "- [x] `guardrail.input_filter`: declared on Support agent\n" in md
    assert (
        "- **Input guardrail (injection and policy filter)** (`guardrail.input_filter`): "
        "Screen what reaches the model. *What it means:* " in md
    )


def test_closed_findings_in_one_table() -> None:
    md, doc = _report()
    closed = [f for f in doc["findings"] if f["status"] != "open"]
    table = md[md.index("## Mitigated and accepted findings") :]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(rows) == len(closed)
    assert (
        "| critical | `TG-RPT-003` Test rule for actors reaching a datastore | Customer DB "
        "(tests/fixtures/report/assistant.yaml:27) | accepted by security&#64;example.org until "
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


def test_checklist_words_are_memoised_without_mixing_findings() -> None:
    """checklist_where shares words between findings only when the words are the same."""
    import sys
    from datetime import date

    from report_support import analyse

    from threatgraph.formats.view import ModelView

    sys.path.insert(0, str(ROOT / "bench"))
    import generate  # the synthetic estate: many flows, paths and places per element

    from threatgraph import graph as graph_mod
    from threatgraph.engine.evaluate import evaluate
    from threatgraph.engine.library import load_library
    from threatgraph.load.declarative import parse_model
    from threatgraph.model.validate import finalize

    lib = load_library()
    m = finalize(parse_model(generate.estate(60, 3), "estate.json"), lib.controls.keys())
    g = graph_mod.build(m)
    runs = [(g, evaluate(g, lib, date(2026, 6, 1)), lib)]
    r = analyse(ASSISTANT).results[0]
    runs.append((r.graph, r.findings, analyse(ASSISTANT).library))
    # two path rules with a control 'at: source' reach the same store from different sources
    from helpers import findings, library, model, rule

    two = model(
        {
            "elements": [
                {"kind": "actor", "name": "Person"},
                {"kind": "external_content", "name": "Web page"},
                {"kind": "app", "name": "App"},
                {"kind": "datastore", "name": "Store"},
            ],
            "flows": [
                {"from": "person", "to": "app"},
                {"from": "web-page", "to": "app"},
                {"from": "app", "to": "store"},
            ],
        }
    )
    at_source = [{"control": "input.validation", "at": ["source"]}]
    rules = [
        rule({"path": {"from": {"kind": k}, "to": {"kind": "datastore"}}}, at_source, id=i)
        for k, i in (("actor", "TG-TEST-001"), ("external_content", "TG-TEST-002"))
    ]
    fs2 = findings(two, *rules)
    assert len({f.path[0] for f in fs2}) == 2
    runs.append((graph_mod.build(two), fs2, library(*rules)))
    for graph, fs, lib_ in runs:
        shared = ModelView.build(graph, fs, lib_, date(2026, 6, 1), "high", "x")
        for f in shared.findings:
            alone = ModelView.build(graph, [f], lib_, date(2026, 6, 1), "high", "x")
            expected = [
                alone.declared_text(f, c.where) if c.present else alone.places_text(f, c.places)
                for c in f.checklist
            ]
            assert shared.checklist_where(f) == expected, f.id


def test_review_summary_comes_first_with_each_findings_best_control() -> None:
    from test_formats_dot import _view

    md, _doc = _report()
    view = _view(ASSISTANT)
    review = md[md.index("## Review summary") : md.index("## Summary")]
    opened = view.open_findings()
    assert opened
    assert f"**{len(opened)} open finding" in review
    impact = view.control_impact()
    for f in opened[:15]:
        best = view.best_control(f)
        assert best is not None
        missing = sorted({c.control for c in f.checklist if not c.present})
        # the definition: most open findings closed alone, then missing from most, then id
        assert best == min(missing, key=lambda c: (-impact[c][0], -impact[c][1], c))
        row = next(
            ln
            for ln in review.splitlines()
            if f"`{f.rule.id}`" in ln and view.name(f.element) in ln
        )
        assert f"`{best}`" in row
    for e, _counts in view.risk_elements():
        assert view.name(e) in review
    # the review is short: one screen, whatever the number of findings
    assert len(review.splitlines()) <= 40


def test_control_impact_counts_what_one_control_closes() -> None:
    from test_formats_dot import _view

    view = _view(ASSISTANT)
    impact = view.control_impact()
    for control, (closes, missing) in impact.items():
        assert 0 <= closes <= missing
        hit = [
            f
            for f in view.open_findings()
            if any(c.control == control and not c.present for c in f.checklist)
        ]
        assert len(hit) == missing
        any_rules = [f for f in hit if f.rule.mitigated_when == "any"]
        assert closes >= len(any_rules)  # one control of an "any" rule always closes it
    top = view.top_controls()
    assert top == sorted(top, key=lambda t: (-t[1], -t[2], t[0]))
    ranks = [
        tuple(-counts.get(s, 0) for s in ("critical", "high", "medium", "low", "info"))
        for _e, counts in view.risk_elements()
    ]
    assert ranks == sorted(ranks)
