"""findings.sarif: valid SARIF 2.1.0 within GitHub's limits, stable fingerprints, suppressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import shared_reference
from report_support import ASSISTANT, HOSTILE, ROOT, SARIF_SCHEMA, render, text

from threatgraph.formats import sarif as sarif_mod
from threatgraph.formats.sarif import artifact_uri, message_text


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    return jsonschema.Draft4Validator(schema)


def test_the_schema_is_the_official_sarif_2_1_0_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    assert schema["id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert len(schema["definitions"]) > 50
    # The same bytes as the copy in ../shared/reference (where one is laid out).
    assert SARIF_SCHEMA.read_bytes() == shared_reference("schemas/sarif-2.1.0.json").read_bytes()


def _sarif(*paths: Path, **kw: Any) -> dict[str, dict[str, Any]]:
    files = render(*paths, formats=("sarif", "json"), **kw)
    return {k: json.loads(text(files, k)) for k in files if k.endswith((".sarif", ".json"))}


def _check_github_limits(doc: dict[str, Any]) -> None:
    assert doc["version"] == "2.1.0" and len(doc["runs"]) <= 20
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert len(rules) <= 25_000 and len(run["results"]) <= 25_000
        for r in rules:
            assert r["shortDescription"]["text"] and len(r["shortDescription"]["text"]) <= 1024
            assert r["fullDescription"]["text"] and len(r["fullDescription"]["text"]) <= 1024
            assert len(r["name"]) <= 255 and r["help"]["text"]
            tags = r["properties"]["tags"]
            assert tags[0] == "security" and len(tags) <= 20 and len(set(tags)) == len(tags)
            sev = float(r["properties"]["security-severity"])
            assert 0.0 < sev <= 10.0
            assert r["helpUri"].startswith("https://")
        for res in run["results"]:
            assert res["message"]["text"]
            assert 1 <= len(res["locations"]) <= 10
            phys = res["locations"][0]["physicalLocation"]
            assert phys["region"]["startLine"] >= 1
            uri = phys["artifactLocation"]["uri"]
            assert not uri.startswith("/") and "\\" not in uri
            assert res["partialFingerprints"]["primaryLocationLineHash"]
            assert res["ruleId"] == rules[res["ruleIndex"]]["id"]
            assert len(res.get("relatedLocations", [])) <= 1000


def test_valid_against_the_official_schema(validator: jsonschema.protocols.Validator) -> None:
    docs = _sarif(ASSISTANT, HOSTILE)
    sarifs = [d for k, d in docs.items() if k.endswith(".sarif")]
    assert len(sarifs) == 2
    for doc in sarifs:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
        _check_github_limits(doc)


def test_results_match_findings_with_levels_and_suppressions() -> None:
    docs = _sarif(ASSISTANT)
    sarif, findings = (
        docs["support-assistant/findings.sarif"],
        docs["support-assistant/findings.json"],
    )
    results = sarif["runs"][0]["results"]
    by_id = {r["properties"]["findingId"]: r for r in results}
    assert set(by_id) == {f["id"] for f in findings["findings"]}
    levels = {
        "critical": "error",
        "high": "error",
        "medium": "warning",
        "low": "note",
        "info": "note",
    }
    for f in findings["findings"]:
        r = by_id[f["id"]]
        assert r["level"] == levels[f["severity"]]
        assert r["partialFingerprints"]["threatgraphFindingId/v1"] == f["fingerprint"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {
            "uri": "tests/fixtures/report/assistant.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        assert loc["region"]["startLine"] == f["location"]["line"]
        if f["status"] == "open":
            assert "suppressions" not in r
        else:
            (s,) = r["suppressions"]
            assert s["kind"] == "inSource" and s["status"] == "accepted"
    accepted = by_id["TG-RPT-003/customer-db"]["suppressions"][0]
    assert accepted["justification"].startswith("accepted: The vault is reachable")
    assert "owner security@example.org, expires 2027-03-01" in accepted["justification"]
    assert accepted["location"]["physicalLocation"]["region"]["startLine"] > 1
    mitigated = by_id["TG-RPT-004/web-app"]["suppressions"][0]
    assert mitigated["justification"] == "mitigated: the model declares audit.logging"


def test_open_results_come_first_and_path_findings_have_a_code_flow() -> None:
    results = _sarif(ASSISTANT)["support-assistant/findings.sarif"]["runs"][0]["results"]
    states = ["suppressions" in r for r in results]
    assert states == sorted(states)
    path = next(r for r in results if r["properties"]["findingId"] == "TG-RPT-003/customer-db")
    steps = path["codeFlows"][0]["threadFlows"][0]["locations"]
    names = [s["location"]["logicalLocations"][0]["name"] for s in steps]
    assert names == ["customer", "web-app", "shield", "agent", "lookup-tool", "customer-db"]


def test_rules_carry_help_tags_and_security_severity() -> None:
    sarif = _sarif(ASSISTANT)["support-assistant/findings.sarif"]
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    r1 = rules["TG-RPT-001"]
    assert r1["name"] == "TestRuleForLLMsAndAgentsWithTooFewGuardrails"
    assert r1["properties"]["tags"][:4] == [
        "security",
        "external/cwe/cwe-1427",
        "owasp-llm/LLM01",
        "atlas/AML.T0051",
    ]
    assert r1["properties"]["security-severity"] == "8.0"
    assert "**Mitigations**" in r1["help"]["markdown"]
    assert "(`guardrail.input_filter`)" in r1["help"]["markdown"]
    assert r1["helpUri"] == "https://genai.owasp.org/llmrisk/llm01-prompt-injection/"
    assert rules["TG-RPT-003"]["properties"]["security-severity"] == "9.5"
    assert rules["TG-RPT-003"]["defaultConfiguration"]["level"] == "error"
    assert sarif["runs"][0]["automationDetails"]["id"] == "threatgraph/support-assistant/"


def test_closed_findings_can_be_left_out() -> None:
    docs = _sarif(ASSISTANT, sarif_suppressed=False)
    results = docs["support-assistant/findings.sarif"]["runs"][0]["results"]
    opened = [
        f for f in docs["support-assistant/findings.json"]["findings"] if f["status"] == "open"
    ]
    assert len(results) == len(opened) and not any("suppressions" in r for r in results)


def test_result_cap_keeps_open_findings_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif_mod, "MAX_RESULTS", 3)
    run = _sarif(ASSISTANT)["support-assistant/findings.sarif"]["runs"][0]
    assert len(run["results"]) == 3 and not any("suppressions" in r for r in run["results"])
    note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert note.endswith("(open findings were kept first).") and "results left out" in note


def test_tags_are_capped_at_twenty() -> None:
    from report_support import analyse

    from threatgraph.formats.view import ModelView

    r = analyse(ASSISTANT)
    m = r.results[0]
    view = ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", "x")
    refs = [f"cwe:CWE-{n}@4.16" for n in range(1, 40)]
    rule = m.findings[0].rule.model_copy(update={"references": refs})
    tags = sarif_mod._tags(view, rule)
    assert len(tags) == 20 and tags[0] == "security"


def test_message_text_escapes_embedded_link_syntax() -> None:
    assert message_text("a [b](1) \\ c\nd") == "a \\[b\\](1) \\\\ c d"
    assert len(message_text("x" * 5000)) == sarif_mod.MAX_MESSAGE


def test_hostile_messages_are_plain_text() -> None:
    results = _sarif(HOSTILE)["hostile/findings.sarif"]["runs"][0]["results"]
    for r in results:
        msg = r["message"]["text"]
        assert "\n" not in msg
        assert "[" not in msg.replace("\\[", "") and "]" not in msg.replace("\\]", "")


def test_artifact_uri_relative_to_the_repository_root(tmp_path: Path) -> None:
    assert artifact_uri(str(ROOT / "models" / "a b.py"), ROOT) == {
        "uri": "models/a%20b.py",
        "uriBaseId": "%SRCROOT%",
    }
    outside = artifact_uri(str(tmp_path / "m.yaml"), ROOT)
    assert outside == {"uri": (tmp_path / "m.yaml").resolve().as_uri()}


def test_fast_text_is_the_documents_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # findings.sarif writes each result from pieces made once (render_sarif); the text must
    # stay the one dumps() gives for the dict document, in every mode.
    from report_support import analyse

    from threatgraph.formats.view import ModelView

    for path in (ASSISTANT, HOSTILE):
        r = analyse(path)
        m = r.results[0]
        view = ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", str(path))
        view.baselined_ids = {id(f) for f in view.open_findings()[:2]}
        for suppressed in (True, False):
            for baseline in (True, False):
                expected = sarif_mod.dumps(sarif_mod.document(view, ROOT, suppressed, baseline))
                assert sarif_mod.render_sarif(view, ROOT, suppressed, baseline) == expected
    monkeypatch.setattr(sarif_mod, "MAX_RESULTS", 3)
    assert sarif_mod.render_sarif(view, ROOT) == sarif_mod.dumps(sarif_mod.document(view, ROOT))
