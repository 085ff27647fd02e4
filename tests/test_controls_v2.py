"""Library v2 controls (issue 18 sections 2 and 5): merged controls read through their former
ids, what closes a finding in `check`'s text and the JSON, and element findings that explain
themselves with the facts of the model."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import findings, model, rule

from threatgraph import graph as graph_mod
from threatgraph.cli import cli
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import CheckItem, Finding, groups_needed, still_needed
from threatgraph.engine.library import load_library
from threatgraph.formats.text import missing_text
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize
from threatgraph.util.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DAY = "2026-01-15"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


# ---------------------------------------------------------------- aliases of merged controls

MERGED = {
    "hipaa.workforce_training": "process.security_training",
    "process.vendor_assessment": "supply.vendor_vetting",
    "infra.isolation": "agent.sandbox",
}


def test_library_maps_former_ids_to_the_merged_control(library: Any) -> None:
    assert {k: library.aliases[k] for k in MERGED} == MERGED
    for old in MERGED:
        assert old not in library.controls
    # No built-in rule names a former id: the library speaks the current ones.
    named = {m.control for lr in library.rules for m in lr.rule.mitigations}
    assert not named & set(library.aliases)


def _doc(controls: list[str]) -> dict[str, Any]:
    return {
        "threatgraph": 1,
        "model": {"name": "Runner"},
        "elements": [
            {"kind": "llm", "name": "Model"},
            {
                "kind": "tool",
                "name": "Runner",
                "capabilities": ["execute_code"],
                "controls": controls,
            },
        ],
        "flows": [{"from": "model", "to": "runner", "name": "run"}],
    }


def test_former_id_is_read_as_the_new_one_with_a_note(library: Any) -> None:
    m = finalize(
        parse_model(_doc(["infra.isolation"]), "m.yaml"), library.controls, library.aliases
    )
    runner = next(e for e in m.elements if e.id == "runner")
    assert runner.control_ids() == {"agent.sandbox"}
    (note,) = m.notes
    assert "'infra.isolation' is deprecated" in note.message and "'agent.sandbox'" in note.message


def test_former_and_new_id_together_are_one_control(library: Any) -> None:
    doc = _doc(["agent.sandbox", {"id": "infra.isolation", "evidence": ["docs/sandbox.md"]}])
    m = finalize(parse_model(doc, "m.yaml"), library.controls, library.aliases)
    runner = next(e for e in m.elements if e.id == "runner")
    (ref,) = runner.controls
    assert ref.id == "agent.sandbox" and ref.evidence == ["docs/sandbox.md"]
    assert len(m.notes) == 1


def test_a_plain_duplicate_is_still_an_error(library: Any) -> None:
    with pytest.raises(InputError, match="declared twice"):
        finalize(
            parse_model(_doc(["agent.sandbox", "agent.sandbox"]), "m.yaml"),
            library.controls,
            library.aliases,
        )


def test_unknown_without_aliases_known_with_them(library: Any) -> None:
    with pytest.raises(InputError, match=r"unknown control 'infra\.isolation'"):
        finalize(parse_model(_doc(["infra.isolation"]), "m.yaml"), library.controls)


def test_check_warns_with_file_line_and_keeps_the_finding_mitigated(tmp_path: Path) -> None:
    import yaml

    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text(yaml.safe_dump(_doc(["infra.isolation", "agent.egress_allowlist"])))
    new.write_text(yaml.safe_dump(_doc(["agent.sandbox", "agent.egress_allowlist"])))
    runs = {}
    for p in (old, new):
        code, out, err = _run("check", str(p), "--format", "json", "--as-of", FIXTURE_DAY)
        doc = json.loads(out)
        runs[p.name] = {f["id"]: f["status"] for f in doc["findings"]}, err
    assert runs["old.yaml"][0] == runs["new.yaml"][0]
    assert runs["old.yaml"][0]["TG-AG-004/runner"] == "mitigated"
    err = runs["old.yaml"][1]
    # Named with the file and the line of the element that declares it.
    assert re.search(r"old\.yaml:\d+: control 'infra.isolation' is deprecated", err), err
    assert "write 'agent.sandbox' instead" in err
    assert "deprecated" not in runs["new.yaml"][1]
    code, _, err = _run("check", str(old), "--strict", "--as-of", FIXTURE_DAY)
    assert code == 1 and "error:" in err and "deprecated" in err


def test_custom_rule_naming_a_former_id_reads_the_new_one(tmp_path: Path) -> None:
    d = tmp_path / "rules" / "rules" / "acme" / "ACME-X-001"
    d.mkdir(parents=True)
    body = rule(
        {"element": {"kind": "tool"}},
        [{"control": "infra.isolation"}],
        id="ACME-X-001",
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    import yaml

    (d / "rule.yaml").write_text(yaml.safe_dump(body))
    lib = load_library([tmp_path / "rules"])
    (mit,) = lib.rule("ACME-X-001").rule.mitigations
    assert mit.control == "agent.sandbox"


def test_alias_that_is_also_a_control_id_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / "controls.yaml").write_text(
        "controls:\n"
        "  - id: acme.thing\n"
        "    title: A thing\n"
        "    category: technical\n"
        "    description: A control whose alias clashes.\n"
        "    evidence: None.\n"
        "    aliases: [audit.logging]\n"
    )
    with pytest.raises(InputError, match=r"alias 'audit\.logging' of 'acme\.thing' is itself"):
        load_library([root])


# ---------------------------------------------------------------- what closes a finding


def _finding(mitigations: list[dict[str, Any]], when: Any, present: set[str]) -> Finding:
    r = rule({"element": {"kind": "tool"}}, mitigations, mitigated_when=when)
    checklist = [
        CheckItem(m.control, m.control in present, (), ("element",)) for m in r.mitigations
    ]
    return Finding(
        id="x",
        rule=r,
        model_id="m",
        element="e",
        elements=("e",),
        flow=None,
        path=(),
        path_flows=(),
        sources=(),
        location=model({"elements": []}).location or _loc(),
        severity="high",
        checklist=checklist,
        explanation="",
    )


def _loc() -> Any:
    from threatgraph.model.schema import Location

    return Location(file="m.yaml", line=1)


A, B, C, D = "audit.logging", "crypto.tls", "authn.api_keys", "authz.rbac"


@pytest.mark.parametrize(
    ("mitigations", "when", "present", "text"),
    [
        ([{"control": A}, {"control": B}], "all", set(), f"missing, all needed: {A}, {B}"),
        ([{"control": A}, {"control": B}], "all", {A}, f"missing: {B}"),
        ([{"control": A}, {"control": B}], "any", set(), f"missing, any one closes it: {A}, {B}"),
        (
            [{"control": A}, {"control": B}, {"control": C}],
            2,
            set(),
            f"missing, 2 of these 3 close it: {A}, {B}, {C}",
        ),
        (
            [{"control": A}, {"control": B}, {"control": C}],
            2,
            {B},
            f"missing, any one closes it: {A}, {C}",
        ),
        (
            [{"control": A}, {"control": B, "group": "g"}, {"control": C, "group": "g"}],
            "all",
            set(),
            f"missing, all needed: {A}, ({B} or {C})",
        ),
        (
            [{"control": B, "group": "g"}, {"control": C, "group": "g"}],
            "all",
            set(),
            f"missing, any one closes it: {B}, {C}",
        ),
        ([{"control": A}, {"control": B}], "any", {A}, ""),
    ],
)
def test_missing_text(
    mitigations: list[dict[str, Any]], when: Any, present: set[str], text: str
) -> None:
    assert missing_text(_finding(mitigations, when, present)) == text


def test_still_needed_counts_groups_once() -> None:
    f = _finding(
        [
            {"control": A, "group": "g"},
            {"control": B, "group": "g"},
            {"control": C},
            {"control": D},
        ],
        2,
        {A},
    )
    assert groups_needed(f.rule) == 2
    assert still_needed(f.rule, f.checklist) == (1, ((C,), (D,)))


def test_json_carries_mitigated_when_and_groups(tmp_path: Path) -> None:
    import yaml

    from threatgraph.formats.jsonout import finding_dict

    payer = _doc([])
    payer["elements"][1]["capabilities"] = ["payments", "execute_code"]
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(payer))
    _, out, _ = _run("check", str(p), "--format", "json", "--as-of", FIXTURE_DAY)
    doc = json.loads(out)
    by_rule = {f["threat"]: f for f in doc["findings"]}
    lib = load_library()
    for rid, f in by_rule.items():
        r = lib.rule(rid).rule
        assert f["mitigated_when"] == r.mitigated_when
        assert [m["group"] for m in f["mitigations"]] == [m.group for m in r.mitigations]
    assert by_rule["TG-AG-001"]["mitigated_when"] == "any"
    # The streaming writer and the dict agree.
    m = finalize(parse_model(payer, "m.yaml"), lib.controls, lib.aliases)
    fs = evaluate(graph_mod.build(m), lib, date(2026, 1, 15))
    one = next(f for f in fs if f.rule.id == "TG-AG-001")
    d = finding_dict(one, lib.references)
    assert d["mitigated_when"] == "any"
    assert {x["group"] for x in d["mitigations"]} == {"gate"}


# ---------------------------------------------------------------- element explanations

TRIFECTA = {
    "boundaries": [{"name": "Hospital", "trust": "restricted"}],
    "data": [{"name": "Patient chart", "classification": "phi"}],
    "elements": [
        {"kind": "external_content", "name": "Portal messages", "content": "email"},
        {"kind": "agent", "name": "Care agent", "boundary": "hospital"},
        {"kind": "tool", "name": "Chart reader", "boundary": "hospital", "capabilities": ["read"]},
        {"kind": "datastore", "name": "EHR", "boundary": "hospital", "stores": ["patient-chart"]},
        {
            "kind": "tool",
            "name": "Mailer",
            "boundary": "hospital",
            "capabilities": ["send_email"],
        },
    ],
    "flows": [
        {"from": "portal-messages", "to": "care-agent", "name": "message"},
        {"from": "ehr", "to": "chart-reader", "name": "chart", "data": ["patient-chart"]},
        {"from": "chart-reader", "to": "care-agent", "name": "summary", "data": ["patient-chart"]},
        {"from": "care-agent", "to": "mailer", "name": "reply"},
    ],
}


def _builtin(m: Any, rid: str) -> list[Finding]:
    lib = load_library()
    return [f for f in evaluate(graph_mod.build(m), lib, date(2026, 1, 15)) if f.rule.id == rid]


def test_trifecta_names_the_data_the_source_and_the_way_out() -> None:
    (f,) = _builtin(model(TRIFECTA), "TG-AG-003")
    text = f.explanation
    assert "Patient chart (phi)" in text
    assert "Portal messages reaches it: Portal messages -> Care agent" in text
    assert "its content reaches Mailer: Care agent -> Mailer" in text


def test_code_runner_names_who_can_reach_it() -> None:
    doc = {
        "elements": [
            {"kind": "actor", "name": "Analyst"},
            {"kind": "agent", "name": "Helper"},
            {"kind": "tool", "name": "Python runner", "capabilities": ["execute_code"]},
        ],
        "flows": [
            {"from": "analyst", "to": "helper", "name": "ask"},
            {"from": "helper", "to": "python-runner", "name": "run"},
        ],
    }
    (f,) = _builtin(model(doc), "TG-AG-004")
    assert f.explanation.startswith("Python runner (tool, trust ")
    assert "Analyst can reach it: Analyst -> Helper -> Python runner" in f.explanation


def test_element_explanations_are_deterministic() -> None:
    runs = [[f.explanation for f in _builtin(model(TRIFECTA), "TG-AG-003")] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_a_rule_without_facts_keeps_the_plain_sentence() -> None:
    doc = {"elements": [{"kind": "tool", "name": "Box"}]}
    (f,) = findings(model(doc), rule({"element": {"kind": "tool"}}))
    assert f.explanation.endswith("matches this rule.")


def test_route_budget_bounds_the_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setattr(importlib.import_module("threatgraph.engine.evaluate"), "ROUTE_BUDGET", 0)
    (f,) = _builtin(model(TRIFECTA), "TG-AG-003")
    assert "its content reaches" not in f.explanation
    assert "Portal messages reaches it" in f.explanation


def test_names_in_explanations_are_escaped_in_reports(tmp_path: Path) -> None:
    import yaml

    doc = json.loads(json.dumps(TRIFECTA))
    doc["elements"][0]["name"] = "<img src=x onerror=alert(1)>"
    doc["elements"][0]["id"] = "portal-messages"
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump({"threatgraph": 1, "model": {"name": "T"}, **doc}))
    out_dir = tmp_path / "out"
    _run("report", str(p), "-o", str(out_dir), "--format", "html,json", "--as-of", FIXTURE_DAY)
    (html,) = out_dir.glob("*/report.html")
    (js,) = out_dir.glob("*/findings.json")
    text = html.read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt; reaches it" in text
    assert "<img src=x" not in text
    (f,) = [f for f in json.loads(js.read_text())["findings"] if f["threat"] == "TG-AG-003"]
    assert "<img src=x onerror=alert(1)> reaches it" in f["explanation"]


def test_controls_show_accepts_a_former_id() -> None:
    code, out, err = _run("controls", "show", "infra.isolation")
    assert code == 0
    assert out.startswith("agent.sandbox:")
    assert "'infra.isolation' is deprecated; it is now 'agent.sandbox'" in err
    assert "Former ids (deprecated, still read as this one): infra.isolation" in out
