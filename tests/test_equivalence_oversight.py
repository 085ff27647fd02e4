"""Redrawing checks for the oversight facts and the rules that read them (TG-AG-021/022).

Oversight is declared on the overseer, and its facts (a shared model or vendor, shared memory,
a ring of approvals) are read from who asks whom. Each test draws one system several ways
(answers drawn or implied, no operations at all, a model gateway or memory service in between)
and checks that the same findings come out on the same elements, and that there are some.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from helpers import answers_drawn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import load_library
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize
from threatgraph.util.errors import InputError

LIB = load_library()
DAY = datetime.date(2026, 12, 1)
RULES = ("TG-AG-021", "TG-AG-022")

Doc = dict[str, Any]


def threats(d: Doc) -> set[tuple[str, str]]:
    """(rule, primary element) of the oversight rules' findings."""
    model = finalize(parse_model(copy.deepcopy(d), "<drawn>"))
    return {(f.rule.id, f.element) for f in evaluate(build(model), LIB, DAY) if f.rule.id in RULES}


def doc(elements: list[Doc], flows: list[Doc]) -> Doc:
    return {
        "threatgraph": 1,
        "model": {"name": "Drawn"},
        "boundaries": [{"name": "Corp", "trust": "internal"}],
        "elements": [e | {"boundary": "corp"} for e in elements],
        "flows": flows,
    }


def undeclared(d: Doc) -> Doc:
    """Answers drawn as arrows back, reads drawn from the store, and no operations at all."""
    out = answers_drawn(d)
    flows = []
    for fl in out["flows"]:
        op = fl.pop("operation", None)
        if op == "read":  # a read drawn the way the content moves: out of the store
            flows.append({**fl, "from": fl["to"], "to": fl["from"]})
        elif op == "response" and fl["name"].endswith("answer") and fl["from"] in STORES:
            continue  # the store's content already moves along the redrawn read
        else:
            flows.append(fl)
    out["flows"] = flows
    return out


STORES = {"notes"}


def through_gateway(d: Doc, memory: bool = True) -> Doc:
    """Every call to a model goes through a gateway in front of that model, and (``memory``)
    writes and reads of memory through a memory service. A memory service that every agent
    both writes and reads through passes each one's content into the store, so it is a
    redrawing only where one side writes and the other reads (the fixed systems below)."""
    out = copy.deepcopy(d)
    out["elements"].append({"kind": "app", "name": "Memory service", "boundary": "corp"})
    models = {e["name"].lower().replace(" ", "-") for e in d["elements"] if e["kind"] == "llm"}
    for m in sorted(models):
        out["elements"].append({"kind": "process", "name": f"Gateway {m}", "boundary": "corp"})
        out["flows"].append({"from": f"gateway-{m}", "to": m, "name": "relay", "operation": "call"})
    extra: list[Doc] = []
    for fl in out["flows"]:
        if fl["to"] in models and not fl["from"].startswith("gateway-"):
            fl["to"] = f"gateway-{fl['to']}"
        elif memory and fl["to"] in STORES:
            extra.append(
                {"from": "memory-service", "to": fl["to"], "name": f"relay {fl['name']}"}
                | {"operation": fl["operation"]}
            )
            fl["to"], fl["operation"] = "memory-service", "call"
    out["flows"] += extra
    return out


SHARED = doc(
    [
        {"kind": "actor", "name": "Engineer"},
        {"kind": "agent", "name": "Release agent"},
        {
            "kind": "agent",
            "name": "Approver",
            "oversees": [{"element": "release-agent", "role": "approve"}],
        },
        {"kind": "llm", "name": "Model"},
        {"kind": "tool", "name": "Deployer", "capabilities": ["deploy"]},
    ],
    [
        {"from": "engineer", "to": "release-agent", "name": "task", "operation": "call"},
        {"from": "release-agent", "to": "model", "name": "plan", "operation": "call"},
        {"from": "approver", "to": "model", "name": "judge", "operation": "call"},
        {"from": "release-agent", "to": "approver", "name": "approve?", "operation": "call"},
        {"from": "release-agent", "to": "deployer", "name": "deploy", "operation": "call"},
    ],
)

MEMORY = doc(
    [
        {"kind": "actor", "name": "Customer"},
        {"kind": "agent", "name": "Refund agent", "capabilities": ["payments"]},
        {
            "kind": "agent",
            "name": "Reviewer",
            "oversees": [{"element": "refund-agent", "role": "review"}],
        },
        {"kind": "memory", "name": "Notes"},
    ],
    [
        {"from": "customer", "to": "refund-agent", "name": "chat", "operation": "call"},
        {"from": "refund-agent", "to": "notes", "name": "note", "operation": "write"},
        {"from": "reviewer", "to": "notes", "name": "recall", "operation": "read"},
        {"from": "refund-agent", "to": "reviewer", "name": "proposal", "operation": "call"},
    ],
)

RING = doc(
    [
        {"kind": "actor", "name": "Requester"},
        {
            "kind": "agent",
            "name": "Buyer",
            "capabilities": ["payments"],
            "oversees": [{"element": "finance", "role": "approve"}],
        },
        {
            "kind": "agent",
            "name": "Finance",
            "capabilities": ["payments"],
            "oversees": [{"element": "buyer", "role": "review"}],
        },
    ],
    [
        {"from": "requester", "to": "buyer", "name": "buy", "operation": "call"},
        {"from": "buyer", "to": "finance", "name": "approve?", "operation": "call"},
    ],
)


@pytest.mark.parametrize(
    ("system", "found"),
    [
        (SHARED, {("TG-AG-021", "release-agent")}),
        (MEMORY, {("TG-AG-021", "refund-agent")}),
        (RING, {("TG-AG-022", "buyer"), ("TG-AG-022", "finance")}),
    ],
    ids=["shared-model", "shared-memory", "ring"],
)
def test_oversight_threats_do_not_depend_on_the_drawing(system: Doc, found: set[Any]) -> None:
    assert threats(system) == found
    assert threats(answers_drawn(system)) == found
    assert threats(undeclared(system)) == found
    assert threats(through_gateway(system)) == found


def test_the_ring_needs_no_flow_between_the_agents() -> None:
    # Oversight is declared, not drawn: the approval request may go through anything, or be
    # left out of the drawing.
    bare = copy.deepcopy(RING)
    bare["flows"] = [f for f in bare["flows"] if f["to"] != "finance"]
    assert threats(bare) == threats(RING)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"element": "approver", "role": "approve"}, "cannot oversee itself"),
        ({"element": "notes", "role": "review"}, "does not act"),
        ({"element": "nobody", "role": "approve"}, "unknown overseen element"),
    ],
)
def test_oversight_entries_are_checked(entry: Doc, message: str) -> None:
    d = copy.deepcopy(SHARED)
    d["elements"].append({"kind": "memory", "name": "Notes", "boundary": "corp"})
    d["elements"][2]["oversees"] = [entry]
    with pytest.raises(InputError) as err:
        finalize(parse_model(d, "<drawn>"))
    assert message in str(err.value)


def test_the_same_oversight_twice_is_refused() -> None:
    d = copy.deepcopy(SHARED)
    d["elements"][2]["oversees"] *= 2
    with pytest.raises(InputError, match="listed twice"):
        finalize(parse_model(d, "<drawn>"))


def test_a_store_cannot_oversee() -> None:
    d = copy.deepcopy(MEMORY)
    d["elements"][3]["oversees"] = [{"element": "refund-agent", "role": "monitor"}]
    with pytest.raises(InputError, match="cannot oversee others"):
        finalize(parse_model(d, "<drawn>"))


@st.composite
def overseen_systems(draw: st.DrawFn) -> Doc:
    """Agents on one or two models, some oversight among them, maybe a shared memory."""
    n = draw(st.integers(2, 4))
    names = [f"agent-{i}" for i in range(n)]
    elements: list[Doc] = [{"kind": "actor", "name": "User"}]
    elements += [{"kind": "llm", "name": "Model A"}, {"kind": "llm", "name": "Model B"}]
    flows: list[Doc] = [{"from": "user", "to": "agent-0", "name": "ask", "operation": "call"}]
    for i, name in enumerate(names):
        oversees = [
            {"element": other, "role": role}
            for other in names
            if other != name
            and (role := draw(st.sampled_from([None, "approve", "review", "monitor"])))
        ]
        elements.append({"kind": "agent", "name": f"Agent {i}", "oversees": oversees})
        model = draw(st.sampled_from(["model-a", "model-b"]))
        flows.append({"from": name, "to": model, "name": f"think {i}", "operation": "call"})
    if draw(st.booleans()):
        elements.append({"kind": "memory", "name": "Notes"})
        writer, reader = draw(st.permutations(names))[:2]
        flows += [
            {"from": writer, "to": "notes", "name": "note", "operation": "write"},
            {"from": reader, "to": "notes", "name": "recall", "operation": "read"},
        ]
    return doc(elements, flows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overseen_systems())
def test_oversight_findings_keep_when_redrawn(d: Doc) -> None:
    once = threats(d)
    assert threats(answers_drawn(d)) == once
    assert threats(undeclared(d)) == once
    assert threats(through_gateway(d, memory=False)) == once


def test_a_gateway_in_front_of_several_models_hides_which_one_an_agent_uses() -> None:
    two = copy.deepcopy(SHARED)
    two["elements"] += [
        {"kind": "llm", "name": "Other model", "boundary": "corp"},
        {"kind": "process", "name": "Gateway", "boundary": "corp"},
    ]
    two["flows"] = [f for f in two["flows"] if f["to"] != "model"] + [
        {"from": "release-agent", "to": "gateway", "name": "plan", "operation": "call"},
        {"from": "approver", "to": "gateway", "name": "judge", "operation": "call"},
        {"from": "gateway", "to": "model", "name": "route a", "operation": "call"},
        {"from": "gateway", "to": "other-model", "name": "route b", "operation": "call"},
    ]
    assert threats(two) == set()  # unknown, not assumed shared
    for el in two["elements"]:
        if el["kind"] == "llm":
            el["provider"] = "model-co"
    two["elements"].append({"kind": "vendor", "name": "Model Co"})
    assert threats(two) == {("TG-AG-021", "release-agent")}  # one vendor behind it
