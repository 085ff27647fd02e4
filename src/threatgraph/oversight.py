"""Oversight facts: who approves, reviews or monitors which agent, and whether that oversight
is independent of what it oversees.

A model declares oversight on the overseer (``oversees: [{element, role}]``). This module
derives, for each declared relation, the facts the oversight rules read:

- ``shares_model``: overseer and overseen run on the same model, or on models of the same
  vendor. An element's models are itself when it runs a model, and the model elements it asks,
  directly or through one relay (an app, process or guardrail such as a model gateway).
- ``shares_memory``: the overseen element writes into a store that keeps memory (a ``memory``
  element, or a store declared ``persistent``) and the overseer reads that store, each directly
  or through one relay: what the overseen writes becomes the overseer's context.
- ``mutual``: the overseen element also approves or reviews its overseer, directly or round a
  longer cycle of approvals and reviews.

Everything is read from derived requesters and servers (who asks whom), never from arrow
directions, so the facts hold however the flows are drawn and whether answers are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from threatgraph.model.schema import Kind

if TYPE_CHECKING:
    from threatgraph.graph import Graph

#: Elements that pass a request on to what they front (a model gateway, an MCP or API proxy).
_RELAYS = frozenset({Kind.APP, Kind.PROCESS, Kind.GUARDRAIL})
_MODEL_KINDS = frozenset({Kind.LLM, Kind.ML_MODEL})
#: Roles in which the overseer's judgement gates or corrects the overseen one's actions.
GATING_ROLES = frozenset({"approve", "review"})


@dataclass(frozen=True)
class OversightFact:
    """One declared oversight relation (element numbers as in the graph's integer index)."""

    overseer: int
    overseen: int
    role: str
    shares_model: bool
    shares_memory: bool
    mutual: bool


def _servers(graph: Graph, i: int, only: frozenset[int]) -> set[int]:
    """What element ``i`` asks in flows of ``only``, directly or through one relay it asks."""
    ix = graph.ix
    out: set[int] = set()
    for f in ix.asks[i]:
        j = ix.fsrv[f]
        if f in only:
            out.add(j)
        if ix.els[j].kind in _RELAYS:
            out.update(ix.fsrv[g] for g in ix.asks[j] if g in only)
    return out


def _models(graph: Graph, i: int) -> tuple[set[int], set[str]]:
    """The model elements ``i`` runs on, and their vendors. A gateway that fronts several
    models leaves unknown which one ``i`` uses: it adds none of them, only their vendor when
    they all have the same one."""
    ix = graph.ix
    runs = graph.element_facts.get("runs_model", frozenset())

    def is_model(j: int) -> bool:
        # Asking another agent is delegation, not running on its model.
        return j in runs and ix.els[j].kind in _MODEL_KINDS

    models = {i} if i in runs else set()
    vendors: set[str] = set()
    for f in ix.asks[i]:
        j = ix.fsrv[f]
        if is_model(j):
            models.add(j)
        elif ix.els[j].kind in _RELAYS:
            behind = {ix.fsrv[g] for g in ix.asks[j] if is_model(ix.fsrv[g])}
            if len(behind) == 1:
                models |= behind
            providers = {ix.els[m].provider for m in behind}
            if len(providers) == 1 and None not in providers:
                vendors |= {p for p in providers if p is not None}
    vendors |= {p for m in models if (p := ix.els[m].provider) is not None}
    return models, vendors


def _memory(graph: Graph, i: int) -> bool:
    el = graph.ix.els[i]
    return el.kind is Kind.MEMORY or (el.persistent is True and el.kind in _STORES)


_STORES = frozenset(
    {Kind.DATASTORE, Kind.VECTOR_STORE, Kind.MEMORY, Kind.FEATURE_STORE, Kind.DATASET}
)


def _cycles(edges: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The edges of ``edges`` that lie on a cycle."""
    import networkx as nx

    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_edges_from(edges)
    component: dict[int, int] = {}
    for n, members in enumerate(nx.strongly_connected_components(g)):
        for m in members:
            component[m] = n
    return {(a, b) for a, b in edges if component[a] == component[b]}


def derive_oversight(graph: Graph) -> tuple[OversightFact, ...]:
    """The oversight relations the model declares, with the facts above, in declaration
    order (overseers in element order, then as listed)."""
    ix = graph.ix
    declared: list[tuple[int, int, str]] = []
    for i, el in enumerate(ix.els):
        for o in el.oversees:
            j = ix.pos.get(o.element)
            if j is not None:
                declared.append((i, j, o.role))
    if not declared:
        return ()
    kept = graph.flow_flags.get("kept", frozenset())
    returns = graph.flow_flags.get("returns", frozenset())
    models: dict[int, tuple[set[int], set[str]]] = {}
    for i in {x for d in declared for x in d[:2]}:
        models[i] = _models(graph, i)
    on_cycle = _cycles({(a, b) for a, b, role in declared if role in GATING_ROLES})
    out: list[OversightFact] = []
    for a, b, role in declared:
        same = bool(models[a][0] & models[b][0]) or bool(models[a][1] & models[b][1])
        written = {s for s in _servers(graph, b, kept) if _memory(graph, s)}
        read = {s for s in _servers(graph, a, returns) if _memory(graph, s)}
        out.append(
            OversightFact(
                overseer=ix.nums[a],
                overseen=ix.nums[b],
                role=role,
                shares_model=same,
                shares_memory=bool(written & read),
                mutual=role in GATING_ROLES and (a, b) in on_cycle,
            )
        )
    return tuple(out)
