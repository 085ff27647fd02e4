"""Test helpers: build models and one-rule libraries from plain dicts."""

from __future__ import annotations

import copy
import os
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from threatgraph import graph as graph_mod
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library, LoadedRule, load_library
from threatgraph.engine.rules import Rule
from threatgraph.load.declarative import parse_model
from threatgraph.model.schema import SystemModel
from threatgraph.model.validate import finalize

#: ../shared, beside the checkout: reference material no package ships (the OTM schema and
#: example, the MITRE ATLAS table). CI lays a copy of it there.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_reference(name: str) -> Path:
    """``../shared/reference/<name>``. When it is missing the test skips on a developer's
    clone, and fails under ``CI=true``: a CI run without the reference must not pass by
    skipping what it was meant to check."""
    path = SHARED / "reference" / name
    if not path.is_file():
        why = f"{path} is not available (reference material beside the checkout)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}; CI=true, so this fails rather than skips")
        pytest.skip(why)
    return path


@cache
def builtin_library() -> Library:
    """The built-in library, loaded on first use and shared after: never at import, so that
    collecting the tests does not load it."""
    return load_library()


def model(doc: dict[str, Any], check_controls: bool = True) -> SystemModel:
    """A finalized model from a YAML-shaped dict."""
    doc = {"threatgraph": 1, **doc}
    doc.setdefault("model", {"name": "Test"})
    return finalize(
        parse_model(doc, "test.yaml"), builtin_library().controls.keys() if check_controls else None
    )


def rule(
    match: dict[str, Any], mitigations: list[dict[str, Any]] | None = None, **extra: Any
) -> Rule:
    """A valid rule around a match block."""
    body: dict[str, Any] = {
        "id": "TG-TEST-001",
        "title": "A test rule",
        "family": "test",
        "description": "A rule used by the engine tests to exercise one predicate at a time.",
        "severity": "high",
        "likelihood": "medium",
        "stride": ["tampering"],
        "references": ["owasp-llm:LLM01@2025"],
        "mitigations": mitigations or [{"control": "guardrail.input_filter"}],
        "match": match,
        "detection": "Matches what the test says it matches.",
        "false_positives": "None; it is a test.",
    }
    body.update(extra)
    return Rule.model_validate(body)


def library(*rules: Rule, predicates: dict[str, Any] | None = None) -> Library:
    """A library holding only these rules (and the built-in controls and predicates)."""
    return Library(
        rules=[LoadedRule(rule=r, path=Path(f"{r.id}.yaml"), builtin=False) for r in rules],
        controls=builtin_library().controls,
        references=builtin_library().references,
        predicates=dict(builtin_library().predicates),
        roots=[],
    )


def findings(m: SystemModel, *rules: Rule, as_of: date | None = None) -> list[Finding]:
    """Evaluate rules against a model."""
    return evaluate(graph_mod.build(m), library(*rules), as_of or date(2026, 6, 1))


def ids(fs: list[Finding]) -> list[str]:
    """Finding ids, sorted."""
    return sorted(f.id for f in fs)


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    """Write a YAML model file."""
    path.write_text(yaml.safe_dump({"threatgraph": 1, **doc}, sort_keys=False))
    return path


def answers_drawn(d: dict[str, Any]) -> dict[str, Any]:
    """A copy of a model document with every call and read answered by its own response flow
    (a redrawing: the answer was implied by the call)."""
    out = copy.deepcopy(d)
    for fl in d["flows"]:
        if fl.get("operation") in ("call", "read"):
            out["flows"].append(
                {"from": fl["to"], "to": fl["from"], "name": f"{fl['name']} answer"}
                | {"operation": "response"}
            )
    return out
