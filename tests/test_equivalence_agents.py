"""Redrawing checks for the agent and MCP rules of library v2.

Each test draws one system two or more ways that describe the same thing (an answer drawn as
its own flow or left implied by the call, arrows with and without operations, a channel drawn
as a bus or as a queue, an outside MCP server drawn as a tool or listed in the agent's
software) and checks that the rules of interest find the same threats on the same elements,
and that they do find them: an empty set on both sides would prove nothing.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from helpers import answers_drawn, builtin_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.engine.evaluate import evaluate
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

DAY = datetime.date(2026, 12, 1)

Doc = dict[str, Any]


def threats(doc: Doc, prefixes: tuple[str, ...]) -> set[tuple[str, str]]:
    """(rule, primary element) of the findings of rules whose id starts with a prefix."""
    model = finalize(parse_model(copy.deepcopy(doc), "<drawn>"))
    return {
        (f.rule.id, f.element)
        for f in evaluate(build(model), builtin_library(), DAY)
        if f.rule.id.startswith(prefixes)
    }


def doc(elements: list[dict[str, Any]], flows: list[dict[str, Any]]) -> Doc:
    return {
        "threatgraph": 1,
        "model": {"name": "Drawn"},
        "boundaries": [
            {"name": "Corp", "trust": "internal"},
            {"name": "Internet", "trust": "untrusted"},
            {"name": "Partner", "trust": "partner"},
        ],
        "elements": elements,
        "flows": flows,
    }


def undeclared(d: Doc) -> Doc:
    """Answers drawn as arrows back and no operations declared at all."""
    out = answers_drawn(d)
    for fl in out["flows"]:
        fl.pop("operation", None)
    return out


# -- MCP servers and remote agents: call only, call and answer, no operations ------------

VENDOR_MCP = doc(
    [
        {"kind": "vendor", "name": "Helpdesk vendor"},
        {"kind": "actor", "name": "Supervisor", "boundary": "corp"},
        {"kind": "agent", "name": "Support agent", "boundary": "corp"},
        {"kind": "tool", "name": "Mailer", "boundary": "corp", "capabilities": ["send_email"]},
        {
            "kind": "tool",
            "name": "Helpdesk MCP",
            "boundary": "corp",
            "provider": "helpdesk-vendor",
            "mcp": True,
            "transport": "streamable_http",
            "source": "vendor",
            "capabilities": ["read"],
        },
        {"kind": "agent", "name": "Partner agent", "boundary": "partner"},
    ],
    [
        {"from": "supervisor", "to": "support-agent", "name": "task", "operation": "call"},
        {"from": "support-agent", "to": "mailer", "name": "send", "operation": "call"},
        {"from": "support-agent", "to": "helpdesk-mcp", "name": "lookup", "operation": "call"},
        {"from": "support-agent", "to": "partner-agent", "name": "delegate", "operation": "call"},
    ],
)
MCP_RULES = ("TG-MCP-", "TG-AG-017")


def test_mcp_and_remote_agent_threats_do_not_depend_on_drawn_answers() -> None:
    once = threats(VENDOR_MCP, MCP_RULES)
    assert {
        ("TG-MCP-001", "support-agent"),
        ("TG-MCP-006", "helpdesk-mcp"),
        ("TG-AG-017", "partner-agent"),
    } <= once
    assert threats(answers_drawn(VENDOR_MCP), MCP_RULES) == once
    assert threats(undeclared(VENDOR_MCP), MCP_RULES) == once


def test_an_mcp_gateway_between_the_agent_and_its_servers_changes_nothing() -> None:
    relayed = copy.deepcopy(VENDOR_MCP)
    relayed["elements"].append({"kind": "process", "name": "MCP gateway", "boundary": "corp"})
    for fl in relayed["flows"]:
        if fl["to"] in ("mailer", "helpdesk-mcp"):
            fl["from"] = "mcp-gateway"
    relayed["flows"].append(
        {"from": "support-agent", "to": "mcp-gateway", "name": "tools", "operation": "call"}
    )
    assert threats(relayed, MCP_RULES) == threats(VENDOR_MCP, MCP_RULES)


def test_outside_mcp_server_as_tool_or_as_software_shadows_the_same_agent() -> None:
    as_software = copy.deepcopy(VENDOR_MCP)
    as_software["elements"] = [e for e in as_software["elements"] if e["name"] != "Helpdesk MCP"]
    as_software["flows"] = [f for f in as_software["flows"] if f["to"] != "helpdesk-mcp"]
    for el in as_software["elements"]:
        if el["name"] == "Support agent":
            el["software"] = [{"kind": "mcp_server", "origin": "vendor", "pinned": False}]
    shadowing = ("TG-MCP-001",)
    assert threats(VENDOR_MCP, shadowing) == threats(as_software, shadowing)
    assert threats(as_software, shadowing) == {("TG-MCP-001", "support-agent")}


def test_token_passthrough_whichever_way_drawn() -> None:
    d = doc(
        [
            {"kind": "agent", "name": "Coder", "boundary": "corp"},
            {"kind": "tool", "name": "Tracker MCP", "boundary": "corp", "mcp": True},
            {"kind": "app", "name": "Tracker API", "boundary": "partner"},
        ],
        [
            {
                "from": "coder",
                "to": "tracker-mcp",
                "name": "call",
                "operation": "call",
                "data": ["token"],
            },
            {
                "from": "tracker-mcp",
                "to": "tracker-api",
                "name": "api",
                "operation": "call",
                "data": ["token"],
            },
        ],
    )
    d["data"] = [{"name": "Token", "classification": "secret", "carried_as": "header"}]
    once = threats(d, ("TG-MCP-003",))
    assert once == {("TG-MCP-003", "tracker-mcp")}
    assert threats(answers_drawn(d), ("TG-MCP-003",)) == once


# -- a channel between agents: a bus with events, or a queue written and read --------------


def agents_through(kind: str, publish: str, take: str) -> Doc:
    flows = [
        {"from": "operator", "to": "planner", "name": "goal", "operation": "call"},
        {"from": "planner", "to": "channel", "name": "publish", "operation": publish},
    ]
    if take == "read":
        flows.append({"from": "worker", "to": "channel", "name": "take", "operation": "read"})
    else:
        flows.append({"from": "channel", "to": "worker", "name": "deliver", "operation": take})
    return doc(
        [
            {"kind": "actor", "name": "Operator", "boundary": "corp"},
            {"kind": "agent", "name": "Planner", "boundary": "corp"},
            {"kind": kind, "name": "Channel", "boundary": "corp"},
            {"kind": "agent", "name": "Worker", "boundary": "corp"},
        ],
        flows,
    )


@pytest.mark.parametrize(
    ("kind", "publish", "take"),
    [
        ("process", "event", "event"),
        ("app", "call", "call"),
        ("datastore", "write", "read"),
        ("datastore", "write", "event"),
    ],
)
def test_a_channel_between_agents_is_one_threat_however_drawn(
    kind: str, publish: str, take: str
) -> None:
    found = threats(agents_through(kind, publish, take), ("TG-AG-018",))
    assert found == {("TG-AG-018", "worker")}


# -- generated systems: the new rules do not move when answers are drawn -------------------


@st.composite
def agent_systems(draw: st.DrawFn) -> Doc:
    """An agent with in-house and outside MCP servers, maybe a remote agent and a cache."""
    elements: list[dict[str, Any]] = [
        {"kind": "actor", "name": "User", "boundary": draw(st.sampled_from(["corp", "internet"]))},
        {"kind": "agent", "name": "Agent", "boundary": "corp"},
    ]
    flows: list[dict[str, Any]] = [
        {"from": "user", "to": "agent", "name": "ask", "operation": "call"},
    ]
    for i in range(draw(st.integers(1, 3))):
        elements.append(
            {
                "kind": "tool",
                "name": f"Server {i}",
                "boundary": draw(st.sampled_from(["corp", "partner"])),
                "mcp": True,
                "transport": draw(st.sampled_from(["stdio", "http", "sse"])),
                "source": draw(st.sampled_from(["internal", "open_source", "vendor"])),
                "capabilities": draw(
                    st.lists(
                        st.sampled_from(["read", "write", "send_email", "shell"]),
                        min_size=1,
                        max_size=2,
                        unique=True,
                    )
                ),
            }
        )
        flows.append(
            {"from": "agent", "to": f"server-{i}", "name": f"use {i}", "operation": "call"}
        )
    if draw(st.booleans()):
        elements.append({"kind": "agent", "name": "Remote", "boundary": "partner"})
        flows.append({"from": "agent", "to": "remote", "name": "delegate", "operation": "call"})
    if draw(st.booleans()):
        elements.append({"kind": "vector_store", "name": "Cache", "boundary": "corp"})
        flows += [
            {"from": "agent", "to": "cache", "name": "look up", "operation": "read"},
            {"from": "agent", "to": "cache", "name": "keep", "operation": "write"},
        ]
    return doc(elements, flows)


NEW_RULES = (
    "TG-MCP-",
    "TG-AG-015",
    "TG-AG-016",
    "TG-AG-017",
    "TG-AG-018",
    "TG-AG-019",
    "TG-AG-020",
    "TG-PI-011",
    "TG-MIS-004",
    "TG-MIS-005",
    "TG-DISC-006",
    "TG-VEC-004",
    "TG-VEC-005",
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent_systems())
def test_new_rules_keep_their_findings_when_answers_are_drawn(d: Doc) -> None:
    once = threats(d, NEW_RULES)
    assert threats(answers_drawn(d), NEW_RULES) == once
    assert threats(undeclared(d), NEW_RULES) == once
