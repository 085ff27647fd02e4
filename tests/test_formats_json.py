"""findings.json and `check --format json`: valid against docs/findings.schema.json."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from report_support import AS_OF, ASSISTANT, FINDINGS_SCHEMA, HOSTILE, RULES, cli_run, render, text


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(FINDINGS_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(v: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in v.iter_errors(doc)]


def test_report_json_validates(validator: jsonschema.protocols.Validator) -> None:
    files = render(ASSISTANT, HOSTILE, formats=("json",))
    for name in ("support-assistant/findings.json", "hostile/findings.json"):
        doc = json.loads(text(files, name))
        assert not _errors(validator, doc)
        assert doc["schema_version"].startswith("1.")
        assert len(doc["models"]) == 1 and doc["as_of"] == AS_OF
        assert doc["failing"] == sum(
            1
            for f in doc["findings"]
            if f["status"] == "open"
            and not f["baselined"]
            and f["severity"] in ("high", "critical")
        )


def test_check_json_validates(validator: jsonschema.protocols.Validator) -> None:
    code, out, _ = cli_run(
        "check",
        str(ASSISTANT),
        str(HOSTILE),
        "--format",
        "json",
        "--rules",
        str(RULES),
        "--as-of",
        AS_OF,
    )
    assert code == 1
    doc = json.loads(out)
    assert not _errors(validator, doc)
    f = doc["findings"][0]
    for key in (
        "id",
        "threat",
        "title",
        "severity",
        "status",
        "elements",
        "location",
        "mitigations",
        "references",
    ):
        assert key in f
    assert set(f["location"]) == {"file", "line"}
    assert "baselined" in f and "failing" in doc and "baseline" in doc  # the policy fields
    assert {"control", "present"} <= set(f["mitigations"][0])


def test_schema_rejects_what_it_does_not_describe(
    validator: jsonschema.protocols.Validator,
) -> None:
    doc = json.loads(text(render(ASSISTANT, formats=("json",)), "support-assistant/findings.json"))
    doc["findings"][0]["surprise"] = 1
    assert _errors(validator, doc)
    del doc["findings"][0]["surprise"]
    doc["findings"][0]["severity"] = "severe"
    assert _errors(validator, doc)


def test_fast_text_is_the_documents_text() -> None:
    # findings.json and check --format json encode each finding from pieces made once
    # (render_document); the text must stay the one dumps() gives for the dict document.
    from report_support import analyse

    from threatgraph.formats import jsonout

    for paths in ((ASSISTANT,), (HOSTILE,), (ASSISTANT, HOSTILE)):
        run = analyse(*paths)
        run.verdict.baselined = run.verdict.failing[:2]  # baselined: true on some lines
        doc = jsonout.document(run.results, run)
        jsonout.add_policy(doc, run)
        assert jsonout.render_document(run.results, run) == jsonout.dumps(doc)
        if ASSISTANT in paths:  # a decision with the policy's date and location
            assert any(f.get("decision", {}).get("location") for f in doc["findings"])
