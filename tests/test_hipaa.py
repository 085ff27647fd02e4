"""The HIPAA mapping: safeguard matrix, controls and rules per section, status per model, and
the rule that every rule about PHI cites HIPAA."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import builtin_library, model, rule

from threatgraph import graph as graph_mod
from threatgraph.engine.evaluate import evaluate
from threatgraph.features import hipaa


def test_matrix_has_every_family_in_order_without_headings() -> None:
    m = hipaa.matrix(builtin_library())
    assert [f for f, rows in m.items() if rows] == [f for f, _ in hipaa.SAFEGUARDS]
    ids = [s.id for rows in m.values() for s in rows]
    assert "164.308" not in ids and "164.312" not in ids  # Security Rule headings
    assert "164.502" in ids and "164.410" in ids  # Privacy and Breach sections are rows
    admin = [s.id for s in m["administrative"]]
    assert admin.index("164.308(a)(1)") < admin.index("164.308(a)(1)(ii)(A)")
    assert admin.index("164.308(a)(1)(ii)(D)") < admin.index("164.308(a)(3)")
    assert admin.index("164.308(a)(8)") < admin.index("164.308(b)(1)")
    assert {s.id for s in m["technical"]} >= {"164.312(b)", "164.312(e)(1)", "164.312(a)(2)(iv)"}


def test_sections_know_required_and_addressable() -> None:
    by_id = {s.id: s for s in hipaa.sections(builtin_library())}
    assert by_id["164.308(a)(1)(ii)(A)"].kind == "required"
    assert by_id["164.312(a)(2)(iv)"].kind == "addressable"
    assert by_id["164.312(a)(1)"].kind == "standard"


def test_controls_and_rules_count_for_the_standard_above_them() -> None:
    by_id = {s.id: s for s in hipaa.sections(builtin_library())}
    # infra.backup cites 164.308(a)(7)(ii)(A); it bears on the contingency-plan standard too.
    assert "infra.backup" in by_id["164.308(a)(7)(ii)(A)"].controls
    assert "infra.backup" in by_id["164.308(a)(7)"].controls
    assert "infra.backup" not in by_id["164.308(a)(8)"].controls
    assert "TG-VEN-001" in by_id["164.308(b)(1)"].rules
    assert "TG-HIPAA-004" in by_id["164.308(a)(1)(ii)(A)"].rules
    assert "TG-HIPAA-004" in by_id["164.308(a)(1)"].rules
    assert "vendor.contract_subcontractor_flowdown" in by_id["164.314(a)(2)(iii)"].controls


def test_assess_reports_evidenced_declared_and_none() -> None:
    m = model(
        {
            "model": {
                "name": "T",
                "controls": [{"id": "process.risk_analysis", "evidence": ["docs/sra.md"]}],
            },
            "data": [{"name": "Notes", "classification": "phi"}],
            "elements": [
                {
                    "kind": "datastore",
                    "name": "DB",
                    "stores": ["notes"],
                    "controls": ["infra.backup"],
                },
            ],
        }
    )
    g = graph_mod.build(m)
    fs = evaluate(g, builtin_library(), date(2026, 1, 15))
    status = {
        r.section.id: r
        for rows in hipaa.assess(builtin_library(), g, fs, date(2026, 1, 15)).values()
        for r in rows
    }
    assert status["164.308(a)(1)(ii)(A)"].status == "evidenced"
    assert status["164.308(a)(7)(ii)(A)"].status == "declared"
    assert status["164.310(b)"].status == "none"
    # The contingency-plan rule fires on the store: its open finding shows on the standard.
    assert "TG-HIPAA-003/db" in status["164.308(a)(7)"].open_findings


def test_declarations_follow_vendor_facts_on_the_day() -> None:
    m = model(
        {
            "elements": [
                {
                    "kind": "vendor",
                    "name": "V",
                    "vendor": {
                        "baa": {
                            "signed": "2025-01-01",
                            "expires": "2025-12-31",
                            "evidence": "baa.pdf",
                        }
                    },
                }
            ]
        }
    )
    g = graph_mod.build(m)
    before = hipaa.declarations(g, date(2025, 6, 1))
    after = hipaa.declarations(g, date(2026, 1, 15))
    assert before["vendor.baa"][0].evidence == ("baa.pdf",) and before["vendor.baa"][0].derived
    assert "vendor.baa" not in after


@pytest.mark.parametrize(
    ("match", "severity_when", "family", "expected"),
    [
        ({"element": {"handles": {"classification": ["phi"]}}}, [], "test", True),
        (
            {"element": {"kind": "llm"}},
            [{"if": {"stores": {"classification": "phi"}}, "severity": "critical"}],
            "test",
            True,
        ),
        ({"element": {"use": "sensitive-store"}}, [], "test", True),  # named predicate names phi
        ({"element": {"kind": "llm"}}, [], "vendor", True),
        ({"element": {"handles": {"sensitive": True}}}, [], "test", False),
        # Leaving PHI to another rule is not being about PHI.
        (
            {
                "element": {
                    "handles": {"sensitive": True},
                    "not": {"handles": {"classification": "phi"}},
                }
            },
            [],
            "test",
            False,
        ),
    ],
)
def test_touches_phi(
    match: dict[str, object], severity_when: list[object], family: str, expected: bool
) -> None:
    r = rule(match, severity_when=severity_when, family=family)
    assert hipaa.touches_phi(r, builtin_library().predicates) is expected


def test_vendor_and_hipaa_rules_cite_hipaa() -> None:
    mine = [lr.rule for lr in builtin_library().rules if lr.rule.family in ("vendor", "hipaa")]
    assert len(mine) >= 18
    assert [r.id for r in mine if not hipaa.cites_hipaa(r)] == []


def test_every_rule_about_phi_cites_hipaa() -> None:
    assert hipaa.phi_rules_without_hipaa(builtin_library()) == []


def _touches_ephi(g: graph_mod.Graph, elements: tuple[str, ...], flow: str | None) -> bool:
    """The finding sits on something that handles PHI: one of its elements, or its flow."""
    from threatgraph.model.schema import Classification

    if flow is not None and Classification.PHI in g.flows[flow].classes:
        return True
    return any(Classification.PHI in g.element_data(e) for e in elements if e in g.elements)


def test_every_finding_that_touches_ephi_cites_its_hipaa_section() -> None:
    # Finding by finding, over the reference models and every rule fixture: whatever rule
    # produced it, a finding on an element or flow that handles PHI names a HIPAA section.
    from pathlib import Path

    from threatgraph import pipeline

    root = Path(__file__).resolve().parents[1]
    models = sorted(p for p in (root / "models").iterdir() if p.suffix in (".py", ".yaml"))
    fixtures = sorted(
        p
        for p in (root / "threats" / "rules").rglob("*.yaml")
        if p.name.startswith(("positive", "negative"))
    )
    missing: set[tuple[str, str]] = set()
    touched = 0
    for paths, day in ((models, date(2026, 12, 1)), (fixtures, date(2026, 1, 15))):
        for res in pipeline.run(paths, as_of=day, library=builtin_library()).results:
            for f in res.findings:
                if not _touches_ephi(res.graph, f.elements, f.flow):
                    continue
                touched += 1
                if not hipaa.sections_cited(f.rule.references):
                    missing.add((f.threat, res.loaded.path.name))
    assert touched > 200  # the check looked at many findings, across families
    assert sorted(missing) == []
