"""Model -> networkx MultiDiGraph, plus the derived facts rules read.

Nodes are element ids (attribute ``el``: the Element); edges are flows keyed by flow id
(attribute ``flow``: the Flow). Derived facts: each element's effective trust and boundary
chain, each flow's trust change and whether it crosses a boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    succ: list[tuple[tuple[int, int], ...]]  # element -> [(flow, target)]
    pred: list[tuple[tuple[int, int], ...]]  # element -> [(flow, source)]
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
    ix: IntIndex = field(default_factory=lambda: IntIndex([], {}, [], {}, [], []))
    #: Flow id -> source element id.
    flow_source: dict[str, str] = field(default_factory=dict)
    #: Flow id -> target element id.
    flow_target: dict[str, str] = field(default_factory=dict)
    #: Classification -> numbers of the flows carrying data of it.
    flows_by_class: dict[Classification, frozenset[int]] = field(default_factory=dict)
    #: 'encrypted', 'authenticated', 'crosses_boundary' -> numbers of the flows with it.
    flow_flags: dict[str, frozenset[int]] = field(default_factory=dict)
    _flow_indexes: dict[str, dict[object, frozenset[int]]] = field(default_factory=dict)
    _held_indexes: dict[str, dict[Classification, frozenset[int]]] = field(default_factory=dict)
    _attr_indexes: dict[str, dict[object, tuple[object, frozenset[int]]]] = field(
        default_factory=dict
    )

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

    def flows_by(self, fact: str) -> dict[object, frozenset[int]]:
        """Flow numbers (see :class:`IntIndex`) by the value of a fact: 'protocol' (lower
        case, '' when unset), 'operation', or 'trust' (sign of the trust change: -1, 0, 1)."""
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


def _frozen(index: dict[Any, set[int]]) -> dict[Any, frozenset[int]]:
    return {k: frozenset(v) for k, v in index.items()}


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

    data = {d.id: d for d in model.data}
    nums = list(range(max(len(model.elements), len(model.flows))))
    pos: dict[str, int] = {}
    kind_nums: dict[Kind, list[int]] = {k: [] for k in Kind}
    elements: dict[str, Element] = {}
    trust: dict[str, Trust] = {}
    by_kind: dict[Kind, list[str]] = {k: [] for k in Kind}
    hosted_by: dict[str, list[str]] = {}
    held: dict[str, dict[Classification, set[int]]] = {
        "stores": {},
        "processes": {},
        "trained_on": {},
        "handles": {},
    }
    handles = held["handles"]
    for el in model.elements:
        eid = el.id
        i = pos.get(eid)
        if i is None:  # a repeated id (rejected by validation) keeps its first number
            i = pos[eid] = nums[len(pos)]
        elements[eid] = el
        c = chain(el.boundary)
        chains[eid] = c
        if el.trust is not None:
            t = el.trust
        elif c:
            t = boundaries[c[0]].trust
        else:
            t = DEFAULT_TRUST.get(el.kind, Trust.INTERNAL)
        trust[eid] = t
        by_kind[el.kind].append(eid)
        kind_nums[el.kind].append(i)
        if el.provider:
            hosted_by.setdefault(el.provider, []).append(eid)
        for fieldname, ds in (
            ("stores", el.stores),
            ("processes", el.processes),
            ("trained_on", el.trained_on),
        ):
            for d in ds:
                cls = data[d].classification
                held[fieldname].setdefault(cls, set()).add(i)
                handles.setdefault(cls, set()).add(i)

    ids = list(elements)
    flows: dict[str, FlowFacts] = {}
    flows_in: dict[str, list[str]] = {e: [] for e in elements}
    flows_out: dict[str, list[str]] = {e: [] for e in elements}
    fids: list[str] = []
    fpos: dict[str, int] = {}
    fsrc: list[int] = []
    fdst: list[int] = []
    succ: list[list[tuple[int, int]]] = [[] for _ in ids]
    pred: list[list[tuple[int, int]]] = [[] for _ in ids]
    out_flows: list[list[int]] = [[] for _ in ids]
    in_flows: list[list[int]] = [[] for _ in ids]
    flow_source: dict[str, str] = {}
    flow_target: dict[str, str] = {}
    by_class: dict[Classification, set[int]] = {}
    encrypted_flows: set[int] = set()
    authenticated_flows: set[int] = set()
    crossing_flows: set[int] = set()
    facts_index: dict[str, dict[object, set[int]]] = {"protocol": {}, "operation": {}, "trust": {}}
    by_protocol, by_operation, by_trust = (
        facts_index["protocol"],
        facts_index["operation"],
        facts_index["trust"],
    )
    for fl in model.flows:
        fid, src, dst = fl.id, fl.source, fl.target
        assets = [data[d] for d in fl.data]
        classes = frozenset([d.classification for d in assets])
        protocol, controls, encrypted, authenticated = fl.link_facts()
        t_src, t_dst = trust[src], trust[dst]
        delta = t_dst.rank - t_src.rank
        facts = FlowFacts(
            flow=fl,
            crosses_boundary=(chains[src][:1] != chains[dst][:1]) or t_src != t_dst,
            trust_delta=delta,
            data=assets,
            classes=classes,
            encrypted=encrypted,
            authenticated=authenticated,
            controls=controls,
        )
        si, ti = pos[src], pos[dst]
        k = fpos.get(fid)
        if k is None:  # a repeated id (rejected by validation) keeps its first number
            k = fpos[fid] = nums[len(fids)]
            fids.append(fid)
            fsrc.append(si)
            fdst.append(ti)
            succ[si].append((k, ti))
            pred[ti].append((k, si))
            out_flows[si].append(k)
            in_flows[ti].append(k)
        flows[fid] = facts
        flows_out[src].append(fid)
        flows_in[dst].append(fid)
        flow_source[fid] = src
        flow_target[fid] = dst
        for cls in classes:
            by_class.setdefault(cls, set()).add(k)
            ends = handles.setdefault(cls, set())
            ends.add(si)
            ends.add(ti)
        if encrypted:
            encrypted_flows.add(k)
        if authenticated:
            authenticated_flows.add(k)
        if facts.crosses_boundary:
            crossing_flows.add(k)
        by_protocol.setdefault(protocol, set()).add(k)
        by_operation.setdefault(fl.operation, set()).add(k)
        by_trust.setdefault((delta > 0) - (delta < 0), set()).add(k)
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
        ix=IntIndex(
            ids=ids,
            pos=pos,
            fids=fids,
            fpos=fpos,
            succ=[tuple(x) for x in succ],
            pred=[tuple(x) for x in pred],
            nums=nums,
            els=list(elements.values()),
            by_kind=kind_nums,
            fsrc=fsrc,
            fdst=fdst,
            out_flows=[tuple(x) for x in out_flows],
            in_flows=[tuple(x) for x in in_flows],
            all_elements=frozenset(nums[: len(ids)]),
            all_flows=frozenset(nums[: len(fids)]),
        ),
        flow_source=flow_source,
        flow_target=flow_target,
        flows_by_class=_frozen(by_class),
        flow_flags={
            "encrypted": frozenset(encrypted_flows),
            "authenticated": frozenset(authenticated_flows),
            "crosses_boundary": frozenset(crossing_flows),
        },
        _flow_indexes={k: _frozen(v) for k, v in facts_index.items()},
        _held_indexes={k: _frozen(v) for k, v in held.items()},
    )
