"""Every reference model and every incident drawing, redrawn, gives the same threats.

The redrawings are mechanical and keep the system the same: declared operations replaced by
plain arrows (a read drawn from the store, a call with its answer drawn back), and the
reverse, each request and its drawn answer collapsed into one declared call; a relay process
put into each request to a model or a tool (an API gateway, an MCP proxy); a proxy between
every two components of one zone, both ways through it (a chain of them between a model and
its tool); a side-effect tool, or an MCP server, drawn as an app; a model that calls tools
drawn as an agent, and the reverse (an agent with tools drawn as an llm); a relay process put
into every flow between two active elements of one zone (pipeline stages, writes, events);
a gateway (a data API, a database proxy) between each store and each element of its zone
that reads or writes it;
a dataset drawn as a plain datastore that the training pipeline reads; a gateway between a
person and the component they use.
Findings must be equal on every element both drawings have (a relay may add findings of its
own).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import Library, load_library
from threatgraph.graph import build
from threatgraph.interop.modelyaml import model_data
from threatgraph.load.declarative import parse_model
from threatgraph.load.registry import load_paths
from threatgraph.model.schema import slugify
from threatgraph.model.validate import finalize

ROOT = Path(__file__).parent.parent
DAY = date(2026, 12, 1)
Doc = dict[str, Any]

SOURCES = sorted(
    [p for p in (ROOT / "models").iterdir() if p.suffix in (".py", ".yaml")]
    + [
        p
        for p in (ROOT / "tests" / "fixtures" / "incidents").glob("*/*.yaml")
        if p.name != "expect.yaml"
    ]
)


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def _findings(doc: Doc, lib: Library) -> tuple[set[tuple[str, str]], set[str]]:
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    return {(f.rule.id, f.element) for f in evaluate(build(model), lib, DAY)}, {
        e.id for e in model.elements
    }


def _ids(doc: Doc) -> dict[str, Doc]:
    return {e.get("id") or slugify(e["name"]): e for e in doc["elements"]}


def undeclare(doc: Doc) -> Doc:
    """Declared operations replaced by arrows in the direction data moves."""
    out = copy.deepcopy(doc)
    flows = []
    for f in out["flows"]:
        op = f.pop("operation", None)
        if op == "read":
            f["from"], f["to"] = f["to"], f["from"]
            flows.append(f)
        elif op == "call":
            flows.append(f)
            back = {"from": f["to"], "to": f["from"], "name": f"{f['name']} answer"}
            if "protocol" in f:
                back["protocol"] = f["protocol"]
            flows.append(back)
        else:
            flows.append(f)
    out["flows"] = flows
    return out


def _via(f: Doc, mid: str) -> list[Doc]:
    """Flow ``f`` drawn through the element ``mid``: into it, then out of it."""
    return [
        {**f, "to": mid, "name": f"{f['name']} in"},
        {**f, "from": mid, "name": f"{f['name']} out"},
    ]


def _middle(
    out: Doc, made: dict[frozenset[str], str], key: frozenset[str], name: str, extra: Doc
) -> str:
    """The id of the process put between the two ends ``key``, added to ``out`` once."""
    if key not in made:
        made[key] = f"{name.lower()}-{len(made)}"
        el = {"kind": "process", "name": f"{name} {len(made)}", "id": made[key], **extra}
        out["elements"].append(el)
    return made[key]


def relay(doc: Doc) -> Doc:
    """A relay process put into each request to a model (from an app, process or agent) or to a
    tool (from a model or agent)."""
    out = copy.deepcopy(doc)
    els = _ids(out)
    pairs = {(f["from"], f["to"]) for f in out["flows"]}
    flows = []
    for n, f in enumerate(out["flows"]):
        src, dst = els.get(f["from"]), els.get(f["to"])
        op = f.get("operation")
        request = op == "call" or (op is None and (f["to"], f["from"]) not in pairs)
        into_model = (
            dst and dst["kind"] == "llm" and src and src["kind"] in ("app", "agent", "process")
        )
        into_tool = dst and dst["kind"] == "tool" and src and src["kind"] in ("agent", "llm")
        if not (request and (into_model or into_tool)):
            flows.append(f)
            continue
        rid = f"relay-{n}"
        relay_el: Doc = {"kind": "process", "name": f"Relay {n}", "id": rid}
        if src and src.get("boundary"):
            relay_el["boundary"] = src["boundary"]
        out["elements"].append(relay_el)
        flows.extend(_via(f, rid))
    out["flows"] = flows
    return out


_PASSIVE = {"datastore", "vector_store", "memory", "dataset", "feature_store", "model_registry"}
_PASSIVE |= {"external_content", "actor", "vendor"}


def collapse(doc: Doc) -> Doc:
    """Each undeclared request and its drawn answer between two active elements drawn as one
    declared call (the engine's own reading says which end asks)."""
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    graph = build(model)
    kinds = {e.id: e.kind.value for e in model.elements}
    position = {f.id: i for i, f in enumerate(model.flows)}
    out = copy.deepcopy(doc)
    flows: list[Doc] = []
    merged: set[str] = set()
    for f, mf in zip(out["flows"], model.flows, strict=True):
        if mf.id in merged:
            continue
        group = graph.exchanges[mf.id]
        req, srv = graph.interactions[mf.id]
        answers = [x for x in group if x != mf.id]
        if f.get("operation") or len(group) != 2 or {kinds[req], kinds[srv]} & _PASSIVE:
            flows.append(f)
            continue
        other = out["flows"][position[answers[0]]]
        if other.get("operation"):
            flows.append(f)
            continue
        merged.add(answers[0])
        call: Doc = {"from": req, "to": srv, "name": f["name"], "operation": "call"}
        data = list(dict.fromkeys([*f.get("data", []), *other.get("data", [])]))
        if data:
            call["data"] = data
        for key in ("protocol", "controls", "encrypted", "authenticated"):
            if key in f:
                call[key] = f[key]
        flows.append(call)
    out["flows"] = flows
    return out


def tool_as_app(doc: Doc) -> Doc:
    """A local tool that acts, drawn as an app with the same capabilities."""
    out = copy.deepcopy(doc)
    for e in out["elements"]:
        if e["kind"] == "tool" and not e.get("mcp") and e.get("capabilities"):
            e["kind"] = "app"
            e.pop("source", None)
            e.pop("transport", None)
    return out


def dataset_as_store(doc: Doc) -> Doc:
    """Training data drawn as a plain datastore (a bucket or a warehouse table) instead of a
    dataset: what makes it training data is that a training pipeline reads it."""
    out = copy.deepcopy(doc)
    for e in out["elements"]:
        if e["kind"] == "dataset":
            e["kind"] = "datastore"
    return out


def mcp_as_app(doc: Doc) -> Doc:
    """An MCP server drawn as an app marked ``mcp`` instead of a tool."""
    out = copy.deepcopy(doc)
    for e in out["elements"]:
        if e["kind"] == "tool" and e.get("mcp"):
            e["kind"] = "app"
    return out


def llm_as_agent(doc: Doc) -> Doc:
    """A model that chooses actions (calls tools), drawn as an agent."""
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<redrawn>")))
    agentic = graph.element_facts["agentic"]
    out = copy.deepcopy(doc)
    for eid, e in _ids(out).items():
        if e["kind"] == "llm" and graph.ix.pos[eid] in agentic:
            e["kind"] = "agent"
    return out


_ACTIVE = {"app", "process", "agent", "llm", "tool", "guardrail", "ml_model", "training_pipeline"}


def proxied(doc: Doc) -> Doc:
    """A proxy process between every two active elements of one zone that converse (a call
    or read declared, or arrows drawn both ways): a service mesh sidecar, an API gateway, an
    MCP proxy, a tool router. Both directions go through the same proxy, and proxies in a row
    make a chain. (A lone plain arrow may be a pipeline stage handing its output on, and a
    process put into it reads as one more stage.)"""
    out = copy.deepcopy(doc)
    els = _ids(out)
    drawn = {(f["from"], f["to"]) for f in out["flows"]}
    talk = {
        frozenset((f["from"], f["to"]))
        for f in out["flows"]
        if f.get("operation") in ("call", "read", "response") or (f["to"], f["from"]) in drawn
    }
    proxies: dict[frozenset[str], str] = {}
    flows = []
    for f in out["flows"]:
        src, dst = els.get(f["from"]), els.get(f["to"])
        if (
            not (src and dst and src["kind"] in _ACTIVE and dst["kind"] in _ACTIVE)
            or src is dst
            or src.get("boundary") != dst.get("boundary")
            or frozenset((f["from"], f["to"])) not in talk
        ):
            flows.append(f)
            continue
        key = frozenset((f["from"], f["to"]))
        zone = {"boundary": dst["boundary"]} if dst.get("boundary") else {}
        flows.extend(_via(f, _middle(out, proxies, key, "Proxy", zone)))
    out["flows"] = flows
    return out


def _put_between(doc: Doc, name: str, where: Callable[[Doc, Any, Any], Doc | None]) -> Doc:
    """Each flow for which ``where(flow, model flow, graph)`` gives the new element's fields
    (its zone, its trust) drawn through a process named ``name``; both directions between
    two elements go through the same one."""
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    graph = build(model)
    out = copy.deepcopy(doc)
    made: dict[frozenset[str], str] = {}
    flows = []
    for f, mf in zip(out["flows"], model.flows, strict=True):
        fields = None if f.get("physical") else where(f, mf, graph)
        if fields is None:
            flows.append(f)
            continue
        key = frozenset((f["from"], f["to"]))
        flows.extend(_via(f, _middle(out, made, key, name, fields)))
    out["flows"] = flows
    return out


def relay_everywhere(doc: Doc) -> Doc:
    """A relay process put into every flow between two active elements inside one zone, of
    whatever operation (requests, pipeline stages, writes, events), in the zone and with the
    trust of its ends; both directions between two elements go through the same relay.
    (Flows to and from a store get theirs from :func:`store_gateways`.)"""
    els = _ids(doc)

    def where(f: Doc, mf: Any, graph: Any) -> Doc | None:
        src, dst = els.get(f["from"]), els.get(f["to"])
        if (
            not (src and dst and src["kind"] in _ACTIVE and dst["kind"] in _ACTIVE)
            or src is dst
            or not src.get("boundary")
            or graph.flows[mf.id].crosses_boundary
        ):
            return None
        return {"boundary": src["boundary"], "trust": graph.trust[mf.source].value}

    return _put_between(doc, "Relay", where)


_STORES = {"datastore", "vector_store", "memory", "dataset", "feature_store", "model_registry"}


def store_gateways(doc: Doc) -> Doc:
    """A pass-through relay (a data API, a database proxy or gateway) put between each store
    and each active element of its zone that reads or writes it, in the store's zone and with
    its trust; both directions between the two go through the same relay."""
    els = _ids(doc)

    def where(f: Doc, mf: Any, graph: Any) -> Doc | None:
        src, dst = els.get(f["from"]), els.get(f["to"])
        ends = [e for e in (src, dst) if e is not None]
        stores = [e for e in ends if e["kind"] in _STORES]
        others = [e for e in ends if e["kind"] in _ACTIVE]
        if len(stores) != 1 or len(others) != 1 or graph.flows[mf.id].crosses_boundary:
            return None
        store = mf.source if stores[0] is src else mf.target
        fields: Doc = {"trust": graph.trust[store].value}
        if stores[0].get("boundary"):
            fields["boundary"] = stores[0]["boundary"]
        return fields

    return _put_between(doc, "Gateway", where)


def people_gateways(doc: Doc) -> Doc:
    """A gateway (an API gateway, a reverse proxy) put into the one arrow between a person and
    a component, in the component's zone and with its trust. Only where one arrow joins the
    two: a gateway that carries several of a person's flows (reads and writes of one store)
    is not read as passing each on yet."""
    els = _ids(doc)
    arrows: dict[frozenset[str], int] = {}
    for f in doc["flows"]:
        key = frozenset((f["from"], f["to"]))
        arrows[key] = arrows.get(key, 0) + 1

    def where(f: Doc, mf: Any, graph: Any) -> Doc | None:
        src, dst = els.get(f["from"]), els.get(f["to"])
        if not src or not dst or (src["kind"] == "actor") == (dst["kind"] == "actor"):
            return None
        if arrows[frozenset((f["from"], f["to"]))] != 1:
            return None
        comp = mf.target if src["kind"] == "actor" else mf.source
        fields: Doc = {"trust": graph.trust[comp].value}
        if els[comp].get("boundary"):
            fields["boundary"] = els[comp]["boundary"]
        return fields

    return _put_between(doc, "Gateway", where)


def agent_as_llm(doc: Doc) -> Doc:
    """An agent that runs its own model and chooses actions (calls tools, or has side-effect
    capabilities of its own) drawn as an llm with the same tools and capabilities."""
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<redrawn>")))
    runs = {graph.ix.ids[i] for i in graph.element_facts["runs_model"]}
    out = copy.deepcopy(doc)
    els = _ids(out)
    chosen = [eid for eid, e in els.items() if e["kind"] == "agent" and eid in runs]
    for eid in chosen:
        els[eid]["kind"] = "llm"
    # Only those that still choose actions as an llm: an agent with nothing to act through
    # is an agent because it is drawn as one.
    redrawn = build(finalize(parse_model(copy.deepcopy(out), "<redrawn>")))
    for eid in chosen:
        if redrawn.ix.pos[eid] not in redrawn.element_facts["agentic"]:
            els[eid]["kind"] = "agent"
    return out


REDRAWINGS: dict[str, Callable[[Doc], Doc]] = {
    "undeclared": undeclare,
    "relayed": relay,
    "tool-as-app": tool_as_app,
    "llm-as-agent": llm_as_agent,
    "undeclared-and-relayed": lambda d: relay(undeclare(d)),
    "collapsed": collapse,
    "proxied": proxied,
    "mcp-as-app": mcp_as_app,
    "proxied-and-undeclared": lambda d: proxied(undeclare(d)),
    "relayed-everywhere": relay_everywhere,
    "undeclared-and-relayed-everywhere": lambda d: relay_everywhere(undeclare(d)),
    "agent-as-llm": agent_as_llm,
    "store-gateways": store_gateways,
    "undeclared-and-store-gateways": lambda d: store_gateways(undeclare(d)),
    "dataset-as-store": dataset_as_store,
    "people-gateways": people_gateways,
    "undeclared-and-people-gateways": lambda d: people_gateways(undeclare(d)),
}


@pytest.fixture(scope="module")
def documents() -> dict[str, Doc]:
    return {
        str(lm.path.relative_to(ROOT)) if lm.path else lm.model.model.name: model_data(lm.model)
        for lm in load_paths(SOURCES)
    }


def test_sources_are_found() -> None:
    assert len(SOURCES) >= 20


@pytest.mark.parametrize("how", sorted(REDRAWINGS))
def test_redrawn_models_find_the_same_threats(
    how: str, documents: dict[str, Doc], lib: Library
) -> None:
    differences = []
    for name, doc in sorted(documents.items()):
        before, ids = _findings(doc, lib)
        after, ids2 = _findings(REDRAWINGS[how](doc), lib)
        shared = ids & ids2
        a = {x for x in before if x[1] in shared}
        b = {x for x in after if x[1] in shared}
        if a != b:
            differences.append(f"{name}: lost {sorted(a - b)}, gained {sorted(b - a)}")
    assert differences == []


def content_as_store(doc: Doc) -> tuple[Doc, set[str]]:
    """Each piece of outside content drawn as a store in the same zone that its outside
    authors write into; returns the redrawing and the ids of the redrawn elements."""
    out = copy.deepcopy(doc)
    changed: set[str] = set()
    for eid, e in _ids(out).items():
        if e["kind"] != "external_content":
            continue
        e["kind"] = "datastore"
        e.pop("provider", None)
        changed.add(eid)
        author: Doc = {"kind": "actor", "name": f"{e['name']} authors", "id": f"{eid}-authors"}
        if e.get("boundary"):
            author["boundary"] = e["boundary"]
        author["trust"] = "untrusted"
        out["elements"].append(author)
        out["flows"].append(
            {"from": f"{eid}-authors", "to": eid, "name": "publish", "operation": "write"}
        )
    return out, changed


def test_outside_content_drawn_as_a_store_its_authors_fill(
    documents: dict[str, Doc], lib: Library
) -> None:
    # The redrawn element itself becomes a store (store rules may now apply to it); every
    # other element must keep its findings.
    differences = []
    for name, doc in sorted(documents.items()):
        redrawn, changed = content_as_store(doc)
        if not changed:
            continue
        before, ids = _findings(doc, lib)
        after, ids2 = _findings(redrawn, lib)
        shared = (ids & ids2) - changed
        a = {x for x in before if x[1] in shared}
        b = {x for x in after if x[1] in shared}
        if a != b:
            differences.append(f"{name}: lost {sorted(a - b)}, gained {sorted(b - a)}")
    assert differences == []


def agent_as_app_and_model(doc: Doc) -> tuple[Doc, dict[str, str]]:
    """Each agent that runs its own model drawn as an agent loop (an app) calling a separate
    llm; returns the redrawing and, per redrawn agent, the id of its model."""
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<redrawn>")))
    runs = {graph.ix.ids[i] for i in graph.element_facts["runs_model"]}
    out = copy.deepcopy(doc)
    split: dict[str, str] = {}
    for eid, e in _ids(out).items():
        if e["kind"] != "agent" or eid not in runs:
            continue
        e["kind"] = "app"
        model: Doc = {"kind": "llm", "name": f"{e['name']} model", "id": f"{eid}-model"}
        if e.get("boundary"):
            model["boundary"] = e["boundary"]
        out["elements"].append(model)
        out["flows"].append({"from": eid, "to": model["id"], "name": "reason", "operation": "call"})
        split[eid] = model["id"]
    return out, split


@pytest.mark.parametrize("then", ["as is", "undeclared and proxied"])
def test_an_agent_drawn_as_an_app_calling_a_model(
    then: str, documents: dict[str, Doc], lib: Library
) -> None:
    # Every other element keeps its findings (the tools an agent loop drives keep theirs);
    # a finding the agent loses is about its model, and sits on the model element instead.
    differences = []
    for name, doc in sorted(documents.items()):
        redrawn, split = agent_as_app_and_model(doc)
        if not split:
            continue
        if then != "as is":
            redrawn = proxied(undeclare(redrawn))
        before, ids = _findings(doc, lib)
        after, ids2 = _findings(redrawn, lib)
        shared = (ids & ids2) - set(split)
        a = {x for x in before if x[1] in shared}
        b = {x for x in after if x[1] in shared}
        if a != b:
            differences.append(f"{name}: lost {sorted(a - b)}, gained {sorted(b - a)}")
        for rule, agent in sorted(x for x in before if x[1] in split):
            if (rule, agent) not in after and (rule, split[agent]) not in after:
                differences.append(f"{name}: {rule} on {agent} is on neither it nor its model")
    assert differences == []


def _graph(elements: list[Doc], flows: list[Doc]) -> Any:
    doc = {"threatgraph": 1, "model": {"name": "m"}, "elements": elements, "flows": flows}
    doc["boundaries"] = [{"name": "Corp", "trust": "internal"}]
    for e in elements:
        e.setdefault("boundary", "corp")
    return build(finalize(parse_model(doc, "<test>")))


def test_a_relay_in_a_one_way_arrow_passes_the_answer_back() -> None:
    # form -> queue alone is a call (the queue answers, and writes the CRM itself); a gateway
    # drawn into the arrow keeps it one: each hop is read as the arrow from form to queue.
    els = [
        {"kind": "app", "name": "Form"},
        {"kind": "process", "name": "Gateway"},
        {"kind": "process", "name": "Queue"},
        {"kind": "datastore", "name": "CRM"},
    ]
    g = _graph(
        els,
        [
            {"from": "form", "to": "gateway", "name": "a", "id": "a"},
            {"from": "gateway", "to": "queue", "name": "b", "id": "b"},
            {"from": "queue", "to": "crm", "name": "c", "id": "c", "operation": "write"},
        ],
    )
    returns = {g.ix.fids[k] for k in g.flow_flags["returns"]}
    assert {"a", "b"} <= returns and "c" not in returns
    assert g.interactions["a"] == ("form", "gateway")


def test_a_process_between_a_model_and_a_tool_handles_output() -> None:
    # A model pushing its output one way to a process that calls a payment tool: the process
    # parses the output (output handling); the model does not choose actions through it.
    g = _graph(
        [
            {"kind": "llm", "name": "Model"},
            {"kind": "process", "name": "Scheduler"},
            {"kind": "tool", "name": "Bank", "capabilities": ["payments"]},
        ],
        [
            {"from": "model", "to": "scheduler", "name": "fields", "id": "fields"},
            {"from": "scheduler", "to": "bank", "name": "order", "id": "order"},
        ],
    )
    assert g.ix.pos["model"] not in g.element_facts["agentic"]
    assert g.ix.fpos["fields"] not in g.flow_flags["returns"]


def test_a_process_that_calls_a_model_acting_on_its_own_is_no_agent_loop() -> None:
    # The model has side effects of its own: the process is its caller, drawn as llm or agent.
    for kind in ("llm", "agent"):
        g = _graph(
            [
                {"kind": "process", "name": "Installer"},
                {"kind": kind, "name": "CLI", "capabilities": ["shell"]},
            ],
            [{"from": "installer", "to": "cli", "name": "prompt", "operation": "call"}],
        )
        assert g.ix.pos["installer"] not in g.element_facts["agentic"]
        assert g.ix.pos["installer"] in g.element_facts["can_act"]


def _requesters(g: Any, fid: str) -> set[str]:
    """Every element the engine reads as asking flow ``fid`` (``requester:`` predicates)."""
    k = g.ix.fpos[fid]
    party = g.ix.also_asked_by.get(k)
    return {g.ix.ids[g.ix.freq[k]]} | ({g.ix.ids[party]} if party is not None else set())


_STORE_FRONT = [
    {"kind": "actor", "name": "User"},
    {"kind": "agent", "name": "Agent"},
    {"kind": "process", "name": "Data API"},
    {"kind": "datastore", "name": "DB", "stores": ["records"]},
]


def _store_front_graph(elements: list[Doc], flows: list[Doc]) -> Any:
    doc = {"threatgraph": 1, "model": {"name": "m"}, "elements": elements, "flows": flows}
    doc["boundaries"] = [{"name": "Corp", "trust": "internal"}]
    doc["data"] = [{"name": "Records", "classification": "pii"}]
    for e in elements:
        e.setdefault("boundary", "corp")
    return build(finalize(parse_model(doc, "<test>")))


@pytest.mark.parametrize("declared", [True, False])
def test_the_party_behind_a_data_api_asks_the_store(declared: bool) -> None:
    # agent -> data API -> DB, as declared reads and writes or as plain arrows both ways:
    # the agent reads and writes the store through the API, which does nothing itself.
    ops = ({"operation": "read"}, {"operation": "write"}) if declared else ({}, {})
    flows = [
        {"from": "user", "to": "agent", "name": "ask", "id": "ask", "operation": "call"},
        {"from": "agent", "to": "data-api", "name": "q", "id": "q", "operation": "call"},
        {"from": "data-api", "to": "db", "name": "get", "id": "get", **ops[0]},
        {"from": "data-api", "to": "db", "name": "put", "id": "put", **ops[1]},
    ]
    if not declared:
        flows[1] = {"from": "agent", "to": "data-api", "name": "q", "id": "q"}
        flows.append({"from": "data-api", "to": "agent", "name": "rows", "id": "rows"})
        flows[2] = {"from": "db", "to": "data-api", "name": "get", "id": "get"}
    g = _store_front_graph(copy.deepcopy(_STORE_FRONT), flows)
    assert _requesters(g, "get") == {"data-api", "agent"}
    assert _requesters(g, "put") == {"data-api", "agent"}
    assert g.interactions["q"] == ("agent", "data-api")
    assert g.ends_asked("put") == ("agent", "db")
    assert g.ix.pos["data-api"] in g.element_facts["fronts_stores"]


def test_an_app_with_work_of_its_own_in_front_of_a_store_asks_it() -> None:
    near_misses: dict[str, tuple[list[Doc], list[Doc]]] = {}
    base = [
        {"from": "agent", "to": "data-api", "name": "q", "id": "q", "operation": "call"},
        {"from": "data-api", "to": "db", "name": "get", "id": "get", "operation": "read"},
    ]
    # Capabilities of its own.
    with_caps = copy.deepcopy(_STORE_FRONT)
    with_caps[2]["capabilities"] = ["sql"]
    near_misses["capabilities"] = (with_caps, base)
    # People use it too: a front door with work of its own.
    near_misses["serves people"] = (
        copy.deepcopy(_STORE_FRONT),
        [*base, {"from": "user", "to": "data-api", "name": "u", "operation": "call"}],
    )
    # Several parties ask it.
    two = [*copy.deepcopy(_STORE_FRONT), {"kind": "app", "name": "Reporting"}]
    near_misses["several parties"] = (
        two,
        [*base, {"from": "reporting", "to": "data-api", "name": "r", "operation": "call"}],
    )
    # It calls a model itself.
    with_model = [*copy.deepcopy(_STORE_FRONT), {"kind": "llm", "name": "Summariser"}]
    near_misses["calls a model"] = (
        with_model,
        [*base, {"from": "data-api", "to": "summariser", "name": "s", "operation": "call"}],
    )
    for why, (elements, flows) in near_misses.items():
        g = _store_front_graph(elements, flows)
        assert _requesters(g, "get") == {"data-api"}, why
        assert g.ix.pos["data-api"] not in g.element_facts["fronts_stores"], why


def test_output_pushed_to_a_process_that_acts_is_not_relayed() -> None:
    # A model pushing output one way to a process that calls a tool (output handling): the
    # process asks the tool itself; a model calling through a gateway asks the tool.
    for op, relayed in (("write", False), ("call", True)):
        g = _store_front_graph(
            [
                {"kind": "llm", "name": "Model"},
                {"kind": "process", "name": "Handler"},
                {"kind": "tool", "name": "Bank", "capabilities": ["payments"]},
            ],
            [
                {"from": "model", "to": "handler", "name": "o", "id": "o", "operation": op},
                {"from": "handler", "to": "bank", "name": "b", "id": "b", "operation": "call"},
            ],
        )
        assert ("model" in _requesters(g, "b")) is relayed
        assert g.ix.pos["handler"] not in g.element_facts["fronts_stores"]


def test_a_read_through_a_gateway_out_of_a_store_is_the_readers() -> None:
    # store -> gateway -> app, plain arrows carrying the same data: the app reads the store
    # through the gateway. An export job that hands on other data (de-identified records)
    # reads the store itself.
    for handed, reader in (("records", "app"), ("summary", "job")):
        elements = [
            {"kind": "datastore", "name": "DB", "stores": ["records"]},
            {"kind": "process", "name": "Job"},
            {"kind": "app", "name": "App"},
        ]
        doc_flows = [
            {"from": "db", "to": "job", "name": "rows", "id": "rows", "data": ["records"]},
            {"from": "job", "to": "app", "name": "out", "id": "out", "data": [handed]},
        ]
        doc = {"threatgraph": 1, "model": {"name": "m"}, "elements": elements, "flows": doc_flows}
        doc["data"] = [
            {"name": "Records", "classification": "pii"},
            {"name": "Summary", "classification": "internal"},
        ]
        g = build(finalize(parse_model(doc, "<test>")))
        assert reader in _requesters(g, "rows"), handed


@pytest.mark.parametrize("capabilities", [[], ["sql"]])
def test_a_gateways_query_into_a_store_answered_with_data_is_a_read(
    capabilities: list[str],
) -> None:
    # gateway -> DB with no data, DB -> gateway with records: a query it passes on and its
    # result, not a write. An app with work of its own (capabilities) writes.
    g = _store_front_graph(
        [
            {"kind": "agent", "name": "Agent"},
            {"kind": "app", "name": "Gateway", "capabilities": capabilities},
            {"kind": "datastore", "name": "DB", "stores": ["records"]},
        ],
        [
            {"from": "agent", "to": "gateway", "name": "ask", "operation": "call"},
            {"from": "gateway", "to": "db", "name": "query", "id": "query"},
            {"from": "db", "to": "gateway", "name": "rows", "id": "rows", "data": ["records"]},
        ],
    )
    assert (g.ix.fpos["query"] in g.flow_flags["kept"]) is bool(capabilities)
    assert g.interactions["query"] == ("gateway", "db")


def _people_graph(kind: str, ops: tuple[Doc, Doc]) -> Any:
    doc: Doc = {
        "threatgraph": 1,
        "model": {"name": "m"},
        "boundaries": [
            {"name": "Internet", "trust": "untrusted"},
            {"name": "Corp", "trust": "internal"},
        ],
        "elements": [
            {"kind": "actor", "name": "Customer", "boundary": "internet"},
            {"kind": kind, "name": "Edge", "boundary": "corp"},
            {"kind": "datastore", "name": "Tickets", "boundary": "corp"},
        ],
        "flows": [
            {"from": "customer", "to": "edge", "name": "post", "id": "post", **ops[0]},
            {"from": "edge", "to": "tickets", "name": "save", "id": "save", **ops[1]},
        ],
    }
    return build(finalize(parse_model(doc, "<test>")))


@pytest.mark.parametrize("op", [None, "write"])
def test_a_persons_request_through_a_gateway_is_still_theirs(op: str | None) -> None:
    # customer -> gateway -> tickets: the customer writes the tickets through the gateway;
    # the hop into the store keeps its own trust change (inside the zone, no increase).
    ops: tuple[Doc, Doc] = ({"operation": op}, {"operation": op}) if op else ({}, {})
    g = _people_graph("process", ops)
    assert _requesters(g, "save") == {"edge", "customer"}
    assert g.ix.fpos["save"] not in g.flows_by("request_trust").get(1, frozenset())  # increase
    assert g.ix.fpos["post"] in g.flows_by("request_trust")[1]
    # Near misses: an app is where the customer signs in, and writes for itself; a gateway
    # whose two arrows declare different operations does its own work.
    assert _requesters(_people_graph("app", ops), "save") == {"edge"}
    mixed: tuple[Doc, Doc] = ({"operation": "call"}, {"operation": "write"})
    assert _requesters(_people_graph("process", mixed), "save") == {"edge"}
