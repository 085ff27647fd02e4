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


def test_json_text_layout_and_encoded_items() -> None:
    # json_text writes its pieces in one pass; the layout must be the one of indenting the
    # outer levels and encoding the rest compactly, and EncodedItems must read the same as
    # the values they encode.
    from threatgraph.formats.common import EncodedItems, json_compact, json_text

    def reference(value: Any, expand: int) -> str:
        def walk(v: Any, depth: int) -> str:
            pad, inner = "  " * depth, "  " * (depth + 1)
            if depth < expand and isinstance(v, dict) and v:
                body = ",\n".join(
                    f"{inner}{json_compact(k)}: {walk(x, depth + 1)}" for k, x in v.items()
                )
                return "{\n" + body + "\n" + pad + "}"
            if depth < expand and isinstance(v, list) and v:
                body = ",\n".join(f"{inner}{walk(x, depth + 1)}" for x in v)
                return "[\n" + body + "\n" + pad + "]"
            return json_compact(v)

        return walk(value, 0) + "\n"

    items = [{"id": "a", "n": [1, {"x": None}]}, {"é": '\u2028"q"', "e": {}}, [], "s", 3]
    doc = {"top": {"list": items, "empty": [], "none": None}, "flat": [1, 2], "": {"k": []}}
    for expand in range(6):
        assert json_text(doc, expand) == reference(doc, expand)
        if expand in (2, 3):  # where the items are compact; the array is laid out by json_text
            raw = {**doc, "top": {**doc["top"], "list": EncodedItems(map(json_compact, items))}}
            assert json_text(raw, expand) == reference(doc, expand)
    assert json_text(EncodedItems([]), 2) == "[]\n"
