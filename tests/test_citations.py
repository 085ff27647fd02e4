"""Citations in the threat library: per-citation rationales (validated on load, required by
lint for ATLAS and OWASP), per-entry editions, and coverage counted only through rules a
positive fixture proves."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import library as library_of
from helpers import rule
from pydantic import ValidationError

from threatgraph.cli import cli
from threatgraph.engine.library import Library, LoadedRule
from threatgraph.features.coverage import demonstrated
from threatgraph.features.lint import lint, rationale_problems, reference_exists

ROOT = Path(__file__).resolve().parents[1]
MATCH = {"element": {"kind": "llm"}}


def _gen_docs() -> ModuleType:
    from test_docs_generated import gen_docs  # tools/gen_docs.py, loaded once for both files

    return gen_docs


# -- the rationale field -------------------------------------------------------------------
def test_rationale_for_an_uncited_reference_is_a_validation_error() -> None:
    with pytest.raises(
        ValidationError, match=re.escape("atlas:AML.T0054@5.6.0, which the rule does not")
    ):
        rule(
            MATCH,
            references=["owasp-llm:LLM01@2025"],
            rationale={
                "owasp-llm:LLM01@2025": "Users type instructions straight into the model.",
                "atlas:AML.T0054@5.6.0": "Jailbreaks are how users make the model misbehave.",
            },
        )


def test_rationale_key_must_match_the_reference_exactly() -> None:
    # Same entry, other edition: a rationale written for another citation.
    with pytest.raises(ValidationError, match="does not cite"):
        rule(
            MATCH,
            references=["owasp-llm:LLM01@2025"],
            rationale={"owasp-llm:LLM01@2023": "Users type instructions straight into the model."},
        )


@pytest.mark.parametrize("why", ["too short", "one line\nand another line of text here"])
def test_rationale_must_be_one_useful_line(why: str) -> None:
    with pytest.raises(ValidationError, match="must be one line of at least"):
        rule(MATCH, references=["owasp-llm:LLM01@2025"], rationale={"owasp-llm:LLM01@2025": why})


def _rationale_messages(lib: Library) -> list[str]:
    return [p.message for p in lint(lib, fixtures=False) if p.field == "rationale"]


def test_lint_requires_a_rationale_for_atlas_and_owasp_citations() -> None:
    bare = rule(
        MATCH,
        references=[
            "atlas:AML.T0051.000@5.6.0",
            "owasp-llm:LLM01@2025",
            "owasp-ml:ML01@2023",
            "owasp-asi:ASI01@2026",
            "cwe:CWE-1427@4.16",
            "nist-aml:NISTAML.018@e2025",
            "saif:prompt-injection@2024",
            "hipaa:164.312(b)@2013",
        ],
    )
    msgs = _rationale_messages(library_of(bare))
    assert len(msgs) == 4, msgs
    for ref in ("atlas:AML.T0051.000", "owasp-llm:LLM01", "owasp-ml:ML01", "owasp-asi:ASI01"):
        assert any(m.startswith(f"reference {ref}@") and "no rationale" in m for m in msgs), ref


def test_lint_is_satisfied_once_every_required_citation_is_explained() -> None:
    refs = ["atlas:AML.T0051.000@5.6.0", "owasp-llm:LLM01@2025", "cwe:CWE-1427@4.16"]
    explained = rule(
        MATCH,
        references=refs,
        rationale={
            "atlas:AML.T0051.000@5.6.0": "The person typing is the attacker: direct injection.",
            "owasp-llm:LLM01@2025": "User text overriding the system prompt is prompt injection.",
        },
    )
    assert _rationale_messages(library_of(explained)) == []


def test_lint_names_the_line_of_the_unexplained_reference(library: Library) -> None:
    lr = library.rule("TG-PI-001")
    text = lr.path.read_text(encoding="utf-8")
    stripped = LoadedRule(
        rule=lr.rule.model_copy(update={"rationale": {}}),
        path=lr.path,
        builtin=True,
    )
    problems = rationale_problems(stripped)
    assert problems, "TG-PI-001 cites ATLAS and OWASP entries"
    lines = text.splitlines()
    for p in problems:
        ref = p.message.split()[1]
        assert lines[p.line - 1].strip() == f"- {ref}", (p.line, ref)


def test_every_builtin_rule_explains_its_atlas_and_owasp_citations(library: Library) -> None:
    missing = [str(p) for lr in library.rules for p in rationale_problems(lr)]
    assert missing == []


# Citations the review of issue 18 found to mean something other than the rule's threat.
WRONG = [
    ("TG-VEN-004", "saif:shadow-agents"),
    *((f"TG-VEN-{n:03d}", "owasp-asi:ASI04") for n in range(1, 13)),
    ("TG-AG-011", "atlas:AML.T0108@"),
    ("TG-AG-007", "atlas:AML.T0110@"),
    ("TG-SEC-008", "cwe:CWE-1426@"),
    ("TG-PI-005", "nist-aml:NISTAML.018@"),
    ("TG-DOS-002", "owasp-asi:ASI08@"),
    ("TG-EVA-005", "owasp-ml:ML01@"),
    ("TG-VEN-010", "owasp-llm:LLM09@"),
    ("TG-HIPAA-006", "atlas:AML.T0035@"),
    ("TG-EVA-004", "cwe:CWE-319@"),
    ("TG-SEC-007", "atlas:AML.T0085.000@"),
    ("TG-MIS-001", "hipaa:164.308(a)(5)"),
]


@pytest.mark.parametrize(("rule_id", "prefix"), WRONG)
def test_wrong_meaning_citations_stay_out(library: Library, rule_id: str, prefix: str) -> None:
    refs = library.rule(rule_id).rule.references
    assert not [r for r in refs if r.startswith(prefix)], refs


# Techniques the rules describe, which the review added.
ADDED = [
    ("TG-AG-014", "atlas:AML.T0086@5.6.0"),
    ("TG-PI-003", "atlas:AML.T0086@5.6.0"),
    ("TG-THEFT-003", "atlas:AML.T0035@5.6.0"),
    ("TG-POI-008", "atlas:AML.T0010.002@5.6.0"),
    ("TG-POI-004", "atlas:AML.T0059@5.6.0"),
    ("TG-AG-011", "atlas:AML.T0081@5.6.0"),
]


@pytest.mark.parametrize(("rule_id", "ref"), ADDED)
def test_described_techniques_are_cited(library: Library, rule_id: str, ref: str) -> None:
    assert ref in library.rule(rule_id).rule.references


# -- editions ------------------------------------------------------------------------------
def test_cosai_additions_are_pinned_to_2025_and_saif_originals_to_2024(library: Library) -> None:
    index = library.references
    assert reference_exists("saif:shadow-agents@2025", index) is None
    assert "must be '2025'" in (reference_exists("saif:shadow-agents@2024", index) or "")
    assert reference_exists("saif:data-poisoning@2024", index) is None
    assert "must be '2024'" in (reference_exists("saif:data-poisoning@2025", index) or "")


def test_no_rule_or_control_pins_a_cosai_risk_to_2024(library: Library) -> None:
    saif = library.references["entries"]["saif"]
    cosai = {rid for rid, e in saif.items() if e.get("origin") == "cosai"}
    refs = [r for lr in library.rules for r in lr.rule.references]
    refs += [r for c in library.controls.values() for r in c.references]
    stale = [r for r in refs if r.startswith("saif:") and r[5:].split("@")[0] in cosai]
    assert stale and all(r.endswith("@2025") for r in stale), stale


def test_nist_citations_use_the_reports_own_ids(library: Library) -> None:
    index = library.references
    assert reference_exists("nist-aml:NISTAML.015@e2025", index) is None
    why = reference_exists("nist-aml:genai.indirect-prompt-injection@e2025", index) or ""
    assert "NISTAML" in why
    nist = [r for lr in library.rules for r in lr.rule.references if r.startswith("nist-aml:")]
    assert nist
    for ref in nist:
        rid = ref.split(":", 1)[1].split("@")[0]
        assert rid.startswith("NISTAML.0") or rid == "genai.agent-security", ref


# -- coverage through proven rules ---------------------------------------------------------
def test_every_builtin_rule_is_proven_by_a_positive_fixture(library: Library) -> None:
    assert demonstrated(library) == {lr.rule.id for lr in library.rules}


def test_a_rule_whose_positive_fixtures_do_not_fire_is_not_proven(library: Library) -> None:
    lr = library.rule("TG-AG-008")
    # Its negative fixtures stand in for positives: they load, but the rule finds nothing open.
    fake = dataclasses.replace(lr, positives=list(lr.negatives))
    lib = dataclasses.replace(
        library, rules=[fake if r.rule.id == "TG-AG-008" else r for r in library.rules]
    )
    proven = demonstrated(lib)
    assert "TG-AG-008" not in proven
    assert "TG-AG-009" in proven


def test_coverage_matrix_counts_only_proven_rules(library: Library) -> None:
    gen_docs = _gen_docs()
    all_rules = frozenset(lr.rule.id for lr in library.rules)
    full = gen_docs.render_coverage(library, all_rules)
    assert "Agentic Applications 2026](#owasp-asi) | 10 of 10 |" in full
    # Without the proof of every rule citing ASI07, the category is uncovered.
    citing = sorted(
        lr.rule.id
        for lr in library.rules
        if any(r.startswith("owasp-asi:ASI07@") for r in lr.rule.references)
    )
    assert "TG-AG-008" in citing
    part = gen_docs.render_coverage(library, all_rules - set(citing))
    assert "Agentic Applications 2026](#owasp-asi) | 9 of 10 |" in part
    asi07 = next(line for line in part.splitlines() if line.startswith("| [ASI07]"))
    assert asi07.endswith("| - |"), asi07
    assert "no positive fixture makes them fire: [" in part and "TG-AG-008" in part


def test_asi04_is_not_covered_through_vendor_checks(library: Library) -> None:
    page = _gen_docs().render_coverage(library, frozenset(lr.rule.id for lr in library.rules))
    asi04 = next(line for line in page.splitlines() if line.startswith("| [ASI04]"))
    assert "TG-AG-014" in asi04 and "TG-VEN-" not in asi04


# -- showing rationales --------------------------------------------------------------------
def test_threats_show_prints_each_rationale_under_its_reference(library: Library) -> None:
    lr = library.rule("TG-PI-003")
    res = CliRunner().invoke(cli, ["threats", "show", "TG-PI-003"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    for ref, why in lr.rule.rationale.items():
        i = next(n for n, line in enumerate(lines) if line.startswith(f"  - {ref}"))
        assert lines[i + 1].strip() == why
    res = CliRunner().invoke(cli, ["threats", "show", "TG-PI-003", "--format", "json"])
    data: dict[str, Any] = json.loads(res.output)
    assert data["rationale"] == lr.rule.rationale


def test_catalogue_shows_the_rationale_after_the_reference(library: Library) -> None:
    page = _gen_docs().render_catalogue(library)
    why = library.rule("TG-AG-007").rule.rationale["saif:mcp-transport-hijacking@2025"]
    assert f"): {why}" in page
