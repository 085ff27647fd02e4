"""Metamorphic tests of engine v2: redrawing a system without changing it keeps its threats.

A hypothesis strategy draws a small AI system (people, an app, a model or an agent with tools,
stores, outside content, in trust zones), and each test redraws it in a way that describes the
same system:

- answers drawn as their own ``response`` flows, or left implied by the ``call``;
- a model that calls tools drawn as an ``llm`` or as an ``agent``;
- a side-effect capability held by a ``tool`` or by an ``app`` that does the same job;
- an outsider's content written into a store the agent reads, drawn with the store or with
  the writer straight into the reader;
- a relay (a gateway process) put into a request.

The threats, as (rule, element) pairs over the elements both drawings share, must not change.
Besides the generated systems, the measured cases of the engine v2 issue are pinned as
examples.
"""

from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any

import pytest
from helpers import builtin_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.engine.evaluate import evaluate
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

DAY = __import__("datetime").date(2026, 12, 1)

Doc = dict[str, Any]


def threats(doc: Doc) -> set[tuple[str, str]]:
    """(rule, primary element) of every finding of a model document."""
    model = finalize(parse_model(copy.deepcopy(doc), "<generated>"))
    return {(f.rule.id, f.element) for f in evaluate(build(model), builtin_library(), DAY)}


def shared(a: set[tuple[str, str]], b: set[tuple[str, str]], ids: set[str]) -> tuple[set, set]:
    """The two finding sets restricted to elements both drawings have."""
    return {x for x in a if x[1] in ids}, {x for x in b if x[1] in ids}


# -- a strategy for small AI systems ------------------------------------------------------

CAPS = ["read", "write", "send_email", "http", "payments", "execute_code", "post_message"]


@st.composite
def systems(draw: st.DrawFn) -> Doc:
    """A small system: a person uses an app that calls a model (an llm with tools, or not),
    which calls tools; stores are read or written; outside content may come in."""
    untrusted_user = draw(st.booleans())
    n_tools = draw(st.integers(0, 3))
    elements: list[dict[str, Any]] = [
        {"kind": "actor", "name": "User", "boundary": "internet" if untrusted_user else "corp"},
        {"kind": "app", "name": "Front end", "boundary": "corp"},
        {"kind": "llm", "name": "Model", "boundary": "corp"},
    ]
    flows: list[dict[str, Any]] = [
        {"from": "user", "to": "front-end", "name": "ask", "operation": "call"},
        {"from": "front-end", "to": "model", "name": "prompt", "operation": "call"},
    ]
    for i in range(n_tools):
        caps = draw(st.lists(st.sampled_from(CAPS), min_size=1, max_size=2, unique=True))
        third = draw(st.booleans())
        tool: dict[str, Any] = {
            "kind": "tool",
            "name": f"Tool {i}",
            "boundary": "vendor" if third else "corp",
            "capabilities": caps,
        }
        if draw(st.booleans()):
            tool["mcp"] = True
            tool["transport"] = "stdio"
            tool["source"] = draw(st.sampled_from(["internal", "open_source"]))
        elements.append(tool)
        flows.append(
            {"from": "model", "to": f"tool-{i}", "name": f"use tool {i}", "operation": "call"}
        )
    if draw(st.booleans()):
        elements.append({"kind": "external_content", "name": "Web", "content": "web"})
        if n_tools:
            flows.append({"from": "tool-0", "to": "web", "name": "fetch", "operation": "read"})
        else:
            flows.append({"from": "front-end", "to": "web", "name": "fetch", "operation": "read"})
    if draw(st.booleans()):
        elements.append(
            {"kind": "datastore", "name": "Records", "boundary": "corp", "stores": ["records"]}
        )
        flows.append({"from": "model", "to": "records", "name": "lookup", "operation": "read"})
    return {
        "threatgraph": 1,
        "model": {"name": "Generated"},
        "boundaries": [
            {"name": "Internet", "trust": "untrusted"},
            {"name": "Corp", "trust": "internal"},
            {"name": "Vendor", "trust": "third_party"},
        ],
        "data": [{"name": "Records", "classification": "pii"}],
        "elements": elements,
        "flows": flows,
    }


def ids_of(doc: Doc) -> set[str]:
    return {parse_id(e["name"]) for e in doc["elements"]}


def parse_id(name: str) -> str:
    from threatgraph.model.schema import slugify

    return slugify(name)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the redrawings -----------------------------------------------------------------------


def with_responses(doc: Doc) -> Doc:
    """Every call's answer drawn as its own response flow."""
    out = copy.deepcopy(doc)
    for fl in doc["flows"]:
        if fl["operation"] in ("call", "read"):
            out["flows"].append(
                {
                    "from": fl["to"],
                    "to": fl["from"],
                    "name": f"{fl['name']} answer",
                    "operation": "response",
                }
            )
    return out


def as_agent(doc: Doc) -> Doc:
    """The model drawn as an agent (it runs its own model and calls the same tools)."""
    out = copy.deepcopy(doc)
    for el in out["elements"]:
        if el["name"] == "Model":
            el["kind"] = "agent"
    return out


@SETTINGS
@given(systems())
def test_drawn_answers_change_nothing(doc: Doc) -> None:
    assert threats(doc) == threats(with_responses(doc))


@SETTINGS
@given(systems())
def test_undeclared_call_pairs_read_as_call_and_answer(doc: Doc) -> None:
    # The same system with every operation left out and each answer drawn as an arrow back.
    drawn = with_responses(doc)
    for fl in drawn["flows"]:
        if fl["operation"] in ("call", "response"):
            del fl["operation"]
    assert threats(with_responses(doc)) == threats(drawn)


@SETTINGS
@given(systems().filter(lambda d: any(e["kind"] == "tool" for e in d["elements"])))
def test_llm_with_tools_is_an_agent(doc: Doc) -> None:
    a, b = threats(doc), threats(as_agent(doc))
    assert a == b


@SETTINGS
@given(systems())
def test_side_effect_in_an_app_or_a_tool(doc: Doc) -> None:
    # A payments tool the model calls, drawn as a tool or as an app with the capability.
    def add(kind: str) -> Doc:
        out = copy.deepcopy(doc)
        out["elements"].append(
            {"kind": kind, "name": "Payments", "boundary": "corp", "capabilities": ["payments"]}
        )
        out["flows"].append({"from": "model", "to": "payments", "name": "pay", "operation": "call"})
        return out

    a, b = shared(threats(add("tool")), threats(add("app")), ids_of(doc) | {"payments"})
    assert a == b


@SETTINGS
@given(systems())
def test_outsider_written_store_is_untrusted_content(doc: Doc) -> None:
    # Customers file tickets that the model reads: drawn through the ticket store, the same
    # threats reach the model as when the customer's text is drawn going straight to it.
    out = copy.deepcopy(doc)
    out["boundaries"].append({"name": "Customers", "trust": "untrusted"})
    out["elements"] += [
        {"kind": "actor", "name": "Customer", "boundary": "customers"},
        {"kind": "external_content", "name": "Ticket text", "content": "ticket"},
    ]
    direct = copy.deepcopy(out)
    direct["flows"] += [
        {"from": "customer", "to": "ticket-text", "name": "file", "operation": "write"},
        {"from": "model", "to": "ticket-text", "name": "read ticket", "operation": "read"},
    ]
    stored = copy.deepcopy(out)
    stored["elements"].append({"kind": "datastore", "name": "Tickets", "boundary": "corp"})
    stored["flows"] += [
        {"from": "customer", "to": "tickets", "name": "file", "operation": "write"},
        {"from": "model", "to": "tickets", "name": "read ticket", "operation": "read"},
    ]
    ours = {"model", "front-end"}
    a = {x for x in threats(direct) if x[1] in ours and x[0].startswith("TG-PI-00")}
    b = {x for x in threats(stored) if x[1] in ours and x[0].startswith("TG-PI-00")}
    assert a == b


@SETTINGS
@given(systems().filter(lambda d: any(e["kind"] == "tool" for e in d["elements"])))
def test_a_gateway_between_the_model_and_its_tools(doc: Doc) -> None:
    # The model's tool calls go through a gateway process (an MCP proxy, an API gateway).
    relayed = copy.deepcopy(doc)
    relayed["elements"].append({"kind": "process", "name": "Gateway", "boundary": "corp"})
    for fl in relayed["flows"]:
        if fl["from"] == "model" and fl["to"].startswith("tool-"):
            fl["from"] = "gateway"
    relayed["flows"].append(
        {"from": "model", "to": "gateway", "name": "tool calls", "operation": "call"}
    )
    a, b = shared(threats(doc), threats(relayed), ids_of(doc))
    assert a == b


# -- the measured examples of the engine v2 issue ------------------------------------------


def _doc(elements: list[dict[str, Any]], flows: list[dict[str, Any]]) -> Doc:
    return {
        "threatgraph": 1,
        "model": {"name": "Example"},
        "boundaries": [
            {"name": "Corp", "trust": "internal"},
            {"name": "Internet", "trust": "untrusted"},
        ],
        "elements": elements,
        "flows": flows,
    }


MCP_AGENT = [
    {"kind": "actor", "name": "Employee", "boundary": "corp"},
    {"kind": "agent", "name": "Assistant", "boundary": "corp"},
    {
        "kind": "tool",
        "name": "Web MCP",
        "boundary": "corp",
        "mcp": True,
        "transport": "stdio",
        "source": "open_source",
        "capabilities": ["http", "browse"],
    },
    {"kind": "external_content", "name": "Web", "content": "web", "boundary": "internet"},
]


def test_one_call_flow_gives_the_tool_threats() -> None:
    call = [
        {"from": "employee", "to": "assistant", "name": "ask", "operation": "call"},
        {"from": "assistant", "to": "web-mcp", "name": "tool call", "operation": "call"},
        {"from": "web-mcp", "to": "web", "name": "fetch", "operation": "read"},
    ]
    both = [
        *call,
        {"from": "web-mcp", "to": "assistant", "name": "result", "operation": "response"},
    ]
    one, two = threats(_doc(MCP_AGENT, call)), threats(_doc(MCP_AGENT, both))
    assert one == two
    assert {("TG-PI-002", "assistant"), ("TG-PI-003", "web-mcp")} <= one


def test_function_calling_llm_gets_agency_threats() -> None:
    elements = [
        {"kind": "actor", "name": "Employee", "boundary": "corp"},
        {"kind": "llm", "name": "Model", "boundary": "corp"},
        {"kind": "tool", "name": "Mailer", "boundary": "corp", "capabilities": ["send_email"]},
        {"kind": "tool", "name": "Fetcher", "boundary": "corp", "capabilities": ["http"]},
    ]
    flows = [
        {"from": "employee", "to": "model", "name": "ask", "operation": "call"},
        {"from": "model", "to": "mailer", "name": "send", "operation": "call"},
        {"from": "model", "to": "fetcher", "name": "fetch", "operation": "call"},
    ]
    as_llm = threats(_doc(elements, flows))
    agent = copy.deepcopy(elements)
    agent[1]["kind"] = "agent"
    assert as_llm == threats(_doc(agent, flows))
    assert ("TG-AG-001", "mailer") in as_llm


def test_paying_through_an_app_is_a_consequential_action() -> None:
    def drawn(kind: str) -> set[tuple[str, str]]:
        return threats(
            _doc(
                [
                    {"kind": "actor", "name": "Employee", "boundary": "corp"},
                    {"kind": "agent", "name": "Agent", "boundary": "corp"},
                    {
                        "kind": kind,
                        "name": "Payments",
                        "boundary": "corp",
                        "capabilities": ["payments"],
                    },
                ],
                [
                    {"from": "employee", "to": "agent", "name": "ask", "operation": "call"},
                    {"from": "agent", "to": "payments", "name": "pay", "operation": "call"},
                ],
            )
        )

    assert ("TG-AG-001", "payments") in drawn("app")
    assert ("TG-AG-001", "payments") in drawn("tool")


def test_agents_through_a_bus_hear_each_other() -> None:
    agents = [
        {"kind": "agent", "name": "Planner", "boundary": "corp"},
        {"kind": "agent", "name": "Worker", "boundary": "corp"},
    ]
    direct = threats(
        _doc(agents, [{"from": "planner", "to": "worker", "name": "task", "operation": "event"}])
    )
    bus = threats(
        _doc(
            [*agents, {"kind": "process", "name": "Bus", "boundary": "corp"}],
            [
                {"from": "planner", "to": "bus", "name": "publish", "operation": "event"},
                {"from": "bus", "to": "worker", "name": "deliver", "operation": "event"},
            ],
        )
    )
    assert ("TG-AG-009", "worker") in direct
    assert {x for x in direct if x[0].startswith("TG-AG-00")} <= bus


def test_read_flow_does_not_write_a_record() -> None:
    elements = [
        {"kind": "actor", "name": "Clerk", "boundary": "corp"},
        {"kind": "agent", "name": "Agent", "boundary": "corp"},
        {"kind": "datastore", "name": "Records", "boundary": "corp", "stores": ["recs"]},
    ]
    doc = _doc(
        elements,
        [
            {"from": "clerk", "to": "agent", "name": "ask", "operation": "call"},
            {"from": "agent", "to": "records", "name": "look up", "operation": "read"},
        ],
    )
    doc["data"] = [{"name": "Recs", "classification": "pii"}]
    found = threats(doc)
    assert ("TG-MIS-002", "records") not in found
    assert ("TG-AG-012", "records") in found  # the agent reads records on people's behalf


@pytest.mark.parametrize("word", ["fraud", "security", "identity"])
def test_evasion_reads_what_the_model_decides(word: str) -> None:
    doc = _doc(
        [
            {"kind": "actor", "name": "Customer", "boundary": "internet"},
            {"kind": "ml_model", "name": "Scorer", "boundary": "corp", "decides": [word]},
        ],
        [{"from": "customer", "to": "scorer", "name": "submit", "operation": "call"}],
    )
    assert ("TG-EVA-001", "scorer") in threats(doc)
    tagged = copy.deepcopy(doc)
    del tagged["elements"][1]["decides"]
    tagged["elements"][1]["tags"] = [f"{word}-detection"]
    assert ("TG-EVA-001", "scorer") not in threats(tagged)  # a free label decides nothing


MAIL_COPILOT_ELEMENTS = [
    {
        "kind": "external_content",
        "name": "Inbound mail",
        "content": "email",
        "boundary": "internet",
    },
    {
        "kind": "datastore",
        "name": "Mailbox",
        "boundary": "corp",
        "stores": ["mail"],
        "content": "email",
    },
    {"kind": "actor", "name": "Employee", "boundary": "corp"},
    {"kind": "app", "name": "Copilot UI", "boundary": "corp", "interpreter": "markdown"},
    {"kind": "process", "name": "Retriever", "boundary": "corp"},
    {"kind": "llm", "name": "Assistant model", "boundary": "internet"},
]


def test_a_mail_copilot_drawn_with_operations_or_with_arrows_both_ways() -> None:
    # A zero-click mail injection: outside mail lands in the mailbox, the copilot retrieves it
    # into the model's prompt and renders the answer as Markdown. Drawn once with declared
    # operations and once as a classic data-flow diagram with every answer as an arrow back.
    declared = _doc(
        MAIL_COPILOT_ELEMENTS,
        [
            {"from": "inbound-mail", "to": "mailbox", "name": "delivered"},
            {"from": "employee", "to": "copilot-ui", "name": "question", "operation": "call"},
            {"from": "copilot-ui", "to": "retriever", "name": "search", "operation": "call"},
            {
                "from": "retriever",
                "to": "mailbox",
                "name": "fetch",
                "operation": "read",
                "data": ["mail"],
            },
            {
                "from": "copilot-ui",
                "to": "assistant-model",
                "name": "prompt",
                "operation": "call",
                "data": ["mail"],
            },
        ],
    )
    arrows = _doc(
        MAIL_COPILOT_ELEMENTS,
        [
            {"from": "inbound-mail", "to": "mailbox", "name": "delivered", "operation": "write"},
            {"from": "employee", "to": "copilot-ui", "name": "question"},
            {"from": "copilot-ui", "to": "employee", "name": "answer"},
            {"from": "copilot-ui", "to": "retriever", "name": "search"},
            {"from": "retriever", "to": "copilot-ui", "name": "hits"},
            {"from": "mailbox", "to": "retriever", "name": "messages", "data": ["mail"]},
            {"from": "copilot-ui", "to": "assistant-model", "name": "prompt", "data": ["mail"]},
            {"from": "assistant-model", "to": "copilot-ui", "name": "completion"},
        ],
    )
    for doc in (declared, arrows):
        doc["data"] = [{"name": "Mail", "classification": "confidential"}]
    one, two = threats(declared), threats(arrows)
    assert one == two
    assert {("TG-PI-002", "assistant-model"), ("TG-OUT-005", "copilot-ui")} <= one


def test_a_model_people_prompt_directly_calls_the_app_it_exchanges_with() -> None:
    # Undeclared arrows both ways between a model and a side-effect app: the model people
    # talk to is the front door, so it calls the app as a tool (the same as a tool drawn).
    def drawn(kind: str) -> Doc:
        return _doc(
            [
                {"kind": "actor", "name": "Developer", "boundary": "corp"},
                {"kind": "llm", "name": "Coder", "boundary": "corp"},
                {
                    "kind": kind,
                    "name": "Db tool",
                    "boundary": "corp",
                    "capabilities": ["read", "write", "delete", "sql"],
                },
            ],
            [
                {"from": "developer", "to": "coder", "name": "ask"},
                {"from": "coder", "to": "developer", "name": "reply"},
                {"from": "coder", "to": "db-tool", "name": "statement"},
                {"from": "db-tool", "to": "coder", "name": "rows"},
            ],
        )

    as_app, as_tool = threats(drawn("app")), threats(drawn("tool"))
    assert as_app == as_tool
    assert {("TG-AG-001", "db-tool"), ("TG-AG-011", "coder"), ("TG-OUT-001", "db-tool")} <= as_app


def test_an_app_people_use_still_calls_the_model() -> None:
    # The usual chat front end: people talk to the app, the app exchanges with the model.
    doc = _doc(
        [
            {"kind": "actor", "name": "User", "boundary": "corp"},
            {"kind": "app", "name": "Chat app", "boundary": "corp", "capabilities": ["write"]},
            {"kind": "llm", "name": "Model", "boundary": "corp"},
        ],
        [
            {"from": "user", "to": "chat-app", "name": "ask"},
            {"from": "chat-app", "to": "model", "name": "prompt"},
            {"from": "model", "to": "chat-app", "name": "completion"},
        ],
    )
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<generated>")))
    assert graph.interactions["chat-app--model--prompt"] == ("chat-app", "model")


def _assistant_and_crm(kind: str, driven: bool) -> Doc:
    """A model an app drives, exchanging undeclared arrows with a side-effect element that a
    person starts (``driven``) or that nothing else drives."""
    elements = [
        {"kind": "actor", "name": "Rep", "boundary": "corp"},
        {"kind": "app", "name": "Console", "boundary": "corp"},
        {"kind": "llm", "name": "Assistant", "boundary": "corp"},
        {"kind": kind, "name": "Crm actions", "boundary": "corp", "capabilities": ["write"]},
    ]
    flows = [
        {"from": "rep", "to": "console", "name": "ask"},
        {"from": "console", "to": "assistant", "name": "prompt"},
        {"from": "assistant", "to": "console", "name": "completion"},
        {"from": "assistant", "to": "crm-actions", "name": "action"},
        {"from": "crm-actions", "to": "assistant", "name": "result"},
    ]
    if driven:
        elements.append({"kind": "actor", "name": "Admin", "boundary": "corp"})
        flows.append({"from": "admin", "to": "crm-actions", "name": "start"})
    return _doc(elements, flows)


@pytest.mark.parametrize("driven", [False, True])
def test_who_asks_between_a_driven_model_and_a_side_effect_app(driven: bool) -> None:
    # Nothing else drives the app: it is a tool drawn as an app, the model asks it, and the
    # findings are those of the tool drawn as a tool. A person starts it: it is a client of
    # the model, and the kinds decide as before (the app asks).
    doc = _assistant_and_crm("app", driven)
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<generated>")))
    asker = "crm-actions" if driven else "assistant"
    assert graph.interactions["assistant--crm-actions--action"][0] == asker
    if not driven:
        as_app = threats(doc)
        assert as_app == threats(_assistant_and_crm("tool", driven))
        assert ("TG-AG-001", "crm-actions") in as_app


@pytest.mark.parametrize("drawn_from_reader", [True, False])
def test_weights_downloaded_from_a_hub_are_not_shipped_out(drawn_from_reader: bool) -> None:
    weights = {"name": "Weights", "classification": "model_weights"}
    elements = [
        {"kind": "external_content", "name": "Hub", "boundary": "internet", "stores": ["weights"]},
        {"kind": "ml_model", "name": "Server", "boundary": "corp"},
    ]
    flow = (
        {"from": "server", "to": "hub", "name": "pull", "operation": "read", "data": ["weights"]}
        if drawn_from_reader
        else {"from": "hub", "to": "server", "name": "pull", "data": ["weights"]}
    )
    doc = _doc(elements, [flow])
    doc["data"] = [weights]
    found = threats(doc)
    assert not any(rule == "TG-THEFT-003" for rule, _ in found)
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<generated>")))
    assert graph.carriers[graph.model.flows[0].id] == ("hub", "server")


def test_a_read_drawn_from_the_store_is_flagged() -> None:
    # "read" is made by the flow's source: a store reading the app it serves is a drawing
    # mistake that turns the flow around, so check says so with the flow's line.
    from threatgraph.engine.modelcheck import model_notes

    doc = _doc(
        [
            {"kind": "app", "name": "Scribe", "boundary": "corp"},
            {"kind": "datastore", "name": "EHR", "boundary": "corp"},
        ],
        [{"from": "ehr", "to": "scribe", "name": "chart", "operation": "read"}],
    )
    notes = model_notes(finalize(parse_model(copy.deepcopy(doc), "<generated>")), builtin_library())
    assert [n.message for n in notes if "a read is drawn" in n.message] == [
        "flow ehr--scribe--chart: a read is drawn from the element that reads; here the "
        "datastore ehr reads scribe. Draw it from scribe to ehr, or leave out the operation "
        "(an arrow out of a store is read by its target)"
    ]
    fixed = copy.deepcopy(doc)
    fixed["flows"][0].update({"from": "scribe", "to": "ehr"})
    notes = model_notes(finalize(parse_model(fixed, "<generated>")), builtin_library())
    assert not [n for n in notes if "a read is drawn" in n.message]


def test_outside_content_drawn_as_a_store_outsiders_fill() -> None:
    # Crawled web pages feeding training: drawn as outside content, or as a store of pages
    # that anyone on the internet writes into, the training gets the same poisoning finding.
    def drawn(as_store: bool) -> Doc:
        pages: dict[str, Any] = {"name": "Web pages", "boundary": "internet", "content": "web"}
        pages["kind"] = "datastore" if as_store else "external_content"
        flows = [{"from": "web-pages", "to": "trainer", "name": "crawl"}]
        elements = [pages, {"kind": "training_pipeline", "name": "Trainer", "boundary": "corp"}]
        if as_store:
            elements.append({"kind": "actor", "name": "Anyone", "boundary": "internet"})
            flows.append({"from": "anyone", "to": "web-pages", "name": "publish"})
        return _doc(elements, flows)

    outside, store = threats(drawn(False)), threats(drawn(True))
    assert ("TG-POI-009", "trainer") in outside
    assert {t for t in outside if t[1] == "trainer"} == {t for t in store if t[1] == "trainer"}


def test_a_chain_of_proxies_between_a_model_and_its_tool_is_read_end_to_end() -> None:
    """Arrows both ways through proxies, none declared: the model asks the first proxy
    because people's requests reach the model and the last proxy asks the tool; the
    proxies act for the model, and the model can act through them."""
    from threatgraph.graph import build

    elements = [
        {"kind": "actor", "name": "Employee", "boundary": "corp"},
        {"kind": "process", "name": "Front proxy", "boundary": "corp"},
        {"kind": "llm", "name": "Model", "boundary": "corp"},
        {"kind": "process", "name": "Sidecar", "boundary": "corp"},
        {"kind": "app", "name": "Tool gateway", "boundary": "corp"},
        {"kind": "process", "name": "Mesh proxy", "boundary": "corp"},
        {"kind": "tool", "name": "Mailer", "boundary": "corp", "capabilities": ["send_email"]},
    ]
    chain = ["employee", "front-proxy", "model", "sidecar", "tool-gateway", "mesh-proxy", "mailer"]
    flows = []
    for a, b in pairwise(chain):
        flows += [{"from": a, "to": b, "name": f"{a} asks"}, {"from": b, "to": a, "name": "back"}]
    doc = _doc(elements, flows)
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<chain>")))
    requests = {graph.interactions[f] for f in graph.interactions}
    assert requests == set(pairwise(chain))
    facts = {k: {graph.ix.ids[i] for i in v} for k, v in graph.element_facts.items()}
    assert "model" in facts["agentic"] and "model" in facts["can_act"]
    assert facts["acts_for_model"] == {"sidecar", "tool-gateway", "mesh-proxy"}
    direct = [
        {"from": "employee", "to": "model", "name": "ask", "operation": "call"},
        {"from": "model", "to": "mailer", "name": "send", "operation": "call"},
    ]
    shared = {"employee", "model", "mailer"}
    found = {t for t in threats(doc) if t[1] in shared}
    assert found == {t for t in threats(_doc(elements, direct)) if t[1] in shared}
    assert ("TG-AG-001", "mailer") in found


def test_a_model_several_agents_call_is_asked_by_each() -> None:
    """A shared model is not promoted to asker because someone else asks it."""
    from threatgraph.graph import build

    elements = [
        {"kind": "actor", "name": "User", "boundary": "corp"},
        {"kind": "agent", "name": "Planner", "boundary": "corp"},
        {"kind": "agent", "name": "Worker", "boundary": "corp"},
        {"kind": "llm", "name": "Model", "boundary": "corp"},
    ]
    flows = [
        {"from": "user", "to": "planner", "name": "ask"},
        {"from": "planner", "to": "user", "name": "answer"},
        {"from": "planner", "to": "model", "name": "think"},
        {"from": "model", "to": "planner", "name": "thought"},
        {"from": "worker", "to": "model", "name": "think"},
        {"from": "model", "to": "worker", "name": "thought"},
    ]
    graph = build(finalize(parse_model(_doc(elements, flows), "<shared>")))
    requests = {graph.interactions[f] for f in graph.interactions}
    assert requests == {("user", "planner"), ("planner", "model"), ("worker", "model")}
