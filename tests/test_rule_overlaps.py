"""Pairs of rules that fire on the same element on purpose, and how they split the work.

TG-AG-014 (an outside tool adopted without vetting) and TG-MCP-006 (its tool definitions
changing after approval) are different attacks with different fixes. TG-AG-007 (other hosts
call an unauthenticated MCP server) and TG-MCP-004 (web pages call it through the user's
browser) are different attackers: a server that listens on loopback only gets the second, and
one credential closes both where both apply.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import load_library
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

LIB = load_library()
DAY = datetime.date(2026, 12, 1)
Doc = dict[str, Any]


def found(d: Doc, rules: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(rule, element) -> status, for the findings of ``rules``."""
    model = finalize(parse_model(copy.deepcopy(d), "<m>"), LIB.controls.keys(), LIB.aliases)
    return {
        (f.rule.id, f.element): f.status
        for f in evaluate(build(model), LIB, DAY)
        if f.rule.id in rules
    }


def controls_of(rule_id: str) -> set[str]:
    (lr,) = [lr for lr in LIB.rules if lr.rule.id == rule_id]
    return {m.control for m in lr.rule.mitigations}


REMOTE = {
    "threatgraph": 1,
    "model": {"name": "Agent with a vendor MCP server"},
    "boundaries": [{"name": "Corp", "trust": "internal"}],
    "elements": [
        {"kind": "vendor", "name": "CRM Co"},
        {"kind": "actor", "name": "Seller", "boundary": "corp"},
        {"kind": "agent", "name": "Sales agent", "boundary": "corp"},
        {
            "kind": "tool",
            "name": "CRM MCP",
            "provider": "crm-co",
            "mcp": True,
            "transport": "streamable_http",
            "source": "vendor",
            "capabilities": ["read"],
        },
    ],
    "flows": [
        {"from": "seller", "to": "sales-agent", "name": "ask", "operation": "call"},
        {"from": "sales-agent", "to": "crm-mcp", "name": "lookup", "operation": "call"},
    ],
}


def test_vetting_and_rug_pull_are_two_findings_with_disjoint_fixes() -> None:
    pair = ("TG-AG-014", "TG-MCP-006")
    assert found(REMOTE, pair) == {
        ("TG-AG-014", "crm-mcp"): "open",
        ("TG-MCP-006", "crm-mcp"): "open",
    }
    assert controls_of("TG-AG-014").isdisjoint(controls_of("TG-MCP-006"))
    pinned = copy.deepcopy(REMOTE)
    pinned["elements"][3]["controls"] = ["tool.pinning"]
    assert found(pinned, pair) == {
        ("TG-AG-014", "crm-mcp"): "open",
        ("TG-MCP-006", "crm-mcp"): "mitigated",
    }


LOCAL = {
    "threatgraph": 1,
    "model": {"name": "IDE agent with an HTTP MCP server"},
    "boundaries": [{"name": "Laptop", "trust": "internal"}],
    "elements": [
        {"kind": "actor", "name": "Developer", "boundary": "laptop"},
        {"kind": "agent", "name": "IDE agent", "boundary": "laptop"},
        {
            "kind": "tool",
            "name": "Files MCP",
            "boundary": "laptop",
            "mcp": True,
            "transport": "sse",
            "capabilities": ["file_system"],
        },
    ],
    "flows": [
        {"from": "developer", "to": "ide-agent", "name": "ask", "operation": "call"},
        {"from": "ide-agent", "to": "files-mcp", "name": "tools", "operation": "call"},
    ],
}
PAIR = ("TG-AG-007", "TG-MCP-004")


def test_a_server_where_it_listens_is_unknown_gets_both_and_one_key_closes_both() -> None:
    assert found(LOCAL, PAIR) == {
        ("TG-AG-007", "files-mcp"): "open",
        ("TG-MCP-004", "files-mcp"): "open",
    }
    keyed = copy.deepcopy(LOCAL)
    keyed["flows"][1]["controls"] = ["authn.api_keys"]
    assert found(keyed, PAIR) == {
        ("TG-AG-007", "files-mcp"): "mitigated",
        ("TG-MCP-004", "files-mcp"): "mitigated",
    }


def test_a_loopback_server_is_the_browser_attack_only() -> None:
    loopback = copy.deepcopy(LOCAL)
    loopback["elements"][2]["listens_on"] = "loopback"
    assert found(loopback, PAIR) == {("TG-MCP-004", "files-mcp"): "open"}
    network = copy.deepcopy(LOCAL)
    network["elements"][2]["listens_on"] = "network"
    assert found(network, PAIR) == found(LOCAL, PAIR)
