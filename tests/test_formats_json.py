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
