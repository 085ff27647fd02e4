"""The ``passes_on`` fact: the same data asset in a request served and a request made,
however the flows are drawn (answers drawn or implied, operations declared or not)."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import load_library
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

LIB = load_library()
DAY = datetime.date(2026, 12, 1)
Doc = dict[str, Any]


def system(outbound: str, ops: bool, answers: bool) -> Doc:
    flows: list[Doc] = [
        {"from": "agent", "to": "proxy", "name": "call", "data": ["user-token"]},
        {"from": "proxy", "to": "api", "name": "upstream", "data": [outbound]},
    ]
    if answers:
        flows += [
            {"from": "proxy", "to": "agent", "name": "result"},
            {"from": "api", "to": "proxy", "name": "answer"},
        ]
    for fl in flows:
        if ops:
            fl["operation"] = "response" if fl["name"] in ("result", "answer") else "call"
    return {
        "threatgraph": 1,
        "model": {"name": "Proxy"},
        "boundaries": [{"name": "Corp", "trust": "internal"}],
        "data": [
            {"name": "User token", "classification": "secret", "carried_as": "header"},
            {"name": "Own key", "classification": "secret", "carried_as": "header"},
        ],
        "elements": [
            {"kind": "agent", "name": "Agent", "boundary": "corp"},
            {"kind": "tool", "name": "Proxy", "boundary": "corp", "mcp": True},
            # A tool, not an app: with no operations declared, an arrow each way between an app
            # and a tool reads as the app asking (apps ask before tools).
            {"kind": "tool", "name": "API"},
        ],
        "flows": flows,
    }


def passthrough(d: Doc) -> set[str]:
    model = finalize(parse_model(copy.deepcopy(d), "<m>"))
    return {f.element for f in evaluate(build(model), LIB, DAY) if f.rule.id == "TG-MCP-003"}


@pytest.mark.parametrize("ops", [True, False])
@pytest.mark.parametrize("answers", [True, False])
def test_the_same_token_is_passed_on_however_drawn(ops: bool, answers: bool) -> None:
    assert passthrough(system("user-token", ops, answers)) == {"proxy"}
    assert passthrough(system("own-key", ops, answers)) == set()


def test_a_token_in_an_answer_is_not_one_received() -> None:
    # The token comes back to the proxy in the API's answer and the proxy sends it to the
    # agent in its own answer: nothing was passed on in a request.
    d = system("own-key", ops=True, answers=True)
    d["flows"][0]["data"] = []
    d["flows"][3]["data"] = ["user-token"]
    d["flows"][2]["data"] = ["user-token"]
    assert passthrough(d) == set()
