"""Checklists leave out controls that cannot be declared where the rule looks for them,
without changing what closes a finding (threatgraph.engine.applicable)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from helpers import builtin_library, library, model, rule

from threatgraph import graph as graph_mod
from threatgraph.engine import applicable
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import Finding, still_needed
from threatgraph.engine.library import Library
from threatgraph.features.lint import lint
from threatgraph.formats.text import missing_text

DAY = date(2026, 6, 1)

#: A store and an app that both handle personal data, logging nothing: TG-SEC-005 finds both.
DOC: dict[str, Any] = {
    "boundaries": [{"name": "Corp", "trust": "internal"}],
    "data": [{"name": "Claims", "classification": "pii"}],
    "elements": [
        {"kind": "app", "name": "Claims app", "boundary": "corp"},
        {"kind": "datastore", "name": "Claims db", "boundary": "corp", "stores": ["claims"]},
    ],
    "flows": [
        {"from": "claims-app", "to": "claims-db", "name": "q", "operation": "read"}
        | {"data": ["claims"]}
    ],
}


def _run(doc: dict[str, Any], lib: Library, rule_id: str) -> dict[str, Finding]:
    # evaluate() gives the checklists trimmed, as every command reports them.
    g = graph_mod.build(model(doc))
    return {f.element: f for f in evaluate(g, lib, DAY) if f.rule.id == rule_id}


def _controls(f: Finding) -> list[str]:
    return [c.control for c in f.checklist]


def test_prompt_logging_is_not_offered_to_a_store() -> None:
    lib = builtin_library()
    got = _run(DOC, lib, "TG-SEC-005")
    assert _controls(got["claims-app"]) == ["audit.logging", "audit.prompt_logging"]
    assert _controls(got["claims-db"]) == ["audit.logging"]
    assert still_needed(got["claims-db"].rule, got["claims-db"].checklist).missing == (
        ("audit.logging",),
    )
    assert missing_text(got["claims-db"]) == "missing: audit.logging"
    assert {f.status for f in got.values()} == {"open"}


def test_what_closes_a_finding_is_unchanged() -> None:
    lib = builtin_library()
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    doc["elements"][1]["controls"] = ["audit.logging"]
    db = _run(doc, lib, "TG-SEC-005")["claims-db"]
    assert db.status == "mitigated" and _controls(db) == ["audit.logging"]
    # Declared where the catalogue says it cannot be (a warning when the model is checked):
    # it stays on the list, present, and counts as before.
    doc["elements"][1]["controls"] = ["audit.prompt_logging"]
    db = _run(doc, lib, "TG-SEC-005")["claims-db"]
    assert db.status == "mitigated"
    assert [(c.control, c.present) for c in db.checklist] == [
        ("audit.logging", False),
        ("audit.prompt_logging", True),
    ]


def test_a_required_control_that_cannot_apply_keeps_the_list_and_says_so() -> None:
    needs_prompt_logs = rule(
        {"element": {"kind": ["datastore", "app"]}},
        [{"control": "audit.logging"}, {"control": "audit.prompt_logging"}],
    )
    lib = library(needs_prompt_logs)
    got = _run(DOC, lib, "TG-TEST-001")
    db, app = got["claims-db"], got["claims-app"]
    assert _controls(db) == ["audit.logging", "audit.prompt_logging"]
    unclosable = [n for n in db.notes if n.startswith(applicable.UNCLOSABLE)]
    assert len(unclosable) == 1
    assert "audit.prompt_logging" in unclosable[0] and "datastore" in unclosable[0]
    assert app.notes == []
    # With "any", the store can still close it with audit.logging: the item is simply left out.
    either = rule(
        {"element": {"kind": ["datastore", "app"]}},
        [{"control": "audit.logging"}, {"control": "audit.prompt_logging"}],
        mitigated_when="any",
    )
    db = _run(DOC, library(either), "TG-TEST-001")["claims-db"]
    assert _controls(db) == ["audit.logging"] and db.notes == []


def test_lint_reports_a_rule_that_needs_a_control_its_fixture_cannot_declare(
    tmp_path: Path,
) -> None:
    d = tmp_path / "rules" / "rules" / "acme" / "ACME-LOG-001"
    d.mkdir(parents=True)
    body = rule(
        {"element": {"kind": "datastore"}},
        [{"control": "audit.logging"}, {"control": "audit.prompt_logging"}],
        id="ACME-LOG-001",
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    (d / "rule.yaml").write_text(yaml.safe_dump(body))
    positive = {"threatgraph": 1, "model": {"name": "Claims"}, **DOC}
    (d / "positive.yaml").write_text(yaml.safe_dump(positive))
    (d / "expected.yaml").write_text("positive.yaml:\n  - {element: claims-db, status: open}\n")
    from threatgraph.engine.library import load_library

    lib = load_library([tmp_path / "rules"])
    lib.rules = [r for r in lib.rules if r.rule.id == "ACME-LOG-001"]
    problems = [str(p) for p in lint(lib)]
    assert any(
        applicable.UNCLOSABLE in p and "ACME-LOG-001 on claims-db" in p and "prompt_logging" in p
        for p in problems
    ), problems


def test_no_builtin_finding_needs_a_control_it_cannot_declare() -> None:
    """Over the reference models, the built-in library never asks for the impossible."""
    lib = builtin_library()
    root = Path(__file__).parent.parent
    from threatgraph.load.registry import load_paths
    from threatgraph.pipeline import analyse

    bad = []
    for p in sorted((root / "models").iterdir()):
        if p.suffix not in (".py", ".yaml"):
            continue
        for lm in load_paths([p]):
            for f in analyse(lm, lib, DAY).findings:
                bad += [(p.name, f.id, n) for n in f.notes if n.startswith(applicable.UNCLOSABLE)]
    assert bad == []


def test_a_control_in_two_groups_closes_both_in_the_review_summary() -> None:
    """Written (A or B) and (A or C), "A, or both B and C" closes on A alone, not on B
    alone (TG-DISC-006's public-safe prompt, canary and output filter)."""
    from threatgraph.formats.view import ModelView

    r = rule(
        {"element": {"kind": "app"}},
        [
            {"control": "guardrail.public_system_prompt", "group": "seen"},
            {"control": "monitoring.prompt_canary", "group": "seen"},
            {"control": "guardrail.public_system_prompt", "group": "blocked"},
            {"control": "guardrail.output_filter", "group": "blocked"},
        ],
    )
    doc = {"elements": [{"kind": "app", "name": "Quote app"}], "flows": []}
    g = graph_mod.build(model(doc))
    lib = library(r)
    found = evaluate(g, lib, DAY)
    view = ModelView.build(g, found, lib, DAY, "high", "x")
    impact = view.control_impact()
    assert impact["guardrail.public_system_prompt"] == (1, 1)
    assert impact["monitoring.prompt_canary"] == (0, 1)
    assert impact["guardrail.output_filter"] == (0, 1)
