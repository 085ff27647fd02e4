"""Model -> networkx MultiDiGraph, plus the derived facts rules read.

Nodes are element ids (attribute ``el``: the Element); edges are flows keyed by flow id
(attribute ``flow``: the Flow). Derived facts: each element's effective trust and boundary
chain, each flow's trust change and whether it crosses a boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from threatgraph.model.schema import (
    Boundary,
    Classification,
    DataAsset,
    Element,
    Flow,
    Kind,
    SystemModel,
    Trust,
)

if TYPE_CHECKING:
    import networkx as nx

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
    trust_delta: int  # target rank - source rank: > 0 means towards more trust
    data: list[DataAsset]
    classes: frozenset[Classification] = frozenset()  # classifications of ``data``
    encrypted: bool = False  # Flow.is_encrypted, computed once
    authenticated: bool = False  # Flow.is_authenticated, computed once
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
    succ: list[list[tuple[int, int]]]  # element -> [(flow, target)]
    pred: list[list[tuple[int, int]]]  # element -> [(flow, source)]


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
    succ: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (flow, target)
    pred: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (flow, source)

    @functools.cached_property
    def g(self) -> nx.MultiDiGraph:
        """The networkx MultiDiGraph: nodes are element ids (attributes ``el``, ``trust``,
        ``kind``), edges are flows keyed by flow id (``flow``, ``crosses``).

        Built on first use: matching runs on the indexes below, so a pre-commit check does
        not pay for importing networkx.
        """
        import networkx as nx

        g = nx.MultiDiGraph(name=self.model.model.name)
        for eid, el in self.elements.items():
            g.add_node(eid, el=el, trust=self.trust[eid].value, kind=el.kind.value)
        for fid, facts in self.flows.items():
            fl = facts.flow
            g.add_edge(fl.source, fl.target, key=fid, flow=fl, crosses=facts.crosses_boundary)
        return g

    @functools.cached_property
    def ix(self) -> IntIndex:
        """The integer view of elements, flows and adjacency (built on first use)."""
        ids = list(self.elements)
        pos = {e: i for i, e in enumerate(ids)}
        fids = list(self.flows)
        succ: list[list[tuple[int, int]]] = [[] for _ in ids]
        pred: list[list[tuple[int, int]]] = [[] for _ in ids]
        for k, facts in enumerate(self.flows.values()):
            s, t = pos[facts.flow.source], pos[facts.flow.target]
            succ[s].append((k, t))
            pred[t].append((k, s))
        fpos = {f: k for k, f in enumerate(fids)}
        return IntIndex(ids=ids, pos=pos, fids=fids, fpos=fpos, succ=succ, pred=pred)

    @functools.cached_property
    def flow_source(self) -> dict[str, str]:
        """Flow id -> source element id."""
        return {f: facts.flow.source for f, facts in self.flows.items()}

    @functools.cached_property
    def flow_target(self) -> dict[str, str]:
        """Flow id -> target element id."""
        return {f: facts.flow.target for f, facts in self.flows.items()}

    @functools.cached_property
    def flows_by_class(self) -> dict[Classification, frozenset[str]]:
        """Classification -> ids of the flows carrying data of it."""
        got: dict[Classification, set[str]] = {}
        for f, facts in self.flows.items():
            for cls in facts.classes:
                got.setdefault(cls, set()).add(f)
        return {k: frozenset(v) for k, v in got.items()}

    @functools.cached_property
    def flow_flags(self) -> dict[str, frozenset[str]]:
        """'encrypted', 'authenticated', 'crosses_boundary' -> ids of the flows with it."""
        return {
            "encrypted": frozenset(f for f, x in self.flows.items() if x.encrypted),
            "authenticated": frozenset(f for f, x in self.flows.items() if x.authenticated),
            "crosses_boundary": frozenset(f for f, x in self.flows.items() if x.crosses_boundary),
        }

    @functools.cached_property
    def _flow_indexes(self) -> dict[str, dict[object, frozenset[str]]]:
        got: dict[str, dict[object, set[str]]] = {"protocol": {}, "operation": {}, "trust": {}}
        for f, x in self.flows.items():
            got["protocol"].setdefault((x.flow.protocol or "").lower(), set()).add(f)
            got["operation"].setdefault(x.flow.operation, set()).add(f)
            sign = (x.trust_delta > 0) - (x.trust_delta < 0)
            got["trust"].setdefault(sign, set()).add(f)
        return {k: {v: frozenset(fs) for v, fs in d.items()} for k, d in got.items()}

    def flows_by(self, fact: str) -> dict[object, frozenset[str]]:
        """Flow ids by the value of a fact: 'protocol' (lower case, '' when unset),
        'operation', or 'trust' (sign of the trust change: -1, 0, 1)."""
        return self._flow_indexes[fact]

    @functools.cached_property
    def _held_indexes(self) -> dict[str, dict[Classification, frozenset[str]]]:
        got: dict[str, dict[Classification, set[str]]] = {
            "stores": {},
            "processes": {},
            "trained_on": {},
            "handles": {},
        }
        handles = got["handles"]
        for e, el in self.elements.items():
            for fieldname in ("stores", "processes", "trained_on"):
                index = got[fieldname]
                for d in getattr(el, fieldname):
                    cls = self.data[d].classification
                    index.setdefault(cls, set()).add(e)
                    handles.setdefault(cls, set()).add(e)
        for cls, fids in self.flows_by_class.items():
            ends = handles.setdefault(cls, set())
            for f in fids:
                fl = self.flows[f].flow
                ends.add(fl.source)
                ends.add(fl.target)
        return {k: {c: frozenset(es) for c, es in d.items()} for k, d in got.items()}

    def elements_holding(self, fieldname: str) -> dict[Classification, frozenset[str]]:
        """Element ids by classification of the data in ``stores``, ``processes`` or
        ``trained_on``, or that they ``handle`` (any of those, or a flow in or out)."""
        return self._held_indexes[fieldname]

    def attr_index(self, name: str) -> dict[object, tuple[object, frozenset[str]]]:
        """Element ids by the value of one attribute: hashable key -> (value, ids).

        Attributes have few distinct values (flags, enums, short lists), so a test over an
        attribute runs once per distinct value instead of once per element.
        """
        cache = self.__dict__.setdefault("_attr_indexes", {})
        got: dict[object, tuple[object, frozenset[str]]] | None = cache.get(name)
        if got is None:
            groups: dict[object, tuple[object, set[str]]] = {}
            for e, el in self.elements.items():
                value = getattr(el, name)
                try:
                    key: object = tuple(value) if isinstance(value, list) else value
                    hash(key)
                except TypeError:  # an unhashable value: group by its text
                    key = ("\0unhashable", repr(value))
                groups.setdefault(key, (value, set()))[1].add(e)
            got = {k: (v, frozenset(es)) for k, (v, es) in groups.items()}
            cache[name] = got
        return got

    def element_data(self, element_id: str) -> set[Classification]:
        """Classifications an element stores, processes, was trained on, or exchanges."""
        el = self.elements[element_id]
        ids = set(el.stores) | set(el.processes) | set(el.trained_on)
        for fid in self.flows_in[element_id]:
            ids.update(self.flows[fid].flow.data)
        for fid in self.flows_out[element_id]:
            ids.update(self.flows[fid].flow.data)
        return {self.data[d].classification for d in ids}

    def successors(self, element_id: str) -> Iterator[tuple[str, str]]:
        """(flow id, target id) for each outgoing flow."""
        for fid in self.flows_out[element_id]:
            yield fid, self.flows[fid].flow.target

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Element id -> its name (as :meth:`describe` gives it)."""
        return {e: el.name for e, el in self.elements.items()}

    def describe(self, element_id: str) -> str:
        """Human name of an element."""
        return self.names.get(element_id, element_id)


def build(model: SystemModel) -> Graph:
    """Build the graph and derived facts from a finalized model."""
    boundaries = {b.id: b for b in model.boundaries}
    chains: dict[str, tuple[str, ...]] = {}

    def chain(bid: str | None) -> tuple[str, ...]:
        out: list[str] = []
        while bid is not None and bid in boundaries and bid not in out:
            out.append(bid)
            bid = boundaries[bid].parent
        return tuple(out)  # innermost first

    elements: dict[str, Element] = {}
    trust: dict[str, Trust] = {}
    by_kind: dict[Kind, list[str]] = {k: [] for k in Kind}
    hosted_by: dict[str, list[str]] = {}
    for el in model.elements:
        elements[el.id] = el
        c = chain(el.boundary)
        chains[el.id] = c
        if el.trust is not None:
            t = el.trust
        elif c:
            t = boundaries[c[0]].trust
        else:
            t = DEFAULT_TRUST.get(el.kind, Trust.INTERNAL)
        trust[el.id] = t
        by_kind[el.kind].append(el.id)
        if el.provider:
            hosted_by.setdefault(el.provider, []).append(el.id)

    data = {d.id: d for d in model.data}
    flows: dict[str, FlowFacts] = {}
    flows_in: dict[str, list[str]] = {e: [] for e in elements}
    flows_out: dict[str, list[str]] = {e: [] for e in elements}
    succ: dict[str, list[tuple[str, str]]] = {e: [] for e in elements}
    pred: dict[str, list[tuple[str, str]]] = {e: [] for e in elements}
    for fl in model.flows:
        src, dst = fl.source, fl.target
        facts = FlowFacts(
            flow=fl,
            crosses_boundary=(chains[src][:1] != chains[dst][:1]) or trust[src] != trust[dst],
            trust_delta=trust[dst].rank - trust[src].rank,
            data=[data[d] for d in fl.data],
            classes=frozenset(data[d].classification for d in fl.data),
            encrypted=fl.is_encrypted,
            authenticated=fl.is_authenticated,
            controls=fl.control_ids(),
        )
        flows[fl.id] = facts
        flows_out[src].append(fl.id)
        flows_in[dst].append(fl.id)
        succ[src].append((fl.id, dst))
        pred[dst].append((fl.id, src))
    return Graph(
        model=model,
        elements=elements,
        boundaries=boundaries,
        data=data,
        flows=flows,
        trust=trust,
        boundary_chain=chains,
        by_kind=by_kind,
        flows_in=flows_in,
        flows_out=flows_out,
        hosted_by=hosted_by,
        succ=succ,
        pred=pred,
    )
