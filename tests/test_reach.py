"""The content searches path rules run (threatgraph.reach): networkx traversals of the
content-state graph.

Property tests check the searches against each other on random systems: a search from many
sources is the union of the searches from each; the backward search (``reaches``) finds
exactly the elements whose own forward search reaches a goal; every witness is a real route
of the stated length through allowed elements and flows. Examples pin what content does at
models, stores and interpreters, and which of several equally short routes is the witness.
"""

from __future__ import annotations

from typing import Any

from helpers import model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.graph import Graph, build
from threatgraph.reach import FULL, SERVING, STATES, Reach
from threatgraph.reach import content_search as _search
from threatgraph.reach import content_sources as _sources

KINDS = [
    "actor",
    "app",
    "process",
    "llm",
    "agent",
    "tool",
    "guardrail",
    "datastore",
    "vector_store",
    "external_content",
    "training_pipeline",
    "model_registry",
]
OPERATIONS = [None, None, "read", "write", "call", "response", "event"]
PROPS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def systems(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid model: elements of every role, flows with every operation, several
    flows between one pair (so that limits on flows change the order of neighbours)."""
    n = draw(st.integers(2, 9))
    elements: list[dict[str, Any]] = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        el: dict[str, Any] = {"id": f"e{i}", "name": f"E{i}", "kind": kind}
        if kind == "datastore" and draw(st.booleans()):
            el["interpreter"] = "sql"
        elements.append(el)
    flows = []
    for j in range(draw(st.integers(1, 3 * n))):
        a, b = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
        fl: dict[str, Any] = {"from": f"e{a}", "to": f"e{b}", "name": f"f{j}"}
        op = draw(st.sampled_from(OPERATIONS))
        if op is not None:
            fl["operation"] = op
        flows.append(fl)
    return {"elements": elements, "flows": flows}


@st.composite
def searches(draw: st.DrawFn) -> tuple[Graph, frozenset[int], Any, Any, int]:
    """A model's graph and the limits of one search: sources, the elements it may pass
    through and the flows it may follow (None: all), and the longest route."""
    g = build(model(draw(systems())))
    n, f = len(g.ix.ids), len(g.ix.fids)
    seeds = frozenset(draw(st.sets(st.integers(0, n - 1), max_size=3)))
    ok = draw(st.none() | st.frozensets(st.integers(0, n - 1)))
    flows = draw(st.none() | st.frozensets(st.integers(0, f - 1)))
    max_hops = draw(st.sampled_from([1, 2, 3, 1 << 30]))
    return g, seeds, ok, flows, max_hops


def _masks(
    g: Graph, ok: frozenset[int] | None, flows: frozenset[int] | None
) -> tuple[bytearray, bytearray]:
    n, f = len(g.ix.ids), len(g.ix.fids)
    return (
        bytearray(1 if ok is None or i in ok else 0 for i in range(n)),
        bytearray(1 if flows is None or k in flows else 0 for k in range(f)),
    )


def content_search(g: Graph, seeds: frozenset[int], ok: Any, flows: Any, max_hops: int) -> Reach:
    """The search from ``seeds`` with limits given as sets (None: no limit)."""
    seed = bytearray(1 if i in seeds else 0 for i in range(len(g.ix.ids)))
    return _search(g.ix.names, g.ix.content, seed, *_masks(g, ok, flows), max_hops)


def content_sources(g: Graph, goals: frozenset[int], ok: Any, flows: Any, max_hops: int) -> Reach:
    """The backward search to ``goals`` with limits given as sets (None: no limit)."""
    goal = bytearray(1 if i in goals else 0 for i in range(len(g.ix.ids)))
    return _sources(g.ix.names, g.ix.content, goal, *_masks(g, ok, flows), max_hops)


def _hops(reach: Reach) -> dict[int, int]:
    return {e: h for e, h in enumerate(reach.hop) if h}


@PROPS
@given(searches())
def test_a_search_from_many_sources_is_the_union_of_one_per_source(
    case: tuple[Graph, frozenset[int], Any, Any, int],
) -> None:
    g, seeds, ok, flows, max_hops = case
    together = content_search(g, seeds, ok, flows, max_hops)
    best: dict[int, int] = {}
    for s in seeds:
        for e, hops in _hops(content_search(g, frozenset([s]), ok, flows, max_hops)).items():
            best[e] = min(hops, best.get(e, hops))
    assert _hops(together) == best


@PROPS
@given(searches())
def test_reaches_finds_exactly_the_elements_whose_content_reaches_a_goal(
    case: tuple[Graph, frozenset[int], Any, Any, int],
) -> None:
    g, goals, ok, flows, max_hops = case
    back = content_sources(g, goals, ok, flows, max_hops).reached_set()
    for e in range(len(g.ix.ids)):
        forward = content_search(g, frozenset([e]), ok, flows, max_hops).reached_set()
        assert (e in back) == bool(forward & goals), g.ix.ids[e]


@PROPS
@given(searches())
def test_every_witness_is_a_shortest_allowed_route(
    case: tuple[Graph, frozenset[int], Any, Any, int],
) -> None:
    g, seeds, ok, flows, max_hops = case
    ix = g.ix
    reach = content_search(g, seeds, ok, flows, max_hops)
    for e, hops in _hops(reach).items():
        nodes, route = reach.witness(ix.ids[e])
        assert ix.pos[nodes[0]] in seeds and nodes[-1] == ix.ids[e]
        assert len(route) == len(nodes) - 1 == hops <= max_hops
        for a, b, fid in zip(nodes[:-1], nodes[1:], route, strict=True):
            assert {g.flow_source[fid], g.flow_target[fid]} == {a, b}
            assert flows is None or ix.fpos[fid] in flows
        assert all(ok is None or ix.pos[x] in ok for x in nodes[1:-1])


def _graph(elements: list[tuple[str, str]], flows: list[tuple[str, str, str, str]]) -> Graph:
    return build(
        model(
            {
                "elements": [{"id": i, "name": i.upper(), "kind": k} for i, k in elements],
                "flows": [
                    {"id": f, "from": a, "to": b, "name": f, "operation": op}
                    for f, a, b, op in flows
                ],
            }
        )
    )


def _from(g: Graph, *ids: str, flows: frozenset[int] | None = None) -> set[str]:
    reach = content_search(g, frozenset(g.ix.pos[i] for i in ids), None, flows, 1 << 30)
    return {g.ix.ids[e] for e in reach.reached_set()}


def test_a_model_does_not_pass_one_callers_prompt_to_another_caller() -> None:
    g = _graph(
        [("alice", "actor"), ("bob", "actor"), ("llm", "llm")],
        [("ask-a", "alice", "llm", "call"), ("ask-b", "bob", "llm", "call")],
    )
    assert _from(g, "alice") == {"llm"}
    assert g.ix.pos["llm"] * STATES + SERVING in g.ix.content.graph
    # What the model says comes back to both callers (and, in their next prompts, to the
    # model itself).
    assert _from(g, "llm") == {"alice", "bob", "llm"}


def test_a_query_reaches_an_interpreter_and_goes_no_further() -> None:
    g = build(
        model(
            {
                "elements": [
                    {"id": "app", "name": "App", "kind": "app"},
                    {"id": "db", "name": "DB", "kind": "datastore", "interpreter": "sql"},
                    {"id": "other", "name": "Other", "kind": "app"},
                ],
                "flows": [
                    {"from": "app", "to": "db", "name": "query", "operation": "read"},
                    {"from": "other", "to": "db", "name": "lookup", "operation": "read"},
                ],
            }
        )
    )
    assert _from(g, "app") == {"db"}
    # What the store holds reaches both readers (and their queries reach it back).
    assert _from(g, "db") == {"app", "other", "db"}
    assert not g.ix.content.succ[g.ix.pos["db"] * STATES + FULL].keys() - {
        g.ix.pos["app"] * STATES + FULL,
        g.ix.pos["other"] * STATES + FULL,
    }


def test_the_witness_is_the_route_whose_flows_were_drawn_first() -> None:
    # Two routes of two hops from the app to the store: through b (flows f1 or f3) and
    # through c (flow f2). The first-drawn flow out of the app decides.
    g = _graph(
        [("app", "app"), ("b", "process"), ("c", "process"), ("store", "datastore")],
        [
            ("f1", "app", "b", "write"),
            ("f2", "app", "c", "write"),
            ("f3", "app", "b", "write"),
            ("f4", "b", "store", "write"),
            ("f5", "c", "store", "write"),
        ],
    )
    ix = g.ix
    every = content_search(g, frozenset([ix.pos["app"]]), None, None, 1 << 30)
    assert every.witness("store") == (["app", "b", "store"], ["f1", "f4"])
    # Without f1, the route through c was found first: f2 was drawn before f3.
    limited = ix.all_flows - {ix.fpos["f1"]}
    without = content_search(g, frozenset([ix.pos["app"]]), None, limited, 1 << 30)
    assert without.witness("store") == (["app", "c", "store"], ["f2", "f5"])
    assert without.witness("b") == (["app", "b"], ["f3"])


def test_a_source_reached_from_another_source_counts_as_reached() -> None:
    g = _graph(
        [("a1", "agent"), ("a2", "agent")],
        [("talk", "a1", "a2", "write")],
    )
    ix = g.ix
    reach = content_search(g, frozenset(ix.pos.values()), None, None, 1 << 30)
    assert reach.reached("a2") and not reach.reached("a1")
    assert reach.witness("a2") == (["a1", "a2"], ["talk"])
    assert content_sources(g, frozenset([ix.pos["a2"]]), None, None, 1).reached_set() == {
        ix.pos["a1"]
    }
