"""The rule engine: every predicate kind, mitigation places, status, ids and ordering."""

from __future__ import annotations

import random

import pytest
from helpers import findings, ids, model, rule
from pydantic import ValidationError

from threatgraph.engine.rules import Rule
from threatgraph.model.schema import Classification

RAG = {
    "boundaries": [
        {"name": "Internet", "trust": "untrusted"},
        {"name": "Corp", "trust": "internal"},
        {"name": "Vendor cloud", "trust": "third_party"},
    ],
    "data": [
        {"name": "Notes", "classification": "phi"},
        {"name": "Docs", "classification": "internal"},
    ],
    "elements": [
        {"kind": "actor", "name": "User", "boundary": "internet"},
        {"kind": "external_content", "name": "Web", "content": "web"},
        {"kind": "process", "name": "Crawler", "boundary": "corp"},
        {"kind": "vector_store", "name": "Index", "boundary": "corp", "stores": ["docs"]},
        {"kind": "guardrail", "name": "Shield", "boundary": "corp"},
        {
            "kind": "app",
            "name": "App",
            "boundary": "corp",
            "processes": ["notes"],
            "internet_facing": True,
        },
        {"kind": "vendor", "name": "Acme", "boundary": "vendor-cloud"},
        {"kind": "llm", "name": "LLM", "boundary": "vendor-cloud", "provider": "acme"},
        {"kind": "tool", "name": "Mailer", "boundary": "corp", "capabilities": ["send_email"]},
    ],
    "flows": [
        {"from": "user", "to": "app", "name": "question", "protocol": "https"},
        {"from": "web", "to": "crawler", "name": "pages"},
        {"from": "crawler", "to": "index", "name": "chunks"},
        {"from": "index", "to": "app", "name": "passages"},
        {"from": "app", "to": "llm", "name": "prompt", "data": ["notes"], "protocol": "http"},
        {"from": "llm", "to": "app", "name": "answer"},
        {"from": "app", "to": "mailer", "name": "send"},
    ],
}


def with_changes(**changes: object) -> dict[str, object]:
    doc = {k: [dict(x) for x in v] for k, v in RAG.items()}  # type: ignore[attr-defined]
    doc.update(changes)  # type: ignore[arg-type]
    return doc


def el(doc: dict[str, object], name: str) -> dict[str, object]:
    return next(e for e in doc["elements"] if e["name"] == name)  # type: ignore[attr-defined,index]


# -- element predicates ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ({"kind": "llm"}, ["llm"]),
        ({"kind": ["llm", "tool"]}, ["llm", "mailer"]),
        ({"kind": ["app", "llm"], "not_kind": "llm"}, ["app"]),
        ({"attr": {"internet_facing": True}}, ["app"]),
        ({"attr": {"capabilities": {"contains": "send_email"}}}, ["mailer"]),
        ({"attr": {"capabilities": {"contains_any": ["shell", "send_email"]}}}, ["mailer"]),
        ({"attr": {"content": {"in": ["web", "email"]}}}, ["web"]),
        ({"kind": "app", "attr": {"internet_facing": {"ne": True}}}, []),
        ({"attr": {"provider": {"exists": True}}}, ["llm"]),
        ({"trust": {"at_most": "untrusted"}}, ["user", "web"]),
        ({"kind": ["llm", "app"], "trust": {"at_least": "internal"}}, ["app"]),
        ({"trust": {"in": ["third_party"]}}, ["acme", "llm"]),
        ({"stores": {"classification": "internal"}}, ["index"]),
        ({"processes": {"sensitive": True}}, ["app"]),
        ({"handles": {"classification": ["phi"]}}, ["app", "llm"]),
        ({"hosted": True}, ["llm"]),
        ({"provider": {"kind": "vendor"}}, ["llm"]),
        ({"hosts": {"kind": "llm"}}, ["acme"]),
        ({"flow_in": {"source": {"kind": "actor"}}}, ["app"]),
        ({"flow_out": {"target": {"kind": "tool"}}}, ["app"]),
        ({"kind": "llm", "no_flow_out": {"target": {"kind": "tool"}}}, ["llm"]),
        ({"kind": ["app", "llm"], "no_flow_in": {"encrypted": False}}, []),
        ({"reachable_from": {"from": {"kind": "external_content"}}, "kind": "llm"}, ["llm"]),
        ({"reaches": {"from": {"kind": "llm"}}, "kind": "external_content"}, ["web"]),
        ({"any": [{"kind": "llm"}, {"kind": "tool"}]}, ["llm", "mailer"]),
        ({"all": [{"kind": "app"}, {"attr": {"internet_facing": True}}]}, ["app"]),
        ({"kind": ["llm", "app"], "not": {"kind": "llm"}}, ["app"]),
        ({"use": "untrusted-source"}, ["user", "web"]),
    ],
)
def test_element_predicates(pred: dict[str, object], expected: list[str]) -> None:
    fs = findings(model(RAG), rule({"element": pred}))
    assert sorted(f.element for f in fs) == expected


def test_has_and_lacks_control() -> None:
    doc = with_changes()
    el(doc, "App")["controls"] = ["audit.logging"]
    m = model(doc)
    assert [
        f.element for f in findings(m, rule({"element": {"has_control": "audit.logging"}}))
    ] == ["app"]
    got = findings(
        m, rule({"element": {"kind": ["app", "llm"], "lacks_control": ["audit.logging"]}})
    )
    assert [f.element for f in got] == ["llm"]


# -- flow predicates ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ({"data": {"classification": "phi"}}, ["app--llm--prompt"]),
        ({"encrypted": True}, ["user--app--question"]),
        (
            {"source": {"kind": "app"}, "encrypted": False, "data": {"sensitive": True}},
            ["app--llm--prompt"],
        ),
        ({"protocol": "HTTP"}, ["app--llm--prompt"]),
        (
            {"trust_change": "increase"},
            ["llm--app--answer", "user--app--question", "web--crawler--pages"],
        ),
        ({"trust_change": "decrease", "target": {"kind": "llm"}}, ["app--llm--prompt"]),
        ({"crosses_boundary": False, "target": {"kind": "tool"}}, ["app--mailer--send"]),
        ({"authenticated": True}, []),
        (
            {"any": [{"protocol": "https"}, {"target": {"kind": "tool"}}]},
            ["app--mailer--send", "user--app--question"],
        ),
        ({"not": {"trust_change": "none"}, "source": {"kind": "llm"}}, ["llm--app--answer"]),
        (
            {"all": [{"source": {"kind": "vector_store"}}, {"target": {"kind": "app"}}]},
            ["index--app--passages"],
        ),
    ],
)
def test_flow_predicates(pred: dict[str, object], expected: list[str]) -> None:
    fs = findings(model(RAG), rule({"flow": pred}, [{"control": "crypto.tls"}]))
    assert sorted(f.flow for f in fs if f.flow) == expected


def test_flow_controls_and_primary_end() -> None:
    doc = with_changes()
    doc["flows"][4]["controls"] = ["crypto.tls"]  # type: ignore[index]
    m = model(doc)
    got = findings(m, rule({"flow": {"has_control": "crypto.tls"}}))
    assert [f.flow for f in got] == ["app--llm--prompt"]
    assert got[0].element == "llm"
    src = findings(m, rule({"flow": {"has_control": "crypto.tls"}, "primary": "source"}))
    assert src[0].element == "app"
    # The TLS control makes the flow count as encrypted even over a plain protocol name.
    assert not findings(m, rule({"flow": {"encrypted": False, "target": {"kind": "llm"}}}))


# -- path predicates ------------------------------------------------------------------------
def test_path_reaches_through_multiple_hops_with_witness() -> None:
    fs = findings(
        model(RAG), rule({"path": {"from": {"kind": "external_content"}, "to": {"kind": "llm"}}})
    )
    assert ids(fs) == ["TG-TEST-001/llm"]
    f = fs[0]
    assert f.path == ("web", "crawler", "index", "app", "llm")
    assert f.path_flows == (
        "web--crawler--pages",
        "crawler--index--chunks",
        "index--app--passages",
        "app--llm--prompt",
    )
    assert f.sources == ("web",)
    assert "4 hop(s)" in f.explanation


def test_path_blocked_by_through_via_and_max_hops() -> None:
    m = model(RAG)
    base = {"from": {"kind": "external_content"}, "to": {"kind": "llm"}}
    assert not findings(m, rule({"path": {**base, "blocked_by": {"kind": "vector_store"}}}))
    assert not findings(m, rule({"path": {**base, "through": {"kind": ["process", "app"]}}}))
    assert findings(m, rule({"path": {**base, "through": {"not_kind": "guardrail"}}}))
    assert not findings(m, rule({"path": {**base, "via": {"protocol": "https"}}}))
    assert not findings(m, rule({"path": {**base, "max_hops": 3}}))
    assert findings(m, rule({"path": {**base, "max_hops": 4}}))


def test_path_sources_count_only_when_reached_through_a_flow() -> None:
    # The web is a source that nothing leads to; the LLM is a source that the app's prompt
    # flow reaches again (llm -> app -> llm), so it is reached.
    kinds = ["llm", "external_content"]
    fs = findings(model(RAG), rule({"path": {"from": {"kind": kinds}, "to": {"kind": kinds}}}))
    assert ids(fs) == ["TG-TEST-001/llm"]
    assert fs[0].path == ("llm", "app", "llm")


def test_a_source_reached_from_another_source() -> None:
    doc = {
        "elements": [
            {"kind": "agent", "name": "Planner"},
            {"kind": "agent", "name": "Worker"},
            {"kind": "agent", "name": "Lone"},
        ],
        "flows": [{"from": "planner", "to": "worker", "name": "task", "operation": "event"}],
    }
    got = findings(
        model(doc),
        rule({"element": {"kind": "agent", "reachable_from": {"from": {"kind": "agent"}}}}),
    )
    assert [f.element for f in got] == ["worker"]
    path = findings(
        model(doc), rule({"path": {"from": {"kind": "agent"}, "to": {"kind": "agent"}}})
    )
    assert [(f.element, f.path) for f in path] == [("worker", ("planner", "worker"))]
    # As a call, the worker's answer comes back: each agent's content reaches the other.
    doc["flows"][0]["operation"] = "call"
    got = findings(
        model(doc),
        rule({"element": {"kind": "agent", "reachable_from": {"from": {"kind": "agent"}}}}),
    )
    assert [f.element for f in got] == ["planner", "worker"]


def test_path_mitigation_counts_only_when_every_route_is_covered() -> None:
    mit = [{"control": "input.content_sanitisation", "at": ["path"]}]
    r = rule({"path": {"from": {"kind": "external_content"}, "to": {"kind": "llm"}}}, mit)
    doc = with_changes()
    el(doc, "Crawler")["controls"] = ["input.content_sanitisation"]
    assert findings(model(doc), r)[0].status == "mitigated"
    # A second, unsanitised route from the web straight into the app re-opens it.
    doc["flows"].append({"from": "web", "to": "app", "name": "link preview"})  # type: ignore[attr-defined]
    f = findings(model(doc), r)[0]
    assert f.status == "open" and f.missing == ["input.content_sanitisation"]
    # Sanitisation declared on that flow closes the second route as well.
    doc["flows"][-1]["controls"] = ["input.content_sanitisation"]  # type: ignore[index]
    assert findings(model(doc), r)[0].status == "mitigated"


# -- mitigation places, status, severity ----------------------------------------------------
def test_mitigation_places() -> None:
    doc = with_changes(model={"name": "T", "controls": ["testing.prompt_injection_suite"]})
    el(doc, "Acme")["controls"] = ["vendor.baa"]
    el(doc, "App")["controls"] = ["input.prompt_segregation"]
    doc["flows"][4]["controls"] = ["crypto.tls"]  # type: ignore[index]
    mits = [
        {"control": "testing.prompt_injection_suite", "at": ["model"]},
        {"control": "vendor.baa", "at": ["provider"]},
        {"control": "input.prompt_segregation", "at": ["upstream"]},
        {"control": "crypto.tls", "at": ["upstream"]},
        {"control": "guardrail.output_filter", "at": ["element"]},
    ]
    f = findings(model(doc), rule({"element": {"kind": "llm"}}, mits))[0]
    present = {c.control: c.where for c in f.checklist if c.present}
    assert present == {
        "testing.prompt_injection_suite": ("model",),
        "vendor.baa": ("acme",),
        "input.prompt_segregation": ("app",),
        "crypto.tls": ("app--llm--prompt",),
    }
    assert f.missing == ["guardrail.output_filter"]
    assert f.status == "open"


def test_downstream_place() -> None:
    doc = with_changes()
    el(doc, "Mailer")["controls"] = ["agent.egress_allowlist"]
    mits = [{"control": "agent.egress_allowlist", "at": ["downstream"]}]
    f = findings(model(doc), rule({"element": {"kind": "app"}}, mits))[0]
    assert f.checklist[0].where == ("mailer",) and f.status == "mitigated"


def test_mitigation_groups_are_alternatives() -> None:
    doc = with_changes()
    el(doc, "LLM")["controls"] = ["guardrail.output_filter", "audit.logging"]
    mits = [
        {"control": "guardrail.input_filter", "group": "screen"},
        {"control": "guardrail.output_filter", "group": "screen"},
        {"control": "audit.logging"},
    ]
    f = findings(model(doc), rule({"element": {"kind": "llm"}}, mits))[0]
    assert f.status == "mitigated"
    el(doc, "LLM")["controls"] = ["guardrail.output_filter"]
    assert findings(model(doc), rule({"element": {"kind": "llm"}}, mits))[0].status == "open"
    assert (
        findings(model(doc), rule({"element": {"kind": "llm"}}, mits, mitigated_when=1))[0].status
        == "mitigated"
    )
    with pytest.raises(ValidationError, match="groups count once"):
        rule({"element": {"kind": "llm"}}, mits, mitigated_when=3)


def test_flow_operation_and_severity_on_the_flow() -> None:
    doc = with_changes()
    doc["flows"][2]["operation"] = "write"  # type: ignore[index]
    r = rule(
        {"flow": {"operation": ["write"]}},
        [{"control": "crypto.tls"}],
        severity_when=[{"if_flow": {"data": {"sensitive": True}}, "severity": "critical"}],
    )
    got = findings(model(doc), r)
    assert [(f.flow, f.severity) for f in got] == [("crawler--index--chunks", "high")]
    doc["flows"][2]["data"] = ["notes"]  # type: ignore[index]
    assert findings(model(doc), r)[0].severity == "critical"


def test_flow_rule_source_target_places() -> None:
    doc = with_changes()
    el(doc, "LLM")["controls"] = ["authn.service_identity"]
    mits = [{"control": "authn.service_identity", "at": ["source", "target"]}]
    f = findings(model(doc), rule({"flow": {"target": {"kind": "llm"}}}, mits))[0]
    assert f.checklist[0].where == ("llm",) and f.status == "mitigated"


@pytest.mark.parametrize(
    ("policy", "status"), [("all", "open"), ("any", "mitigated"), (1, "mitigated"), (2, "open")]
)
def test_mitigated_when(policy: object, status: str) -> None:
    doc = with_changes()
    el(doc, "LLM")["controls"] = ["guardrail.input_filter"]
    mits = [{"control": "guardrail.input_filter"}, {"control": "guardrail.output_filter"}]
    f = findings(model(doc), rule({"element": {"kind": "llm"}}, mits, mitigated_when=policy))[0]
    assert f.status == status


def test_severity_when() -> None:
    r = rule(
        {"element": {"kind": ["app", "vector_store"]}},
        severity_when=[{"if": {"handles": {"classification": "phi"}}, "severity": "critical"}],
    )
    sev = {f.element: f.severity for f in findings(model(RAG), r)}
    assert sev == {"app": "critical", "index": "high"}


def test_named_predicate_unknown_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown named predicate"):
        findings(model(RAG), rule({"element": {"use": "no-such-thing"}}))


# -- rule schema ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"match": {"element": {"kind": "llm"}, "flow": {}}}, "exactly one"),
        ({"match": {"element": {"kind": "robot"}}}, "kind"),
        ({"match": {"element": {"attr": {"colour": "red"}}}}, "unknown attribute"),
        ({"references": ["LLM01"]}, "scheme:ID@edition"),
        ({"id": "bad id"}, "pattern"),
        ({"mitigated_when": 5}, "between 1"),
        ({"severity": "severe"}, "severity"),
        ({"match": {"element": {"attr": {"mcp": {"eq": True, "ne": False}}}}}, "exactly one"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_rule_schema_rejects(patch: dict[str, object], message: str) -> None:
    body = rule({"element": {"kind": "llm"}}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    body.update(patch)
    with pytest.raises(ValidationError, match=message):
        Rule.model_validate(body)


# -- identity and determinism ---------------------------------------------------------------
def test_finding_ids_are_stable_under_unrelated_changes_and_reordering() -> None:
    r1 = rule({"path": {"from": {"kind": "external_content"}, "to": {"kind": "llm"}}})
    r2 = rule(
        {"flow": {"data": {"sensitive": True}}}, [{"control": "crypto.tls"}], id="TG-TEST-002"
    )
    before = ids(findings(model(RAG), r1, r2))
    doc = with_changes()
    rng = random.Random(7)
    rng.shuffle(doc["elements"])  # type: ignore[arg-type]
    rng.shuffle(doc["flows"])  # type: ignore[arg-type]
    doc["elements"].append({"kind": "datastore", "name": "Unrelated"})  # type: ignore[attr-defined]
    for e in doc["elements"]:  # type: ignore[attr-defined]
        if e["name"] == "Shield":
            e["name"], e["id"] = "Renamed shield", "shield"
    assert (
        ids(findings(model(doc), r1, r2))
        == before
        == ["TG-TEST-001/llm", "TG-TEST-002/app--llm--prompt"]
    )


def test_findings_are_sorted_worst_first() -> None:
    low = rule({"element": {"kind": "tool"}}, id="TG-TEST-009", severity="low")
    crit = rule({"element": {"kind": "app"}}, id="TG-TEST-005", severity="critical")
    fs = findings(model(RAG), low, crit)
    assert [f.severity for f in fs] == ["critical", "low"]


# -- vendor facts ---------------------------------------------------------------------------
VENDORS = {
    "data": [{"name": "Notes", "classification": "phi"}],
    "elements": [
        {
            "kind": "vendor",
            "name": "Acme",
            "vendor": {
                "baa": {"signed": "2025-01-01", "services": ["llm"]},
                "certifications": [
                    {"name": "soc2_type2", "expires": "2026-03-01"},
                    {"name": "iso27001"},
                ],
                "clauses": ["phi_handling", "no_training_on_customer_data"],
                "last_assessment": "2025-01-10",
                "review_interval_days": 365,
                "breach_notification_days": 3,
                "subprocessors": ["gpu-co"],
            },
        },
        {"kind": "vendor", "name": "GPU Co", "vendor": {"trains_on_customer_data": True}},
        {"kind": "llm", "name": "LLM", "provider": "acme", "processes": ["notes"]},
        {"kind": "training_pipeline", "name": "Tuner", "provider": "acme", "trained_on": ["notes"]},
        {"kind": "app", "name": "App"},
    ],
}


@pytest.mark.parametrize(
    ("pred", "as_of", "expected"),
    [
        ({"baa": True}, "2026-01-01", ["acme"]),
        ({"baa": False}, "2026-01-01", ["gpu-co"]),
        ({"uncovered": {"handles": {"classification": "phi"}}}, "2026-01-01", ["acme"]),
        ({"uncovered": {"kind": "llm"}}, "2026-01-01", []),
        ({"lacks_certification": ["soc2_type2"]}, "2026-01-01", ["gpu-co"]),
        ({"lacks_certification": ["soc2_type2"]}, "2026-06-01", ["acme", "gpu-co"]),
        ({"expired_certification": True}, "2026-06-01", ["acme"]),
        ({"assessment_overdue": True}, "2026-01-05", ["gpu-co"]),
        ({"assessment_overdue": True}, "2026-02-01", ["acme", "gpu-co"]),
        ({"lacks_clause": ["audit_rights"]}, "2026-01-01", ["acme", "gpu-co"]),
        ({"lacks_clause": "phi_handling"}, "2026-01-01", ["gpu-co"]),
        ({"may_train_on_customer_data": True}, "2026-01-01", ["gpu-co"]),
        ({"has_subprocessors": True}, "2026-01-01", ["acme"]),
        (
            {"subprocessor": {"vendor": {"may_train_on_customer_data": True}}},
            "2026-01-01",
            ["acme"],
        ),
        ({"breach_notification_over": 2}, "2026-01-01", ["acme", "gpu-co"]),
        ({"breach_notification_over": 3}, "2026-01-01", ["gpu-co"]),
    ],
)
def test_vendor_predicates(pred: dict[str, object], as_of: str, expected: list[str]) -> None:
    from datetime import date

    fs = findings(
        model(VENDORS), rule({"element": {"vendor": pred}}), as_of=date.fromisoformat(as_of)
    )
    assert sorted(f.element for f in fs) == expected


def test_vendor_facts_count_as_controls() -> None:
    acme = model(VENDORS).element("acme")
    assert {
        "vendor.baa",
        "vendor.contract_phi_handling",
        "vendor.contract_no_training",
    } <= acme.control_ids()
    mits = [{"control": "vendor.baa", "at": ["provider"]}]
    f = findings(model(VENDORS), rule({"element": {"kind": "llm"}}, mits))[0]
    assert f.status == "mitigated" and f.checklist[0].where == ("acme",)


def test_networkx_graph_mirrors_the_model() -> None:
    from threatgraph import graph as graph_mod

    g = graph_mod.build(model(RAG)).g
    assert g.number_of_nodes() == len(RAG["elements"])
    assert g.number_of_edges() == len(RAG["flows"])
    assert g.nodes["llm"]["trust"] == "third_party"
    edge = g.edges["app", "llm", "app--llm--prompt"]
    assert edge["crosses_boundary"] is True
    assert (edge["requester"], edge["server"], edge["content"]) == ("app", "llm", "both")
    assert g.nodes["llm"]["runs_model"] is True and g.nodes["llm"]["agentic"] is False


def test_lint_flags_attribute_values_the_model_cannot_hold() -> None:
    from helpers import library

    from threatgraph.features.lint import lint

    bad = rule(
        {
            "element": {
                "kind": "tool",
                "attr": {
                    "capabilities": {"contains_any": ["send-email", "http"]},
                    "interpreter": "bash",
                },
            }
        }
    )
    msgs = [p.message for p in lint(library(bad), fixtures=False)]
    assert any("'send-email' is not a value" in m for m in msgs), msgs
    assert any("'bash' is not a value" in m for m in msgs), msgs
    assert not any("'http'" in m for m in msgs)


def test_model_rejects_unknown_capabilities() -> None:
    from threatgraph.util.errors import InputError

    with pytest.raises(InputError, match="capabilities"):
        model({"elements": [{"kind": "tool", "name": "Mailer", "capabilities": ["send-email"]}]})


def test_match_sets_agree_with_the_kinds_each_rule_names() -> None:
    """Two independent readings of every rule agree on a generated estate: the engine's
    match sets (from indexes and set operations) never bind an element of a kind that the
    static analysis in kinds_of rules out, and most rules do bind something."""
    import importlib
    import sys
    from collections import Counter
    from datetime import date
    from pathlib import Path

    from threatgraph import graph as graph_mod
    from threatgraph.engine.compile import kinds_of
    from threatgraph.engine.library import load_library

    ev = importlib.import_module("threatgraph.engine.evaluate")
    from threatgraph.load.declarative import parse_model
    from threatgraph.model.validate import finalize

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import generate

    lib = load_library()
    m = finalize(parse_model(generate.estate(300, seed=3), "estate.yaml"), lib.controls.keys())
    g = graph_mod.build(m)
    findings = ev.evaluate(g, lib, date(2026, 6, 1))
    checked = Counter[str]()
    for f in findings:
        match = f.rule.match
        if match.element is not None:
            kinds = kinds_of(match.element, lib.predicates)
        elif match.flow is not None:
            ends = {
                "target": match.flow.target,
                "source": match.flow.source,
                "requester": match.flow.requester,
                "server": match.flow.server,
            }
            end = ends[match.primary] if isinstance(match.primary, str) else match.primary
            kinds = kinds_of(end, lib.predicates)
        else:
            assert match.path is not None
            kinds = kinds_of(match.path.to, lib.predicates)
        if kinds is not None:
            assert g.elements[f.element].kind in kinds, (f.id, kinds)
            checked[f.rule.id] += 1
    assert len(checked) > 40 and len(findings) > 100


def test_kinds_of_follows_named_predicates_and_negation() -> None:
    from threatgraph.engine.compile import kinds_of
    from threatgraph.engine.rules import ElementPred
    from threatgraph.model.schema import Kind

    named = {"model": ElementPred.model_validate({"kind": ["llm", "ml_model"]})}
    assert kinds_of(ElementPred.model_validate({"use": "model"}), named) == {
        Kind.LLM,
        Kind.ML_MODEL,
    }
    assert kinds_of(ElementPred.model_validate({"use": "model"})) is None
    got = kinds_of(ElementPred.model_validate({"not_kind": ["actor"]}))
    assert got is not None and Kind.ACTOR not in got and Kind.LLM in got
    both = ElementPred.model_validate({"all": [{"use": "model"}, {"not_kind": "llm"}]})
    assert kinds_of(both, named) == {Kind.ML_MODEL}
    assert kinds_of(ElementPred.model_validate({"vendor": {"baa": False}})) == {Kind.VENDOR}


def test_attribute_indexes_built_together_equal_those_built_alone() -> None:
    """Several attributes indexed in one pass over the elements group exactly as each
    indexed on its own (lists by their items, values a set cannot hold by their text)."""
    from threatgraph import graph as graph_mod

    doc = with_changes()
    el(doc, "App")["tags"] = ["team-a", "pci"]
    el(doc, "LLM")["tags"] = ["team-a", "pci"]
    names = ["capabilities", "internet_facing", "tags", "content", "provider"]
    together = graph_mod.build(model(doc))
    together.attr_index(names[0], also=names)
    for name in names:
        alone = graph_mod.build(model(doc)).attr_index(name)
        assert together.attr_index(name) == alone
    tags = together.attr_index("tags")
    pos = together.ix.pos
    assert tags[("team-a", "pci")] == (["team-a", "pci"], frozenset({pos["app"], pos["llm"]}))
    assert tags[()][1] == together.ix.all_elements - {pos["app"], pos["llm"]}


def test_build_indexes_flows_in_declaration_order() -> None:
    """The integer view and flow indexes that build makes agree with the flows."""
    from threatgraph import graph as graph_mod
    from threatgraph.reach import STATES

    g = graph_mod.build(model(RAG))
    ix = g.ix
    assert ix.ids == list(g.elements) and ix.fids == list(g.flows)
    assert ix.els == list(g.elements.values())
    for k, fid in enumerate(ix.fids):
        s, t = ix.pos[g.flow_source[fid]], ix.pos[g.flow_target[fid]]
        # Every flow moves content from one of its ends to the other: the content-state
        # graph's edges that carry it join states of its two ends, both adjacencies hold
        # them, and the ways recorded for the flow include theirs (a way that reaches
        # nothing, such as a query sent to a store that runs none, has no edge).
        moves = {
            (x // STATES, y // STATES)
            for x, y, flows in ix.content.graph.edges(data="flows")
            if k in flows
        }
        assert moves and moves <= {(s, t), (t, s)}
        ways = (1 if (s, t) in moves else 0) | (2 if (t, s) in moves else 0)
        assert ix.fways[k] & ways == ways
        for x, y, flows in ix.content.graph.edges(data="flows"):
            assert ix.content.succ[x][y]["flows"] is ix.content.pred[y][x]["flows"] is flows
        assert {ix.freq[k], ix.fsrv[k]} == {s, t}
        assert (ix.fsrc[k], ix.fdst[k]) == (s, t) and ix.fpos[fid] == k
        assert k in ix.out_flows[s] and k in ix.in_flows[t]
    carried = {k for _, _, flows in ix.content.graph.edges(data="flows") for k in flows}
    assert carried <= set(range(len(g.flows)))
    assert sum(map(len, ix.out_flows)) == sum(map(len, ix.in_flows)) == len(g.flows)
    for kind, members in g.by_kind.items():
        assert [ix.ids[i] for i in ix.by_kind[kind]] == members
    # Every number in the indexes is one of ix.nums (the engine's sets share those objects).
    assert all(ix.nums[i] is i or i < 256 for i in (*ix.fsrc, *ix.pos.values()))
    assert g.flows_by("protocol")["http"] == {ix.fpos["app--llm--prompt"]}
    assert g.flow_flags["encrypted"] == {ix.fpos["user--app--question"]}
    assert g.elements_holding("handles")[Classification.PHI] == {ix.pos["app"], ix.pos["llm"]}


def test_compiled_predicates_as_per_item_tests() -> None:
    """Compiler.element / flow / vendor give per-id tests that agree with the sets."""
    from datetime import date

    from threatgraph import graph as graph_mod
    from threatgraph.engine.compile import Compiler, Ctx
    from threatgraph.engine.rules import ElementPred, FlowPred, VendorPred

    g = graph_mod.build(model(RAG))
    ctx = Ctx(g, as_of=date(2026, 6, 1))
    comp = Compiler()
    is_tool = comp.element(ElementPred.model_validate({"kind": "tool"}))
    assert [e for e in g.elements if is_tool(ctx, e)] == ["mailer"]
    assert not is_tool(ctx, "no-such-element")
    plain = comp.flow(FlowPred.model_validate({"encrypted": False, "data": {"sensitive": True}}))
    assert [f for f in g.flows if plain(ctx, f)] == ["app--llm--prompt"]
    no_baa = comp.vendor(VendorPred.model_validate({"baa": False}))
    assert [e for e in g.elements if no_baa(ctx, e)] == ["acme"]


def test_a_search_runs_only_when_the_rest_of_a_predicate_leaves_something() -> None:
    """A reach clause is a traversal of the graph: it is left out when the predicate's other
    parts already match nothing, and the set is the same either way."""
    from datetime import date

    from threatgraph import graph as graph_mod
    from threatgraph.engine.compile import Compiler, Ctx
    from threatgraph.engine.rules import ElementPred

    g = graph_mod.build(model(RAG))
    reach = {"reachable_from": {"from": {"kind": "external_content"}}}
    comp = Compiler()
    none_left = comp.element_set(ElementPred.model_validate({"kind": "memory", **reach}))
    ctx = Ctx(g, as_of=date(2026, 6, 1))
    assert none_left(ctx) == frozenset()
    assert not ctx.reach_cache  # no element is a memory: no search ran
    some_left = comp.element_set(ElementPred.model_validate({"kind": "llm", **reach}))
    assert some_left(ctx) == {g.ix.pos["llm"]}
    assert len(ctx.reach_cache) == 1
