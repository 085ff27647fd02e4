"""Model -> graph, plus the derived facts rules read.

Nodes are element ids; edges are flows keyed by flow id. Derived facts, computed once per
model, so that rules read what a system does rather than how it was drawn:

- each element's effective trust and boundary chain; each flow's trust change and whether it
  crosses a boundary;
- each flow's **interaction**: who asks (the requester) and who serves (the server), from the
  declared ``operation`` and, when none is declared, from the kinds at its ends;
- **content edges**: the directions in which content moves because of a flow (a call carries
  the request in and the answer back; a read returns the target's content to the reader), and
  whether it is kept at the receiving end (written into a store) or only passes through;
- what each element does: whether it **runs a model** and whether it is **agentic** (chooses
  actions through tools or side-effect capabilities).

:func:`to_networkx` gives the same graph with these facts as a networkx ``MultiDiGraph``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, get_args

from threatgraph.model.schema import (
    Authn,
    Boundary,
    Capability,
    Classification,
    DataAsset,
    Element,
    Flow,
    Kind,
    SystemModel,
    Trust,
)
from threatgraph.reach import (
    INTERPRETER_STORE,
    KEPT,
    RETURN,
    STATEFUL,
    STATELESS,
    STORE,
    STORES,
    ContentGraph,
    Names,
    sources_reaching,
)

if TYPE_CHECKING:
    import networkx as nx

    from threatgraph.oversight import OversightFact

#: Kinds that hold content rather than act on it: what is written into them is read back
#: later by whoever reads them. A flow out of one of these into an active element, with no
#: operation declared, is that element reading it.
PASSIVE_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.DATASTORE,
        Kind.VECTOR_STORE,
        Kind.MEMORY,
        Kind.DATASET,
        Kind.FEATURE_STORE,
        Kind.MODEL_REGISTRY,
        Kind.EXTERNAL_CONTENT,
    }
)

#: Kinds that hold content for others to read (a store), as opposed to outside content.
STORE_KINDS: frozenset[Kind] = PASSIVE_KINDS - {Kind.EXTERNAL_CONTENT}

#: Kinds that answer what they are sent (an undeclared flow into one implies its answer).
RESPONDER_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.APP,
        Kind.PROCESS,
        Kind.LLM,
        Kind.ML_MODEL,
        Kind.AGENT,
        Kind.TOOL,
        Kind.GUARDRAIL,
        Kind.TRAINING_PIPELINE,
    }
)

#: Capabilities that change something outside the element (a tool, app, process or store
#: with one of these is a place where actions happen, whatever its kind): every capability
#: the schema knows but reading and browsing.
SIDE_EFFECT_CAPABILITIES: frozenset[str] = frozenset(get_args(Capability)) - {"read", "browse"}

#: Kinds that keep nothing between requests: what one caller sends them goes into their
#: answer to that caller and their own onward requests, not into answers to other callers.
STATELESS_KINDS: frozenset[Kind] = frozenset({Kind.LLM, Kind.ML_MODEL, Kind.GUARDRAIL, Kind.TOOL})

#: Trust of an element outside every boundary, by kind. Content and people from outside
#: are untrusted; vendors are third parties; anything else is assumed to be your own.
DEFAULT_TRUST: dict[Kind, Trust] = {
    Kind.EXTERNAL_CONTENT: Trust.UNTRUSTED,
    Kind.ACTOR: Trust.UNTRUSTED,
    Kind.VENDOR: Trust.THIRD_PARTY,
}


@dataclass
class FlowFacts:
    """Derived facts about one flow."""

    flow: Flow
    crosses_boundary: bool
    data: list[DataAsset]
    classes: frozenset[Classification] = frozenset()  # classifications of ``data``
    encrypted: bool = False  # Flow.is_encrypted, computed once
    authenticated: bool = False  # Flow.is_authenticated, computed once
    authn: Authn = "none"  # Flow.authn: whose credential (a person's, the caller program's)
    controls: frozenset[str] = frozenset()  # ids of the flow's declared controls


@dataclass
class IntIndex:
    """Elements and flows numbered 0..n-1 in declaration order, with adjacency as integers.

    Searches run over lists and bytearrays indexed by these numbers instead of dictionaries
    keyed by id strings: on estates of thousands of elements, the string-keyed version spent
    most of its time in hash lookups whose memory no longer fits in the CPU caches.
    """

    ids: list[str]  # element ids by number
    pos: dict[str, int]  # element id -> number
    fids: list[str]  # flow ids by number
    fpos: dict[str, int]  # flow id -> number
    #: The numbers themselves, 0..max(elements, flows)-1. Every number in these indexes and
    #: in the engine's sets is one of these objects, made together: a set of them is read
    #: from a few hundred kilobytes, where id strings lie all over the model's memory.
    nums: list[int] = field(default_factory=list)
    els: list[Element] = field(default_factory=list)  # elements by number
    by_kind: dict[Kind, list[int]] = field(default_factory=dict)  # kind -> element numbers
    fsrc: list[int] = field(default_factory=list)  # flow -> source element
    fdst: list[int] = field(default_factory=list)  # flow -> target element
    out_flows: list[tuple[int, ...]] = field(default_factory=list)  # element -> flows out
    in_flows: list[tuple[int, ...]] = field(default_factory=list)  # element -> flows in
    all_elements: frozenset[int] = frozenset()
    all_flows: frozenset[int] = frozenset()
    #: Flow -> the requester and the server element (see :func:`interaction`).
    freq: list[int] = field(default_factory=list)
    fsrv: list[int] = field(default_factory=list)
    #: Flow -> the party a store relay asks it for (:func:`ultimate_requesters`): a second
    #: requester, beside ``freq``.
    also_asked_by: dict[int, int] = field(default_factory=dict)
    #: The forwarding relays that front stores alone (see :func:`ultimate_requesters`).
    fronts_stores: frozenset[int] = frozenset()
    #: Element -> the flows in which it is a requester / the server.
    asks: list[tuple[int, ...]] = field(default_factory=list)
    serves: list[tuple[int, ...]] = field(default_factory=list)
    #: Flow -> the element its data leaves / arrives at; element -> flows it sends / receives.
    fsnd: list[int] = field(default_factory=list)
    frcv: list[int] = field(default_factory=list)
    sends: list[tuple[int, ...]] = field(default_factory=list)
    receives: list[tuple[int, ...]] = field(default_factory=list)
    #: Where content goes: the content-state graph the searches run on (:mod:`threatgraph.reach`).
    content: ContentGraph = field(default_factory=lambda: ContentGraph(b""))
    #: Flow -> the ways it moves content: 1 from its source to its target, 2 back, 3 both.
    fways: list[int] = field(default_factory=list)
    #: The ids of elements and flows by number, for the searches' results.
    names: Names = field(default_factory=lambda: Names([], {}, [], []))


@dataclass
class Graph:
    """The model as a graph, with indexes that keep rule evaluation near-linear."""

    model: SystemModel
    elements: dict[str, Element]
    boundaries: dict[str, Boundary]
    data: dict[str, DataAsset]
    flows: dict[str, FlowFacts]
    trust: dict[str, Trust]
    boundary_chain: dict[str, tuple[str, ...]]
    by_kind: dict[Kind, list[str]] = field(default_factory=dict)
    flows_in: dict[str, list[str]] = field(default_factory=dict)
    flows_out: dict[str, list[str]] = field(default_factory=dict)
    hosted_by: dict[str, list[str]] = field(default_factory=dict)
    # Indexes that rules read, made by :func:`build` in its one pass over the elements and
    # flows: on a large model, each later pass of its own over objects spread through
    # memory cost more in cache misses than the work it did.
    #: The integer view of elements, flows and adjacency.
    ix: IntIndex = field(default_factory=lambda: IntIndex([], {}, [], {}))
    #: Flow id -> source element id.
    flow_source: dict[str, str] = field(default_factory=dict)
    #: Flow id -> target element id.
    flow_target: dict[str, str] = field(default_factory=dict)
    #: Classification -> numbers of the flows carrying data of it.
    flows_by_class: dict[Classification, frozenset[int]] = field(default_factory=dict)
    #: 'encrypted', 'authenticated', 'crosses_boundary', 'kept', 'returns', 'physical' ->
    #: numbers of the flows with it ('kept': the flow writes content into a store at its
    #: target that keeps it; 'returns': content comes back to the requester, as in a call,
    #: read or response; 'physical': a capture in the room, not a network flow).
    flow_flags: dict[str, frozenset[int]] = field(default_factory=dict)
    #: Flow id -> (requester, server): who asks and who answers (see :func:`interaction`).
    interactions: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Flow id -> (sender, receiver): where its data leaves and where it arrives. The arrow
    #: gives it, except a ``read`` drawn from the reader to what it reads.
    carriers: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Flow id -> the flows of its exchange: every flow between the same requester and server
    #: (a call and its drawn answer), itself included, in declaration order.
    exchanges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Derived element facts -> numbers of the elements that have them: 'runs_model',
    #: 'agentic', 'side_effects', 'can_act', 'acts_for_model' (see
    #: :func:`derive_element_facts`), 'hears_agents' and 'hears_agents_unauthenticated'
    #: (:func:`derive_agent_peers`), 'fronts_stores' (:func:`ultimate_requesters`).
    element_facts: dict[str, frozenset[int]] = field(default_factory=dict)
    _flow_indexes: dict[str, dict[object, frozenset[int]]] = field(default_factory=dict)
    _held_indexes: dict[str, dict[Classification, frozenset[int]]] = field(default_factory=dict)
    _attr_indexes: dict[str, dict[object, tuple[object, frozenset[int]]]] = field(
        default_factory=dict
    )

    @functools.cached_property
    def g(self) -> nx.MultiDiGraph:
        """The model as a networkx graph with its derived facts: :func:`to_networkx`."""
        return to_networkx(self)

    @functools.cached_property
    def oversight(self) -> tuple[OversightFact, ...]:
        """Declared oversight relations with their derived facts (:mod:`threatgraph.oversight`)."""
        from threatgraph.oversight import derive_oversight

        return derive_oversight(self)

    def flows_by(self, fact: str) -> dict[object, frozenset[int]]:
        """Flow numbers (see :class:`IntIndex`) by the value of a fact: 'protocol' (lower
        case, '' when unset), 'operation', 'trust' (sign of the trust change from source to
        target: -1, 0, 1) or 'request_trust' (the same from requester to server)."""
        return self._flow_indexes[fact]

    def elements_holding(self, fieldname: str) -> dict[Classification, frozenset[int]]:
        """Element numbers by classification of the data in ``stores``, ``processes`` or
        ``trained_on``, or that they ``handle`` (any of those, or a flow in or out)."""
        return self._held_indexes[fieldname]

    def attr_index(
        self, name: str, also: Iterable[str] = ()
    ) -> dict[object, tuple[object, frozenset[int]]]:
        """Element numbers by the value of one attribute: hashable key -> (value, numbers).

        Attributes have few distinct values (flags, enums, short lists), so a test over an
        attribute runs once per distinct value instead of once per element. The attributes
        in ``also`` are indexed in the same pass over the elements (each element is visited
        once for all of them rather than once per attribute).
        """
        cache = self._attr_indexes
        got = cache.get(name)
        if got is None:
            names = [n for n in dict.fromkeys((name, *also)) if n not in cache]
            groups: list[dict[object, tuple[object, list[int]]]] = [{} for _ in names]
            # nums is at least as long as els: its first len(els) are the elements' numbers.
            for e, el in zip(self.ix.nums, self.ix.els, strict=False):
                for n, by_key in zip(names, groups, strict=True):
                    value = getattr(el, n)
                    try:
                        key: object = tuple(value) if isinstance(value, list) else value
                        hit = by_key.get(key)
                    except TypeError:  # an unhashable value: group by its text
                        key = ("\0unhashable", repr(value))
                        hit = by_key.get(key)
                    if hit is None:
                        by_key[key] = (value, [e])
                    else:
                        hit[1].append(e)
            for n, by_key in zip(names, groups, strict=True):
                cache[n] = {k: (v, frozenset(es)) for k, (v, es) in by_key.items()}
            got = cache[name]
        return got

    def ends_asked(self, fid: str) -> tuple[str, str]:
        """The flow's requester and server, the requester being the party a forwarding relay
        asks it for when one does (:func:`ultimate_requesters`), else the drawn requester."""
        requester, server = self.interactions[fid]
        party = self.ix.also_asked_by.get(self.ix.fpos[fid])
        return (requester if party is None else self.ix.ids[party]), server

    def element_data(self, element_id: str) -> set[Classification]:
        """Classifications an element stores, processes, was trained on, or exchanges."""
        el = self.elements[element_id]
        ids = set(el.stores) | set(el.processes) | set(el.trained_on)
        for fid in self.flows_in[element_id]:
            ids.update(self.flows[fid].flow.data)
        for fid in self.flows_out[element_id]:
            ids.update(self.flows[fid].flow.data)
        return {self.data[d].classification for d in ids}

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Element id -> its name (as :meth:`describe` gives it)."""
        return {e: el.name for e, el in self.elements.items()}

    def describe(self, element_id: str) -> str:
        """Human name of an element."""
        return self.names.get(element_id, element_id)


def to_networkx(graph: Graph) -> nx.MultiDiGraph:
    """The model as a networkx ``MultiDiGraph``, with the facts rules read.

    Nodes are element ids with attributes ``name``, ``kind``, ``trust`` (effective),
    ``boundary`` (innermost boundary id, '' outside all), ``runs_model``, ``agentic``,
    ``side_effects``, ``acts_for_model``, ``can_act``, ``hears_agents``, ``fronts_stores``,
    ``capabilities``
    (comma-separated) and ``controls``
    (comma-separated ids). Edges are flows keyed by flow id, drawn as declared, with ``name``,
    ``operation`` (declared, '' when none), ``requester`` and ``server`` (the derived ends),
    ``content`` (the ways content moves: 'forward', 'back' or 'both'), ``kept``, ``encrypted``,
    ``authenticated`` (by any credential), ``authenticated_as`` (whose: 'user', 'service',
    'both' or 'none', a drawn answer as its request), ``crosses_boundary``, ``data``
    (classifications, comma-separated) and ``controls``. Every value is a string or a bool,
    so the graph writes as GraphML as it is.
    """
    import networkx as nx

    g = nx.MultiDiGraph(name=graph.model.model.name)
    ix = graph.ix
    facts = graph.element_facts
    for i, (eid, el) in enumerate(graph.elements.items()):
        n = ix.nums[i]
        chain = graph.boundary_chain[eid]
        g.add_node(
            eid,
            name=el.name,
            kind=el.kind.value,
            trust=graph.trust[eid].value,
            boundary=chain[0] if chain else "",
            runs_model=n in facts["runs_model"],
            agentic=n in facts["agentic"],
            side_effects=n in facts["side_effects"],
            acts_for_model=n in facts["acts_for_model"],
            can_act=n in facts["can_act"],
            hears_agents=n in facts["hears_agents"],
            fronts_stores=n in facts["fronts_stores"],
            capabilities=",".join(el.capabilities),
            controls=",".join(sorted(el.control_ids())),
        )
    kept = graph.flow_flags["kept"]
    for fid, ff in graph.flows.items():
        fl = ff.flow
        k = ix.fpos[fid]
        content = ("", "forward", "back", "both")[ix.fways[k]]
        requester, server = graph.interactions[fid]
        g.add_edge(
            fl.source,
            fl.target,
            key=fid,
            name=fl.name,
            operation=fl.operation or "",
            requester=requester,
            server=server,
            content=content,
            kept=k in kept,
            encrypted=ff.encrypted,
            authenticated=k in graph.flow_flags["authenticated"],
            authenticated_as=_authn_of(graph.flow_flags, k),
            crosses_boundary=ff.crosses_boundary,
            data=",".join(sorted(c.value for c in ff.classes)),
            controls=",".join(sorted(ff.controls)),
        )
    return g


def interaction(
    operation: str | None,
    src_kind: Kind,
    dst_kind: Kind,
    *,
    artefact: bool = False,
    answers_elsewhere: bool = False,
    asked_elsewhere: bool = False,
    answered: bool | None = None,
) -> tuple[bool, str]:
    """Who asks in a flow, and how: (the source is the requester, the effective operation).

    The declared operation decides: ``response`` answers a request the target made; ``read``,
    ``write``, ``call`` and ``event`` are made by the source. With none declared, the arrow
    is read as the direction data moves, and the kinds at its ends say who asked:

    - out of stored or outside content into an active element: that element reading it;
    - from a tool into a model or agent: the tool's answer to the model's call, unless
      something else drives the tool (``asked_elsewhere``: a flow into the tool from another
      element, as in a scheduled fetcher that pushes what it fetched to a model);
    - a delivery of model weights (``artefact``), or anything out of a training pipeline: a
      write (the pipeline ships a checkpoint; it does not converse with the model);
    - into an element that answers (an app, process, model, agent, tool, guardrail or
      pipeline): a call, whose answer comes back, unless the drawing sends that element's
      output to some other active element (``answers_elsewhere``: a pipeline drawn stage by
      stage, where the answer is the next arrow);
    - anything else (into a store, to a person): a write.

    ``answered`` is set when an undeclared arrow also runs the other way between the same two
    elements: the pair is a request and its answer, and :func:`_answers` says which end asks
    (a person, the front door a person talks to, the model behind a chain of relays, ...):
    the arrow from that end is the request
    (``answered=False``), the other its answer (``answered=True``).
    """
    if operation == "response":
        return False, "response"
    if operation is not None:
        return True, operation
    if answered is True:
        return False, "response"
    if answered is False:
        return True, "read" if dst_kind in PASSIVE_KINDS else "call"
    if src_kind in PASSIVE_KINDS and dst_kind not in PASSIVE_KINDS:
        return False, "read"
    if src_kind is Kind.TOOL and dst_kind in (Kind.LLM, Kind.AGENT) and not asked_elsewhere:
        return False, "response"
    if artefact or src_kind is Kind.TRAINING_PIPELINE:
        return True, "write"
    if dst_kind in RESPONDER_KINDS and src_kind not in PASSIVE_KINDS and not answers_elsewhere:
        return True, "call"
    return True, "write"


def content_edges(
    source_asks: bool, operation: str, src_passive: bool, dst_passive: bool
) -> list[tuple[bool, int]]:
    """How content moves because of one flow: (from the flow's source to its target, code).

    ``operation`` is the effective one from :func:`interaction`. A request (call, read, or
    the request behind a response) carries the requester's content to the server; a call or
    a read brings the server's answer back (for a read, the server's content: what it
    holds); a write or an event carries content to the target, and a store keeps it. What a
    store receives only as a query is not kept, so it is not passed on to the store's other
    readers. Codes combine :data:`RETURN` and :data:`KEPT`.
    """
    req_passive, srv_passive = (
        (src_passive, dst_passive) if source_asks else (dst_passive, src_passive)
    )
    ask_kept = KEPT if srv_passive and operation in ("write", "event") else 0
    answer_kept = KEPT if req_passive else 0
    edges: list[tuple[bool, int]] = []  # (requester -> server?, code)
    edges.append((True, ask_kept))
    if operation in ("call", "read", "response"):
        edges.append((False, RETURN | answer_kept))
    # Orient from (requester -> server) to (flow source -> flow target).
    return [(to_server == source_asks, code) for to_server, code in edges]


def derive_element_facts(
    els: list[Element],
    asks: list[tuple[int, ...]],
    fsrv: list[int],
    nums: list[int],
    returning: frozenset[int],
    served: tuple[list[tuple[int, ...]], list[int]],
) -> dict[str, frozenset[int]]:
    """What each element does, whatever its kind is called: numbers of the elements that
    run a model, that are agentic, that have side effects or can act, and that act for a
    model. ``served``: per element the flows it serves, and per flow its requester.

    - ``runs_model``: an ``llm`` or ``ml_model``; an ``agent`` that asks no separate ``llm``
      element, directly or through relays (its model is part of it, so model threats apply
      to it).
    - ``agentic``: chooses actions: an ``agent``; an ``llm`` that asks a tool or an element
      with side effects (function calling), directly or through relays whose answers come
      back (apps, processes or guardrails such as an API gateway or MCP proxy), has
      side-effect capabilities itself, or is declared autonomous; an agent loop drawn as an
      ``app`` or ``process`` that asks an ``llm`` and asks an element with side effects.
    - ``side_effects``: has a capability that changes something outside it
      (:data:`SIDE_EFFECT_CAPABILITIES`), whatever its kind: a tool, an app that pays, a
      store with a write API.
    - ``can_act``: has side effects, or asks an element that has them, directly or through
      any number of relays (apps, processes or guardrails that ask on): a model behind an
      API gateway and an MCP proxy still acts. Worked backwards from the elements with side
      effects, each relay passing the ability to whoever asks it.
    - ``acts_for_model``: an app, process or guardrail that an ``llm``, an ``agent`` or an
      agent loop asks, directly or through any number of such relays (an API gateway, MCP
      proxy, tool router): what it asks for, it asks on the model's behalf.
    """
    side = {i for i, el in enumerate(els) if SIDE_EFFECT_CAPABILITIES.intersection(el.capabilities)}

    def acts(j: int) -> bool:
        return els[j].kind is Kind.TOOL or j in side

    def asks_through_relays(i: int, wanted: Callable[[int], bool], answered: bool) -> bool:
        return _asks_through(els, asks, fsrv, returning, i, wanted, answered)

    def is_llm(j: int) -> bool:
        return els[j].kind is Kind.LLM

    runs: set[int] = set()
    agentic: set[int] = set()
    for i, el in enumerate(els):
        if el.kind in (Kind.LLM, Kind.ML_MODEL) or (
            el.kind is Kind.AGENT and not asks_through_relays(i, is_llm, answered=False)
        ):
            runs.add(i)
        if el.kind is Kind.AGENT or (
            el.kind is Kind.LLM
            and (i in side or el.autonomous or asks_through_relays(i, acts, answered=True))
        ):
            agentic.add(i)
    can_act = side | _askers_of(els, served, side, None)
    # An agent loop acts itself, not through a model that acts on its own: a process that
    # asks a model with side effects of its own is that model's caller, whether the model
    # is drawn as an agent or as an llm.
    own = {i for i in side if els[i].kind not in _MODELS}
    loop_acting = can_act if own == side else own | _askers_of(els, served, own, None)
    agentic |= _agent_loops(els, served, returning, loop_acting)
    relays: set[int] = set()
    for i, el in enumerate(els):
        if el.kind in (Kind.LLM, Kind.AGENT) or i in agentic:
            _relays_asked(i, els, asks, fsrv, relays)
    return {
        "runs_model": frozenset(nums[i] for i in runs),
        "agentic": frozenset(nums[i] for i in agentic),
        "side_effects": frozenset(nums[i] for i in side),
        "can_act": frozenset(nums[i] for i in can_act),
        "acts_for_model": frozenset(nums[i] for i in relays),
    }


def _asks_through(
    els: list[Element],
    asks: list[tuple[int, ...]],
    fsrv: list[int],
    returning: frozenset[int],
    i: int,
    wanted: Callable[[int], bool],
    answered: bool,
) -> bool:
    """Element ``i`` asks an element that is ``wanted``, directly or through any number of
    relays (API gateways, MCP proxies, guardrails: apps, processes or guardrails it asks).
    With ``answered``, only relays whose answers come back
    count: output pushed one way to a process that acts on it is output handling, not a
    model choosing actions."""
    seen = {i}
    todo = [i]
    while todo:
        k = todo.pop()
        for f in asks[k]:
            j = fsrv[f]
            if j in seen:
                continue
            if wanted(j):
                return True
            if _relay(els[j]) and (f in returning or not answered):
                seen.add(j)
                todo.append(j)
    return False


def _askers_of(
    els: list[Element],
    served: tuple[list[tuple[int, ...]], list[int]],
    wanted: set[int],
    returning: frozenset[int] | None,
    stop: frozenset[int] = frozenset(),
) -> set[int]:
    """The elements that ask one of ``wanted`` directly or through relays (apps, processes
    or guardrails that ask on; not those in ``stop``), worked backwards from ``wanted`` so
    that the cost is linear. With ``returning``, only flows whose answers come back."""
    serves, freq = served
    out: set[int] = set()
    todo = sorted(wanted)
    seen = set(todo)
    while todo:
        j = todo.pop()
        for f in serves[j]:
            if returning is not None and f not in returning:
                continue
            k = freq[f]
            out.add(k)
            if k not in seen and _relay(els[k]) and k not in stop:
                seen.add(k)
                todo.append(k)
    return out


def _agent_loops(
    els: list[Element],
    served: tuple[list[tuple[int, ...]], list[int]],
    returning: frozenset[int],
    acting: set[int],
) -> set[int]:
    """Agent loops drawn as an app or process: it asks an ``llm`` (its answers come back) and
    can act (``acting``: has side effects or asks an element other than a model or agent
    with them, directly or through relays). An app in front of such a loop, which reaches the
    model only through the loop, is not one itself."""
    llms = {i for i, el in enumerate(els) if el.kind is Kind.LLM}
    found = frozenset(
        i
        for i in _askers_of(els, served, llms, returning)
        if els[i].kind in _LOOP_KINDS and not els[i].mcp and i in acting
    )
    # Again without passing through the loops found: what reaches a model only through a
    # loop fronts that loop.
    return set(found & _askers_of(els, served, llms, returning, found))


_LOOP_KINDS = frozenset({Kind.APP, Kind.PROCESS})


def _relays_asked(
    i: int, els: list[Element], asks: list[tuple[int, ...]], fsrv: list[int], into: set[int]
) -> None:
    """Add to ``into`` the relays (apps, processes, guardrails) that element ``i`` asks,
    directly or through other such relays: each passes on requests made for ``i``."""
    todo = [i]
    while todo:
        k = todo.pop()
        for f in asks[k]:
            j = fsrv[f]
            if j != i and j not in into and _relay(els[j]):
                into.add(j)
                todo.append(j)


#: Kinds that never relay one agent's messages to another as a channel: people (who
#: re-type, which is prompting), models, agents, outside content, vendors, and training.
_NOT_CHANNELS: frozenset[Kind] = frozenset(
    {
        Kind.ACTOR,
        Kind.LLM,
        Kind.ML_MODEL,
        Kind.AGENT,
        Kind.EXTERNAL_CONTENT,
        Kind.VENDOR,
        Kind.TRAINING_PIPELINE,
        Kind.MODEL_REGISTRY,
    }
)


def derive_agent_peers(
    ix: IntIndex, agentic: frozenset[int], authenticated: frozenset[int]
) -> dict[str, frozenset[int]]:
    """Agentic elements that take in another agentic element's output.

    Content from an agentic element A reaches an agentic element B, directly or through
    channels (a message bus, queue, orchestrator app or shared store: any element that is not
    a person, model, agent, outside content, vendor or training stage), moving as
    :func:`content_search` moves it. ``hears_agents``: some such A other than B exists;
    ``hears_agents_unauthenticated``: some such A reaches B only along routes with a hop
    whose sender proves no program identity of its own (``authenticated``: service or both).

    One search from all agentic elements at once, each state remembering up to two of the
    sources that reached it (enough to know whether one other than the receiver did), so the
    cost stays linear in elements plus flows.
    """
    channel = [el.kind not in _NOT_CHANNELS and i not in agentic for i, el in enumerate(ix.els)]
    every = sources_reaching(ix.content, agentic, channel, None)
    checked = sources_reaching(ix.content, agentic, channel, authenticated)
    hears: set[int] = set()
    unauth: set[int] = set()
    for b in agentic:
        others = every.get(b, frozenset()) - {b}
        if others:
            hears.add(b)
            if others - checked.get(b, frozenset()):
                unauth.add(b)
    return {
        "hears_agents": frozenset(ix.nums[i] for i in hears),
        "hears_agents_unauthenticated": frozenset(ix.nums[i] for i in unauth),
    }


#: Kinds a relay may forward calls to without doing work of its own: not a model.
_ANSWERING: frozenset[Kind] = frozenset({Kind.TOOL, Kind.APP, Kind.PROCESS, Kind.GUARDRAIL})

#: Kinds that run a model: a relay that asks one does work of its own.
_MODEL_KINDS: frozenset[Kind] = frozenset({Kind.LLM, Kind.AGENT, Kind.ML_MODEL})

#: Kinds that cannot be the one party a store relay forwards for: people (an app people use
#: is a front door doing work of its own), vendors, outside content and stores.
_NOT_PARTIES: frozenset[Kind] = PASSIVE_KINDS | {Kind.ACTOR, Kind.VENDOR}


def forwarding_relays(
    els: list[Element],
    asks: list[list[int]],
    serves: list[list[int]],
    freq: list[int],
    fsrv: list[int],
    returning: frozenset[int],
) -> dict[int, int]:
    """Relays that only pass one party's requests on, each with that party: relay -> party.

    A forwarding relay (a data API, a database proxy, an API gateway, a tool router) is an
    app, process or guardrail with no capabilities of its own (not an MCP server), asked by
    exactly one other element, which is not a person, vendor, store or outside content. It
    asks stores, whatever operations its flows declare (the party reads and writes them
    through it), and other forwarding relays; and, when every request the party makes of it
    gets an answer back (``returning``: calls and reads, not output pushed one way), tools,
    apps, processes and guardrails. It does no work of its own: what it asks, it asks for
    the party. An app with capabilities, one that calls a model, one that several parties
    (or people) ask, or one a model pushes its output to (output handling), asks itself.
    """
    candidates: dict[int, int] = {}
    for i, el in enumerate(els):
        if not _relay(el) or el.capabilities or not asks[i]:
            continue
        parties = {freq[f] for f in serves[i]} - {i}
        if len(parties) == 1:
            (party,) = parties
            if els[party].kind not in _NOT_PARTIES:
                candidates[i] = party
    # One that asks a model, directly or through other candidates (an agent loop drawn as an
    # app behind a gateway), does work of its own.
    calls_model = _grow(
        candidates,
        lambda i, found: any(
            els[fsrv[f]].kind in _MODEL_KINDS or fsrv[f] in found for f in asks[i]
        ),
    )

    def forwards(i: int, found: set[int]) -> bool:
        calls = all(f in returning for f in serves[i] if freq[f] != i)
        return all(
            els[fsrv[f]].kind in STORE_KINDS
            or fsrv[f] in found
            or (calls and els[fsrv[f]].kind in _ANSWERING)
            for f in asks[i]
        )

    # A relay counts once everything it asks is a store, a service, or a relay that counts:
    # a chain of proxies in front of a store is read end to end.
    relays = _grow(candidates.keys() - calls_model, forwards)
    return {i: candidates[i] for i in sorted(relays)}


def _grow(items: Iterable[int], holds: Callable[[int, set[int]], bool]) -> set[int]:
    """The items for which ``holds(item, found)`` comes true as ``found`` grows from nothing
    to every item found so far, until nothing changes (a fixpoint, in sorted order)."""
    todo = sorted(items)
    found: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i in todo:
            if i not in found and holds(i, found):
                found.add(i)
                changed = True
    return found


def ultimate_requesters(
    els: list[Element], asks: list[list[int]], fsrv: list[int], relays: dict[int, int]
) -> tuple[dict[int, int], frozenset[int]]:
    """Flow -> the element that really asks it, for the flows forwarding relays make
    (``relays``, from :func:`forwarding_relays`): the party behind the relay, or behind a
    chain of them; and the relays that front stores alone (all they ask, directly or through
    other relays, is stores: a data API, a database gateway)."""
    fronts = _grow(
        relays,
        lambda r, found: all(els[fsrv[f]].kind in STORE_KINDS or fsrv[f] in found for f in asks[r]),
    )
    out: dict[int, int] = {}
    for r in sorted(relays):
        party, seen = relays[r], {r}
        while party in relays and party not in seen:  # a ring of relays asks itself: stop
            seen.add(party)
            party = relays[party]
        for f in asks[r]:
            out[f] = party
    return out, frozenset(fronts)


def _authn_of(flags: Mapping[str, frozenset[int]], k: int) -> Authn:
    """Whose credential authenticates flow number ``k``, as derived (answers included)."""
    user, service = k in flags["authenticated_user"], k in flags["authenticated_service"]
    return "both" if user and service else "user" if user else "service" if service else "none"


def _exchanges(interactions: dict[str, tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    by_pair: dict[tuple[str, str], list[str]] = {}
    for fid, pair in interactions.items():
        by_pair.setdefault(pair, []).append(fid)
    out: dict[str, tuple[str, ...]] = {}
    for fids in by_pair.values():
        group = tuple(fids)
        for fid in fids:
            out[fid] = group
    return out


#: Who usually asks whom, for an undeclared pair of opposite arrows (higher asks lower).
_ASKS_FIRST: dict[Kind, int] = {
    Kind.ACTOR: 5,
    Kind.APP: 4,
    Kind.PROCESS: 4,
    Kind.GUARDRAIL: 4,
    Kind.TRAINING_PIPELINE: 4,
    Kind.AGENT: 3,
    Kind.LLM: 2,
    Kind.ML_MODEL: 2,
    Kind.TOOL: 1,
}


def _answers(
    flows: list[Flow],
    kinds: dict[str, Kind],
    deliveries: frozenset[str] = frozenset(),
    acting: frozenset[str] = frozenset(),
    bare: frozenset[str] = frozenset(),
) -> dict[int, bool]:
    """For undeclared flows that have an undeclared arrow back between the same two elements:
    flow index -> whether it is the answer (see :func:`interaction`).

    Each such pair is a request and its answer; which end asks is decided, in this order:

    1. a person talking straight to one end and not the other makes that end the front
       door, and the front door asks the other (a model people prompt directly that
       exchanges with a database app is calling it as a tool); a person asks; a tool
       answers; a store front (``bare``: an app, process or guardrail with no capabilities,
       in this one pair, that reads and writes stores and talks to nothing else: a data API
       or database gateway) is asked by its partner, since a store asks nothing;
    2. a relay (an app, process or guardrail) in exactly two pairs passes requests from one
       to the other: once one of its pairs is decided, so is the other (a proxy drawn
       between a model and its tool is asked by the model because it asks the tool; one
       between a person and an app asks the app because the person asks it);
    3. requests come from somewhere: between such a relay and another element, or between
       a model or agent and an app or process with side-effect capabilities (``acting``: a
       tool drawn as an app), the end that a third element is known to ask (a request
       declared, drawn alone, or decided) asks the other end (a model people's requests
       reach asks the proxy in front of its tool, and the payment app it acts through). A
       delivery of model weights or a training stage's output (``deliveries``) is no
       request. Only these pairs: a model that several agents call is asked by each of
       them, however many ask it. Steps 2 and 3 repeat until nothing changes, so a chain of
       relays is read end to end;
    4. the kinds (:data:`_ASKS_FIRST`), then step 2 again; between equals, the end some
       other active element is drawn sending to; failing that, the arrow whose id sorts
       first is the request.
    """
    first: dict[tuple[str, str], int] = {}
    for i, fl in enumerate(flows):
        if fl.operation is None:
            first.setdefault((fl.source, fl.target), i)
    pairs: dict[tuple[str, str], list[int]] = {}  # (one end, other end) -> its flows
    for i, fl in enumerate(flows):
        back = first.get((fl.target, fl.source))
        if (
            fl.operation is None
            and back is not None
            and fl.source != fl.target
            and kinds[fl.source] not in PASSIVE_KINDS
            and kinds[fl.target] not in PASSIVE_KINDS
        ):
            # Into or out of a store, an arrow each way is a write and a read, not a pair.
            ends = (fl.source, fl.target) if fl.source < fl.target else (fl.target, fl.source)
            pairs.setdefault(ends, []).append(i)
    asker = _first_askers(flows, kinds, pairs)
    asker.update(_store_fronts(flows, kinds, pairs, bare))
    in_pairs = {i for fids in pairs.values() for i in fids}
    asked = _known_requests(flows, kinds, in_pairs, deliveries)
    relays = _pure_relays(pairs, kinds)
    # The pairs step 3 may decide: those with a relay at one end, and a model or agent with
    # a tool drawn as an app.
    open_to_requests = {
        (a, b)
        for a, b in pairs
        if a in relays
        or b in relays
        or (a in acting and kinds[b] in _MODELS)
        or (b in acting and kinds[a] in _MODELS)
    }
    while True:
        _through_relays(pairs, relays, asker)
        if not _by_requests(open_to_requests, asker, asked):
            break
    for ends in pairs:
        if ends not in asker:
            rank_a, rank_b = (_ASKS_FIRST.get(kinds[x], 0) for x in ends)
            if rank_a != rank_b:
                asker[ends] = ends[0] if rank_a > rank_b else ends[1]
    _through_relays(pairs, relays, asker)
    fed: dict[str, set[str]] = {}  # element -> active elements drawn sending to it
    for fl in flows:
        if kinds[fl.source] not in PASSIVE_KINDS:
            fed.setdefault(fl.target, set()).add(fl.source)
    out: dict[int, bool] = {}
    for ends, fids in pairs.items():
        chosen = asker.get(ends)
        if chosen is None:
            chosen = _asker_by_kind(ends, kinds, fed, flows, fids)
        for i in fids:
            out[i] = flows[i].source != chosen
    return out


def _store_fronts(
    flows: list[Flow],
    kinds: dict[str, Kind],
    pairs: dict[tuple[str, str], list[int]],
    bare: frozenset[str],
) -> dict[tuple[str, str], str]:
    """The pairs with a store front at one end (see :func:`_answers`), each asked by the
    front's partner."""
    paired: dict[str, list[tuple[str, str]]] = {}
    for ends in pairs:
        for x in ends:
            paired.setdefault(x, []).append(ends)
    # Per candidate front: the directions it is drawn exchanging with stores, and whether it
    # has a flow with anything but a store outside its pair.
    with_stores: dict[str, set[bool]] = {}
    elsewhere: set[str] = set()
    for fl in flows:
        for me, other, outward in ((fl.source, fl.target, True), (fl.target, fl.source, False)):
            if me not in bare or len(paired.get(me, ())) != 1 or me == other:
                continue
            if kinds[other] in STORE_KINDS:
                with_stores.setdefault(me, set()).add(outward)
            elif other not in paired[me][0]:
                elsewhere.add(me)
    out: dict[tuple[str, str], str] = {}
    for front, ways in sorted(with_stores.items()):
        if len(ways) == 2 and front not in elsewhere:
            (ends,) = paired[front]
            out[ends] = ends[0] if ends[1] == front else ends[1]
    return out


def _known_requests(
    flows: list[Flow], kinds: dict[str, Kind], in_pairs: set[int], deliveries: frozenset[str]
) -> dict[str, set[str]]:
    """Element -> the active elements known to ask it, from the flows that are not one of an
    undeclared pair (read as :func:`interaction` reads them; deliveries are no requests)."""
    asked: dict[str, set[str]] = {}
    for i, fl in enumerate(flows):
        src, dst = fl.source, fl.target
        if i in in_pairs or src == dst or fl.id in deliveries:
            continue
        if fl.operation == "response" or (
            fl.operation is None
            and kinds[src] is Kind.TOOL
            and kinds[dst] in (Kind.LLM, Kind.AGENT)
        ):
            src, dst = dst, src  # an answer: the target asked
        if kinds[src] not in PASSIVE_KINDS and kinds[src] is not Kind.TRAINING_PIPELINE:
            asked.setdefault(dst, set()).add(src)
    return asked


def _by_requests(
    pairs: set[tuple[str, str]],
    asker: dict[tuple[str, str], str],
    asked: dict[str, set[str]],
) -> bool:
    """One round of step 3 of :func:`_answers`: decide each open pair of ``pairs`` one of
    whose ends a third element asks (known requests and the decided pairs); whether any was
    decided."""
    served: dict[str, set[str]] = {}  # element -> who asks it in a decided pair
    for (a, b), who in asker.items():
        served.setdefault(b if who == a else a, set()).add(who)

    def driven(x: str, partner: str) -> bool:
        return bool((asked.get(x, _NONE) | served.get(x, _NONE)) - {partner})

    decided: dict[tuple[str, str], str] = {}
    for a, b in sorted(pairs):
        if (a, b) in asker:
            continue
        driven_a, driven_b = driven(a, b), driven(b, a)
        if driven_a != driven_b:
            decided[(a, b)] = a if driven_a else b
    asker.update(decided)
    return bool(decided)


def _first_askers(
    flows: list[Flow], kinds: dict[str, Kind], pairs: dict[tuple[str, str], list[int]]
) -> dict[tuple[str, str], str]:
    """The pairs a person or a tool decides: the front door a person talks to asks, a person
    asks, a tool answers."""
    fronted = {
        fl.target for fl in flows if kinds[fl.source] is Kind.ACTOR and fl.operation != "response"
    }
    out: dict[tuple[str, str], str] = {}
    for a, b in pairs:
        ka, kb = kinds[a], kinds[b]
        if Kind.ACTOR not in (ka, kb) and (a in fronted) != (b in fronted):
            out[(a, b)] = a if a in fronted else b
        elif (ka is Kind.ACTOR) != (kb is Kind.ACTOR):
            out[(a, b)] = a if ka is Kind.ACTOR else b
        elif (ka is Kind.TOOL) != (kb is Kind.TOOL):
            out[(a, b)] = b if ka is Kind.TOOL else a
    return out


def _pure_relays(pairs: dict[tuple[str, str], list[int]], kinds: dict[str, Kind]) -> frozenset[str]:
    """The apps, processes and guardrails in exactly two pairs: relays between two partners."""
    count: dict[str, int] = {}
    for ends in pairs:
        for x in ends:
            count[x] = count.get(x, 0) + 1
    return frozenset(r for r, n in count.items() if n == 2 and kinds[r] in _RELAYS)


def _through_relays(
    pairs: dict[tuple[str, str], list[int]],
    relays: frozenset[str],
    asker: dict[tuple[str, str], str],
) -> None:
    """Decide the other pair of each relay once one is decided: a relay asks one partner
    for the other (see :func:`_answers`), until nothing changes."""
    of: dict[str, list[tuple[str, str]]] = {}
    for ends in pairs:
        for x in ends:
            if x in relays:
                of.setdefault(x, []).append(ends)
    changed = True
    while changed:
        changed = False
        for r in sorted(relays):
            one, two = of[r]
            if (one in asker) == (two in asker):
                continue
            known, open_ = (one, two) if one in asker else (two, one)
            other = open_[0] if open_[1] == r else open_[1]
            # The relay asks the decided partner: the other partner asks the relay; the
            # decided partner asks the relay: the relay asks the other partner.
            asker[open_] = other if asker[known] == r else r
            changed = True


def _asker_by_kind(
    ends: tuple[str, str],
    kinds: dict[str, Kind],
    fed: dict[str, set[str]],
    flows: list[Flow],
    fids: list[int],
) -> str:
    """The asker of a pair nothing else decides: by kind (:data:`_ASKS_FIRST`); between
    equals, the end another active element is drawn sending to; else the end whose arrow's
    id sorts first."""
    a, b = ends
    rank_a, rank_b = _ASKS_FIRST.get(kinds[a], 0), _ASKS_FIRST.get(kinds[b], 0)
    if rank_a != rank_b:
        return a if rank_a > rank_b else b
    fed_a = bool(fed.get(a, _NONE) - {b})
    fed_b = bool(fed.get(b, _NONE) - {a})
    if fed_a != fed_b:
        return a if fed_a else b
    return min((flows[i].id, flows[i].source) for i in fids)[1]


_RELAYS = frozenset({Kind.APP, Kind.PROCESS, Kind.GUARDRAIL})


def drawn_kind(el: Element) -> Kind:
    """The kind by which a drawing is read: an MCP server drawn as an app or process is a
    tool (it answers the calls it gets; it does not pass requests on)."""
    return Kind.TOOL if el.mcp and el.kind in _RELAYS else el.kind


def _relay(el: Element) -> bool:
    """An app, process or guardrail that passes requests on; an MCP server is a tool, whatever
    kind it is drawn as."""
    return el.kind in _RELAYS and not el.mcp


_MODELS = frozenset({Kind.LLM, Kind.AGENT})

#: The kinds a derived element fact can hold for (facts not listed can hold for any kind).
FACT_KINDS: dict[str, frozenset[Kind]] = {
    "runs_model": frozenset({Kind.LLM, Kind.ML_MODEL, Kind.AGENT}),
    "agentic": frozenset({Kind.AGENT, Kind.LLM}) | _LOOP_KINDS,
    "acts_for_model": _RELAYS,
    "fronts_stores": _RELAYS,
}
_ARTEFACT = frozenset({Classification.MODEL_WEIGHTS})
_NONE: frozenset[str] = frozenset()


def _frozen(index: dict[Any, set[int]]) -> dict[Any, frozenset[int]]:
    return {k: frozenset(v) for k, v in index.items()}


def _boundary_chain(boundaries: dict[str, Boundary], bid: str | None) -> tuple[str, ...]:
    """The boundary ``bid`` and its parents, innermost first (a cycle stops at its repeat)."""
    out: list[str] = []
    while bid is not None and bid in boundaries and bid not in out:
        out.append(bid)
        bid = boundaries[bid].parent
    return tuple(out)


def _effective_trust(el: Element, chain: tuple[str, ...], boundaries: dict[str, Boundary]) -> Trust:
    """An element's trust: declared, else its innermost boundary's, else its kind's default."""
    if el.trust is not None:
        return el.trust
    if chain:
        return boundaries[chain[0]].trust
    return DEFAULT_TRUST.get(el.kind, Trust.INTERNAL)


@dataclass
class _Elements:
    """What :func:`build` learns in its pass over the elements (see :func:`_index_elements`)."""

    boundaries: dict[str, Boundary]
    data: dict[str, DataAsset]
    nums: list[int]
    pos: dict[str, int]
    elements: dict[str, Element]
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    trust: dict[str, Trust] = field(default_factory=dict)
    by_kind: dict[Kind, list[str]] = field(default_factory=lambda: {k: [] for k in Kind})
    kind_nums: dict[Kind, list[int]] = field(default_factory=lambda: {k: [] for k in Kind})
    hosted_by: dict[str, list[str]] = field(default_factory=dict)
    #: 'stores', 'processes', 'trained_on', 'handles' -> classification -> element numbers.
    held: dict[str, dict[Classification, set[int]]] = field(
        default_factory=lambda: {"stores": {}, "processes": {}, "trained_on": {}, "handles": {}}
    )


def _index_elements(model: SystemModel) -> _Elements:
    """Number the elements and index them: trust, boundary chain, kind, host, data held."""
    boundaries = {b.id: b for b in model.boundaries}
    out = _Elements(
        boundaries=boundaries,
        data={d.id: d for d in model.data},
        nums=list(range(max(len(model.elements), len(model.flows)))),
        pos={},
        elements={},
    )
    pos, held, handles = out.pos, out.held, out.held["handles"]
    for el in model.elements:
        eid = el.id
        i = pos.get(eid)
        if i is None:  # a repeated id (rejected by validation) keeps its first number
            i = pos[eid] = out.nums[len(pos)]
        out.elements[eid] = el
        c = _boundary_chain(boundaries, el.boundary)
        out.chains[eid] = c
        out.trust[eid] = _effective_trust(el, c, boundaries)
        out.by_kind[el.kind].append(eid)
        out.kind_nums[el.kind].append(i)
        if el.provider:
            out.hosted_by.setdefault(el.provider, []).append(eid)
        for fieldname, ds in (
            ("stores", el.stores),
            ("processes", el.processes),
            ("trained_on", el.trained_on),
        ):
            for d in ds:
                cls = out.data[d].classification
                held[fieldname].setdefault(cls, set()).add(i)
                handles.setdefault(cls, set()).add(i)
    return out


@dataclass
class _Drawing:
    """How the flows are drawn, read from all of them before any one is interpreted."""

    #: Per element, the active elements its drawn flows go to: where its output is shown going.
    active_out: dict[str, set[str]]
    #: Per element, the elements its drawn incoming flows come from.
    drivers: dict[str, set[str]]
    #: Flow index -> whether it answers an undeclared arrow back (see :func:`_answers`).
    answered: dict[int, bool]
    #: Flow index of each hop of a chain of pass-through relays -> the chain (see
    #: :func:`_pass_through_spans`).
    spans: dict[int, _Span] = field(default_factory=dict)


def _read_drawing(model: SystemModel, elements: dict[str, Element]) -> _Drawing:
    """Who each element is drawn sending to and receiving from, and the drawn answers."""
    active_out: dict[str, set[str]] = {}
    drivers: dict[str, set[str]] = {}
    for fl in model.flows:
        drivers.setdefault(fl.target, set()).add(fl.source)
        if fl.target in elements and elements[fl.target].kind not in PASSIVE_KINDS:
            active_out.setdefault(fl.source, set()).add(fl.target)
            # A declared call's answer goes back to the caller as surely as a drawn one.
            if fl.operation == "call" and elements[fl.source].kind not in PASSIVE_KINDS:
                active_out.setdefault(fl.target, set()).add(fl.source)
    weights = {d.id for d in model.data if d.classification in _ARTEFACT}
    deliveries = frozenset(fl.id for fl in model.flows if fl.data and set(fl.data) <= weights)
    acting = frozenset(
        e
        for e, el in elements.items()
        if el.kind in (Kind.APP, Kind.PROCESS)
        and SIDE_EFFECT_CAPABILITIES.intersection(el.capabilities)
    )
    kinds = {e: drawn_kind(el) for e, el in elements.items()}
    bare = frozenset(e for e, el in elements.items() if _relay(el) and not el.capabilities)
    answered = _answers(model.flows, kinds, deliveries, acting, bare)
    answered.update(_queries(model.flows, kinds, bare))
    return _Drawing(active_out, drivers, answered, _pass_through_spans(model.flows, elements))


def _queries(flows: list[Flow], kinds: dict[str, Kind], bare: frozenset[str]) -> dict[int, bool]:
    """Undeclared arrows from a relay with no capabilities (``bare``: a gateway, a data API)
    into a store that carry no data while an undeclared arrow back carries some: the query
    of a read it passes on, not a write (it has nothing of its own to write). Flow index ->
    False (a request, as :func:`interaction` reads ``answered``). An agent's data-less
    arrow into its memory stays a write: it may just not say what it remembers."""
    answered_with_data = {
        (fl.target, fl.source)
        for fl in flows
        if fl.operation is None and fl.data and kinds[fl.source] in STORE_KINDS
    }
    return {
        i: False
        for i, fl in enumerate(flows)
        if fl.operation is None
        and not fl.data
        and kinds[fl.target] in STORE_KINDS
        and fl.source in bare
        and (fl.source, fl.target) in answered_with_data
    }


class _Span(NamedTuple):
    """A chain of pass-through relays: its first element, its last, and the relays between
    them in order (hop ``n`` of the chain leaves ``first`` for n = 0, else ``relays[n-1]``)."""

    first: str
    last: str
    relays: tuple[str, ...]


def _pass_through_spans(flows: list[Flow], elements: dict[str, Element]) -> dict[int, _Span]:
    """The hops of chains of pass-through relays: flow index -> its chain.

    A pass-through relay is an app, process or guardrail with no capabilities and exactly
    two flows, both plain arrows or both declaring the same operation: one in and one out, to
    different elements (a gateway, proxy or queue drawn into an arrow). It does nothing of
    its own, so each plain hop of the chain is read as the arrow from the chain's first
    element to its last would be (a declared hop keeps its operation): a
    request passed on and its answer passed back, or a write passed on. Not so from a model
    or agent to an element that acts: a process that takes a model's output and acts on it
    parses that output (output handling); it does not run the model's tool calls. Nor out
    of outside content, nor from a store into a store or a training pipeline: what reads
    those and hands their content on (an inbox poller, an export job) does so on its own
    initiative (:func:`_handed_on`).
    """
    touching: dict[str, list[int]] = {}
    for i, fl in enumerate(flows):
        touching.setdefault(fl.source, []).append(i)
        if fl.target != fl.source:
            touching.setdefault(fl.target, []).append(i)

    def onward(r: str) -> int | None:
        """The one flow out of ``r`` when ``r`` is a pass-through relay, else None."""
        el = elements.get(r)
        mine = touching.get(r, [])
        if el is None or not _relay(el) or el.capabilities or len(mine) != 2:
            return None
        a, b = (flows[i] for i in mine)
        if a.operation != b.operation:  # both plain arrows, or the same operation passed on
            return None
        if a.target == r and b.source == r and a.source != b.target:
            return mine[1]
        if b.target == r and a.source == r and b.source != a.target:
            return mine[0]
        return None

    spans: dict[int, _Span] = {}
    for i, fl in enumerate(flows):
        if onward(fl.source) is not None:
            continue
        hops = [i]
        r = fl.target
        while (nxt := onward(r)) is not None and len(hops) <= len(flows):
            hops.append(nxt)
            r = flows[nxt].target
        if len(hops) == 1 or r == fl.source or r not in elements:
            continue
        first, last = elements[fl.source], elements[r]
        carried = {frozenset(flows[h].data) for h in hops if flows[h].data}
        if _handed_on(first, last, len(carried) > 1) or (
            drawn_kind(first) in _MODEL_KINDS
            and (
                drawn_kind(last) is Kind.TOOL
                or SIDE_EFFECT_CAPABILITIES.intersection(last.capabilities)
            )
        ):
            continue
        span = _Span(fl.source, r, tuple(flows[h].source for h in hops[1:]))
        for h in hops:
            spans[h] = span
    return spans


def _handed_on(first: Element, last: Element, transforms: bool) -> bool:
    """Whether a chain of pass-through relays from ``first`` to ``last`` moves content on its
    own initiative rather than carrying ``last``'s read: out of outside content (an inbox
    poller, a feed fetcher), from a store into a store, or out of a store handing on other
    data than it read (``transforms``: an export job that de-identifies records). Out of a
    store into anything else, carrying the same data, it is a data API or gateway that
    ``last`` reads through."""
    if first.kind is Kind.EXTERNAL_CONTENT:
        return True
    return first.kind in STORE_KINDS and (last.kind in PASSIVE_KINDS or transforms)


def _lists(n: int) -> list[list[int]]:
    return [[] for _ in range(n)]


@dataclass
class _Adjacency:
    """Flow numbers and the flows into and out of each element, by number."""

    fids: list[str]
    fpos: dict[str, int]
    fsrc: list[int]
    fdst: list[int]
    out_flows: list[list[int]]
    in_flows: list[list[int]]

    @classmethod
    def empty(cls, n_elements: int) -> _Adjacency:
        """No flows yet, ``n_elements`` elements."""
        return cls([], {}, [], [], _lists(n_elements), _lists(n_elements))

    def number(self, fid: str, si: int, ti: int, nums: list[int]) -> tuple[int, bool]:
        """The flow's number, and whether it is new: a repeated id (rejected by validation)
        keeps its first number and is interpreted only once."""
        k = self.fpos.get(fid)
        if k is not None:
            return k, False
        k = self.fpos[fid] = nums[len(self.fids)]
        self.fids.append(fid)
        self.fsrc.append(si)
        self.fdst.append(ti)
        self.out_flows[si].append(k)
        self.in_flows[ti].append(k)
        return k, True


@dataclass
class _Ends:
    """Per flow, who asks and who serves (:func:`interaction`), and where its data leaves
    and arrives (the carriers); per element, the flows of each kind it takes part in."""

    interactions: dict[str, tuple[str, str]]
    carriers: dict[str, tuple[str, str]]
    answer_flows: set[str]  # flows that answer a request (drawn or declared)
    freq: list[int]
    fsrv: list[int]
    asks: list[list[int]]
    serves: list[list[int]]
    fsnd: list[int]
    frcv: list[int]
    sends: list[list[int]]
    receives: list[list[int]]

    @classmethod
    def empty(cls, n: int) -> _Ends:
        """No flows yet, ``n`` elements."""
        return cls({}, {}, set(), [], [], _lists(n), _lists(n), [], [], _lists(n), _lists(n))

    def record(self, fl: Flow, k: int, si: int, ti: int, source_asks: bool, op: str) -> None:
        """Record flow ``k`` (from element ``si`` to ``ti``) with its interaction."""
        src, dst = fl.source, fl.target
        self.interactions[fl.id] = (src, dst) if source_asks else (dst, src)
        if op == "response":
            self.answer_flows.add(fl.id)
        ri, vi = (si, ti) if source_asks else (ti, si)
        self.freq.append(ri)
        self.fsrv.append(vi)
        self.asks[ri].append(k)
        self.serves[vi].append(k)
        # A read drawn from the reader carries the read content back against the arrow.
        backwards = source_asks and op == "read"
        di, ai = (ti, si) if backwards else (si, ti)
        self.carriers[fl.id] = (dst, src) if backwards else (src, dst)
        self.fsnd.append(di)
        self.frcv.append(ai)
        self.sends[di].append(k)
        self.receives[ai].append(k)


@dataclass
class _Content:
    """The content-state graph as the flow pass fills it, the ways each flow moves content,
    and the flows that keep or return content."""

    role: bytearray
    graph: ContentGraph
    ways: list[int] = field(default_factory=list)
    kept_flows: set[int] = field(default_factory=set)
    returning_flows: set[int] = field(default_factory=set)

    @classmethod
    def empty(cls, elements: Iterable[Element]) -> _Content:
        """No flows yet; the roles of ``elements``."""
        role = bytearray(
            (INTERPRETER_STORE if el.interpreter else STORE)
            if el.kind in PASSIVE_KINDS
            else (STATELESS if el.kind in STATELESS_KINDS else STATEFUL)
            for el in elements
        )
        return cls(role, ContentGraph(role))

    def record(self, k: int, si: int, ti: int, source_asks: bool, op: str) -> None:
        """Add the content edges of flow ``k`` from element ``si`` to ``ti``."""
        role = self.role
        moves = content_edges(source_asks, op, role[si] in STORES, role[ti] in STORES)
        self.graph.add_flow(k, si, ti, moves)
        ways = 0
        for forward, code in moves:
            ways |= 1 if forward else 2
            if code & KEPT and forward:
                self.kept_flows.add(k)
            if code & RETURN:
                self.returning_flows.add(k)
        self.ways.append(ways)


@dataclass
class _ById:
    """The flows by id: their facts, ends, and the flows in and out of each element."""

    flows: dict[str, FlowFacts]
    flows_in: dict[str, list[str]]
    flows_out: dict[str, list[str]]
    flow_source: dict[str, str] = field(default_factory=dict)
    flow_target: dict[str, str] = field(default_factory=dict)

    def record(self, facts: FlowFacts) -> None:
        """Add one flow's facts."""
        fl = facts.flow
        fid, src, dst = fl.id, fl.source, fl.target
        self.flows[fid] = facts
        self.flows_out[src].append(fid)
        self.flows_in[dst].append(fid)
        self.flow_source[fid] = src
        self.flow_target[fid] = dst


@dataclass
class _Flags:
    """Flow numbers by classification, by flag (:attr:`Graph.flow_flags`) and by fact
    (:meth:`Graph.flows_by`)."""

    by_class: dict[Classification, set[int]] = field(default_factory=dict)
    encrypted: set[int] = field(default_factory=set)
    authenticated: set[int] = field(default_factory=set)
    #: By whose credential: a person's sign-in or session, the calling program's own identity.
    authenticated_user: set[int] = field(default_factory=set)
    authenticated_service: set[int] = field(default_factory=set)
    crossing: set[int] = field(default_factory=set)
    physical: set[int] = field(default_factory=set)
    facts_index: dict[str, dict[object, set[int]]] = field(
        default_factory=lambda: {"protocol": {}, "operation": {}, "trust": {}, "request_trust": {}}
    )

    def record(self, k: int, facts: FlowFacts, protocol: str, trust_signs: tuple[int, int]) -> None:
        """Index flow ``k`` by its flags and facts; ``trust_signs`` are the signs of the trust
        change from sender to receiver and from requester to server."""
        for cls in facts.classes:
            self.by_class.setdefault(cls, set()).add(k)
        if facts.encrypted:
            self.encrypted.add(k)
        if facts.authenticated:
            self.authenticated.add(k)
        if facts.authn in ("user", "both"):
            self.authenticated_user.add(k)
        if facts.authn in ("service", "both"):
            self.authenticated_service.add(k)
        if facts.crosses_boundary:
            self.crossing.add(k)
        if facts.flow.physical:
            self.physical.add(k)
        index = self.facts_index
        index["protocol"].setdefault(protocol, set()).add(k)
        index["operation"].setdefault(facts.flow.operation, set()).add(k)
        index["trust"].setdefault(trust_signs[0], set()).add(k)
        index["request_trust"].setdefault(trust_signs[1], set()).add(k)


def _sign_of_change(trust: dict[str, Trust], ends: tuple[str, str]) -> int:
    """-1, 0 or 1: the sign of the trust change from the first element to the second."""
    delta = trust[ends[1]].rank - trust[ends[0]].rank
    return (delta > 0) - (delta < 0)


def _flow_facts(fl: Flow, els: _Elements) -> tuple[FlowFacts, str]:
    """One flow's derived facts, and its protocol (lower case, '' when unset)."""
    src, dst = fl.source, fl.target
    assets = [els.data[d] for d in fl.data]
    protocol, controls, encrypted, authn = fl.link_facts()
    chains = els.chains
    facts = FlowFacts(
        flow=fl,
        crosses_boundary=(chains[src][:1] != chains[dst][:1]) or els.trust[src] != els.trust[dst],
        data=assets,
        classes=frozenset([d.classification for d in assets]),
        encrypted=encrypted,
        authenticated=authn != "none",
        authn=authn,
        controls=controls,
    )
    return facts, protocol


def _interpret(
    fl: Flow, n_flow: int, classes: frozenset[Classification], els: _Elements, drawing: _Drawing
) -> tuple[bool, str]:
    """:func:`interaction` for flow number ``n_flow``, with what the drawing says about it."""
    src, dst = fl.source, fl.target
    span = drawing.spans.get(n_flow) if fl.operation is None else None
    if span is not None:
        # A hop through pass-through relays reads as the arrow from the chain's first
        # element to its last would.
        first, last, relays = span
        return interaction(
            None,
            drawn_kind(els.elements[first]),
            drawn_kind(els.elements[last]),
            artefact=bool(classes) and classes <= _ARTEFACT,
            answers_elsewhere=bool(drawing.active_out.get(last, _NONE) - {relays[-1]}),
            asked_elsewhere=bool(drawing.drivers.get(first, _NONE) - {relays[0]}),
        )
    return interaction(
        fl.operation,
        drawn_kind(els.elements[src]),
        drawn_kind(els.elements[dst]),
        artefact=bool(classes) and classes <= _ARTEFACT,
        answers_elsewhere=bool(drawing.active_out.get(dst, _NONE) - {src}),
        asked_elsewhere=bool(drawing.drivers.get(src, _NONE) - {dst}),
        answered=drawing.answered.get(n_flow),
    )


def _tuples(lists: list[list[int]]) -> list[tuple[int, ...]]:
    return [tuple(x) for x in lists]


def _int_index(els: _Elements, adj: _Adjacency, ends: _Ends, content: _Content) -> IntIndex:
    """The integer view of the elements and flows, made from the tables of the flow pass."""
    nums = els.nums
    return IntIndex(
        ids=list(els.elements),
        pos=els.pos,
        fids=adj.fids,
        fpos=adj.fpos,
        nums=nums,
        els=list(els.elements.values()),
        by_kind=els.kind_nums,
        fsrc=adj.fsrc,
        fdst=adj.fdst,
        out_flows=_tuples(adj.out_flows),
        in_flows=_tuples(adj.in_flows),
        all_elements=frozenset(nums[: len(els.elements)]),
        all_flows=frozenset(nums[: len(adj.fids)]),
        freq=ends.freq,
        fsrv=ends.fsrv,
        asks=_tuples(ends.asks),
        serves=_tuples(ends.serves),
        fsnd=ends.fsnd,
        frcv=ends.frcv,
        sends=_tuples(ends.sends),
        receives=_tuples(ends.receives),
        content=content.graph,
        fways=content.ways,
        names=Names(list(els.elements), els.pos, nums, adj.fids),
    )


def _authenticate_answers(
    ends: _Ends,
    fpos: dict[str, int],
    by_id: _ById,
    exchanges: dict[str, tuple[str, ...]],
    *authenticated: set[int],
) -> None:
    """An answer drawn back rides on its request: it is as authenticated as a request of its
    exchange is (each set: any credential, a person's, the program's), so drawing the answer
    adds no unauthenticated flow."""
    for fid in sorted(ends.answer_flows):
        req = ends.interactions[fid][0]
        for flows in authenticated:
            if any(fpos[g] in flows and by_id.flow_source[g] == req for g in exchanges[fid]):
                flows.add(fpos[fid])


def _asked_through(
    model: SystemModel, els: _Elements, drawing: _Drawing
) -> dict[str, tuple[str, str | None, str | None]]:
    """The hops of pass-through chains (:func:`_pass_through_spans`): flow id -> (its source,
    the chain's first element, its last), each end left out (None) when an app stands
    between it and the hop: an app is where people sign in, and asks for itself; gateways
    and proxies (processes, guardrails) pass a request on for whoever made it."""
    out: dict[str, tuple[str, str | None, str | None]] = {}
    for i, (first, last, relays) in drawing.spans.items():
        fl = model.flows[i]
        n = 0 if fl.source == first else relays.index(fl.source) + 1  # the hop's place
        apps = [els.elements[r].kind is Kind.APP for r in relays]
        # apps[:n] stand before this hop, apps[n:] after it.
        out[fl.id] = (
            fl.source,
            None if any(apps[:n]) else first,
            None if any(apps[n:]) else last,
        )
    return out


def _ask_through_relays(
    ends: _Ends,
    flags: _Flags,
    els: _Elements,
    ix: IntIndex,
    content: _Content,
    spans: Mapping[str, tuple[str, str | None, str | None]],
) -> None:
    """Make the party behind each forwarding relay a requester of what the relay asks
    (:func:`ultimate_requesters`), beside the relay, in the indexes predicates read; the
    trust change of the request is the party's. So too the end that asks through a chain of
    pass-through relays (:func:`_pass_through_spans`): a person's request passed on by a
    gateway is still the person's on the gateway's side. ``interactions`` keep the drawn
    ends."""
    relays = forwarding_relays(
        ix.els, ends.asks, ends.serves, ends.freq, ends.fsrv, frozenset(content.returning_flows)
    )
    moved, fronts = ultimate_requesters(ix.els, ends.asks, ends.fsrv, relays)
    ix.fronts_stores = frozenset(ix.nums[i] for i in fronts)
    index = flags.facts_index["request_trust"]
    for f, party in sorted(moved.items()):
        ends.asks[party].append(f)
        ix.also_asked_by[f] = party
        hop = ix.fids[f]
        index[_sign_of_change(els.trust, ends.interactions[hop])].discard(f)
        ultimate = (ix.ids[party], ends.interactions[hop][1])
        index.setdefault(_sign_of_change(els.trust, ultimate), set()).add(f)
    # ``spans``: flow id -> (its source, the first and the last element of its chain, when
    # no app stands between). The hop keeps its own trust change: the relay, not the party,
    # crosses into the server's zone on it (a person's request passed on by a gateway of the
    # same zone is no inbound call from the internet to a service).
    for fid, (source, first, last) in sorted(spans.items()):
        f = ix.fpos[fid]
        requester = ends.interactions[fid][0]
        end = first if requester == source else last
        if end is not None and end != requester and f not in ix.also_asked_by:
            party = els.pos[end]
            ends.asks[party].append(f)
            ix.also_asked_by[f] = party
    for flows in ends.asks:
        flows.sort()
    ix.asks = _tuples(ends.asks)


def build(model: SystemModel) -> Graph:
    """Build the graph and derived facts from a finalized model.

    One pass over the elements (:func:`_index_elements`), one over the flows (each numbered,
    interpreted once: who asks, where its data goes, which ways content moves; then indexed
    by its facts), then the facts that need every flow (exchanges, element facts).
    """
    els = _index_elements(model)
    n = len(els.elements)
    drawing = _read_drawing(model, els.elements)
    adj = _Adjacency.empty(n)
    ends = _Ends.empty(n)
    content = _Content.empty(els.elements.values())
    by_id = _ById({}, {e: [] for e in els.elements}, {e: [] for e in els.elements})
    flags = _Flags()
    handles = els.held["handles"]
    for n_flow, fl in enumerate(model.flows):
        facts, protocol = _flow_facts(fl, els)
        si, ti = els.pos[fl.source], els.pos[fl.target]
        k, new = adj.number(fl.id, si, ti, els.nums)
        if new:
            source_asks, op = _interpret(fl, n_flow, facts.classes, els, drawing)
            ends.record(fl, k, si, ti, source_asks, op)
            content.record(k, si, ti, source_asks, op)
        by_id.record(facts)
        for cls in facts.classes:
            ends_of = handles.setdefault(cls, set())
            ends_of.add(si)
            ends_of.add(ti)
        signs = (
            _sign_of_change(els.trust, ends.carriers[fl.id]),
            _sign_of_change(els.trust, ends.interactions[fl.id]),
        )
        flags.record(k, facts, protocol, signs)
    content.graph.freeze()
    ix = _int_index(els, adj, ends, content)
    exchanges = _exchanges(ends.interactions)
    _authenticate_answers(
        ends,
        adj.fpos,
        by_id,
        exchanges,
        flags.authenticated,
        flags.authenticated_user,
        flags.authenticated_service,
    )
    _ask_through_relays(ends, flags, els, ix, content, _asked_through(model, els, drawing))
    returning = frozenset(content.returning_flows)
    element_facts = derive_element_facts(
        ix.els, ix.asks, ends.fsrv, els.nums, returning, (ix.serves, ix.freq)
    )
    element_facts.update(
        # Agents prove to each other which program speaks: a person's session passed on
        # between them does not (an agent holding it could pose as another).
        derive_agent_peers(ix, element_facts["agentic"], frozenset(flags.authenticated_service))
    )
    element_facts["fronts_stores"] = ix.fronts_stores
    return Graph(
        model=model,
        element_facts=element_facts,
        elements=els.elements,
        boundaries=els.boundaries,
        data=els.data,
        flows=by_id.flows,
        trust=els.trust,
        boundary_chain=els.chains,
        by_kind=els.by_kind,
        flows_in=by_id.flows_in,
        flows_out=by_id.flows_out,
        hosted_by=els.hosted_by,
        ix=ix,
        flow_source=by_id.flow_source,
        flow_target=by_id.flow_target,
        flows_by_class=_frozen(flags.by_class),
        flow_flags={
            "encrypted": frozenset(flags.encrypted),
            "authenticated": frozenset(flags.authenticated),
            "authenticated_user": frozenset(flags.authenticated_user),
            "authenticated_service": frozenset(flags.authenticated_service),
            "crosses_boundary": frozenset(flags.crossing),
            "kept": frozenset(content.kept_flows),
            "returns": frozenset(returning),
            "physical": frozenset(flags.physical),
        },
        interactions=ends.interactions,
        carriers=ends.carriers,
        exchanges=exchanges,
        _flow_indexes={k: _frozen(v) for k, v in flags.facts_index.items()},
        _held_indexes={k: _frozen(v) for k, v in els.held.items()},
    )
