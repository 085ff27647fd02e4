"""Where content goes: the content-state graph, a networkx ``DiGraph``, and the searches that
path and reach predicates run on it.

Content does not simply follow arrows. A model that received one caller's prompt does not
put it into its answers to other callers; a store passes on only what was written into it; a
query reaches a database that runs it and goes no further. So the searches run over
**content states** rather than elements. A node is a state ``element * STATES + mode``:

- ``FULL``: the element received content as an answer, keeps it (a store) or is a source;
  it passes it on every way;
- ``SERVING``: a stateless element (a model, tool or guardrail) received content as a
  request; it passes it on in its own requests and writes, not in answers to other callers
  (no answer edge leaves this state);
- ``QUERIED``: a store that runs queries (an interpreter) received one: reached, and no edge
  leaves it.

An edge is a way content moves between two states; its ``flows`` attribute lists the flows
(by number, in declaration order) that move it so. The graph is made once per model, while
the model's graph is built (:class:`ContentGraph`). A search is a networkx breadth-first
traversal (:func:`networkx.generic_bfs_edges`) from a root state whose neighbours are the
search's starting states; what a predicate limits (the flows it may follow, the elements it
may pass through) only decides which neighbours the traversal is given, so nothing is copied
per search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import compress
from typing import NamedTuple

import networkx as nx

#: Roles of elements in moving content: an active element that keeps state (an app,
#: process, agent, person: what reaches it may go anywhere it sends), a store, a store that
#: runs the queries it is sent (an interpreter, such as a SQL database), and a stateless
#: active element (a model, tool or guardrail).
STATEFUL, STORE, INTERPRETER_STORE, STATELESS = 0, 1, 2, 3
STORES = (STORE, INTERPRETER_STORE)

#: Bits of a content edge's code: the edge is an answer going back to a requester (else a
#: request, write or message going to a server), and what it carries is kept by the
#: receiving end (written into a store).
RETURN = 1
KEPT = 2

#: Modes of an element in a content state (see the module docstring); a state is
#: ``element * STATES + mode``.
SERVING, FULL, QUERIED = 0, 1, 2
STATES = 3

#: The flows a state's edge to each neighbour carries: networkx's adjacency of one state.
Neighbours = dict[int, dict[str, tuple[int, ...]]]


def entry_mode(role: int, code: int) -> int:
    """The mode an element enters through a content edge with ``code``, or -1: not reached.

    A store keeps what is written into it (and then passes it to its readers); a query
    reaches only a store that runs queries (an interpreter), and goes no further; a stateless
    element (a model, tool or guardrail) passes an answer it received on every way, a request
    only onward; an element that keeps state passes on whatever reaches it.
    """
    if role == STATEFUL:
        return FULL
    if role == STATELESS:
        return FULL if code & RETURN else SERVING
    if code & KEPT:
        return FULL
    return QUERIED if role == INTERPRETER_STORE else -1


class ContentGraph:
    """The content-state graph of one model (see the module docstring).

    Made empty with the elements' roles; each flow's content edges are added with
    :meth:`add_flow`, in flow order, and :meth:`freeze` makes the networkx graph. One more
    node, :attr:`root`, starts every search.
    """

    def __init__(self, role: bytes | bytearray) -> None:
        self.role = bytes(role)
        self.root = len(role) * STATES
        self.graph = nx.DiGraph()
        self._edges: dict[tuple[int, int], list[int]] = {}
        #: networkx's adjacency of each state, in both directions (lists indexed by state;
        #: the dictionaries are the graph's own, not copies). Set by :meth:`freeze`.
        self.succ: list[Neighbours] = []
        self.pred: list[Neighbours] = []

    def add_flow(self, k: int, si: int, ti: int, moves: Iterable[tuple[bool, int]]) -> None:
        """Add the content edges of flow ``k`` from element ``si`` to ``ti``: ``moves`` are
        (from the flow's source to its target, code) as :func:`threatgraph.graph.content_edges`
        gives them."""
        role, edges = self.role, self._edges
        for forward, code in moves:
            a, b = (si, ti) if forward else (ti, si)
            mode = entry_mode(role[b], code)
            if mode < 0:
                continue
            to = b * STATES + mode
            edges.setdefault((a * STATES + FULL, to), []).append(k)
            if role[a] == STATELESS and not code & RETURN:
                edges.setdefault((a * STATES + SERVING, to), []).append(k)

    def freeze(self) -> None:
        """Make the networkx graph from the edges added. Edges go in in the order of their
        first flow, so each state's neighbours come in that order: a search finds the same
        witness routes whatever else a predicate limits."""
        g = self.graph
        # Nodes: every element's FULL state (where searches start) and the root; other
        # states come with their edges. A traversal needs every state it can meet to be a
        # node (networkx stops once it has seen as many states as the graph has nodes).
        g.add_nodes_from(range(FULL, self.root, STATES))
        g.add_node(self.root)
        g.add_edges_from((u, v, {"flows": tuple(ks)}) for (u, v), ks in self._edges.items())
        self._edges = {}
        none: Neighbours = {}
        succ, pred = dict(g.adjacency()), dict(nx.reverse_view(g).adjacency())
        self.succ = [succ.get(x, none) for x in range(self.root + 1)]
        self.pred = [pred.get(x, none) for x in range(self.root + 1)]


def _first_allowed(flows: tuple[int, ...], edge: bytes | bytearray | None) -> int:
    """The first of an edge's ``flows`` a search may follow (-1: none)."""
    if edge is None:
        return flows[0]
    return next((f for f in flows if edge[f]), -1)


def _allowed(nbrs: Neighbours, edge: bytes | bytearray) -> list[int]:
    """The neighbours in ``nbrs`` along a flow in ``edge``, in the order of the first such
    flow to each (which need not be an edge's first flow)."""
    hits: list[int] = []
    later: list[tuple[int, int]] = []  # (first allowed flow, neighbour) past an edge's first
    for y, d in nbrs.items():
        flows = d["flows"]
        if edge[flows[0]]:
            hits.append(y)
        elif len(flows) > 1 and (f := _first_allowed(flows, edge)) >= 0:
            later.append((f, y))
    if not later:
        return hits  # in the graph's order: that of each edge's first flow
    first = {y: nbrs[y]["flows"][0] for y in hits}
    return [y for _, y in sorted([*((f, y) for y, f in first.items()), *later])]


def _limit(edge: bytes | bytearray) -> bytes | bytearray | None:
    """None when the flow mask allows every flow (the searches then skip the check)."""
    return None if edge.count(0) == 0 else edge


@dataclass(frozen=True)
class Names:
    """What names the numbers a search works in: element ids by number and back, the
    shared number objects (:attr:`threatgraph.graph.IntIndex.nums`), and flow ids."""

    ids: list[str]
    pos: dict[str, int]
    nums: list[int]
    fids: list[str]


@dataclass
class Reach:
    """Result of one content search: which elements content reaches, and how.

    A source is itself reached when another source (or a route back to itself) leads to
    it, so "an agent reachable from an agent" works. Elements and flows are numbers
    (:class:`threatgraph.graph.IntIndex`), named by ``names``.
    """

    names: Names
    hop: list[int]  # element -> fewest flows from some source (0: not reached)
    #: Element -> the state it was first reached in (-1: none); state -> the state it was
    #: reached from (-1: none). Forward searches only: :meth:`witness` follows them.
    first: list[int] = field(default_factory=list)
    back: list[int] = field(default_factory=list)
    seed: bytes = b""  # 1 for the search's sources
    content: ContentGraph | None = None
    edge: bytes | bytearray | None = None  # the flows the search could follow (None: all)
    _reached: frozenset[int] | None = field(default=None, repr=False)
    #: Witnesses already traced (many rules ask for the same element's route).
    _witnesses: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict, repr=False)

    def reached_set(self) -> frozenset[int]:
        """The number of every element reached through at least one flow."""
        got = self._reached
        if got is None:
            # The numbers whose hop is not 0, as the shared number objects.
            got = frozenset(compress(self.names.nums, self.hop))
            self._reached = got
        return got

    def reached(self, node: str) -> bool:
        """``node`` is reached through at least one flow."""
        i = self.names.pos.get(node)
        return i is not None and self.hop[i] > 0

    def witness(self, node: str) -> tuple[list[str], list[str]]:
        """One shortest route to ``node``: (element ids from a source, flow ids). The lists
        are shared between callers: do not change them."""
        got = self._witnesses.get(node)
        if got is None:
            got = self._witnesses[node] = self._trace(node)
        return got

    def _trace(self, node: str) -> tuple[list[str], list[str]]:
        assert self.content is not None
        names, succ, edge, back, seed = (
            self.names,
            self.content.succ,
            self.edge,
            self.back,
            self.seed,
        )
        ids, fids = names.ids, names.fids
        st = self.first[names.pos[node]]
        nodes, flows = [node], []
        while (prev := back[st]) >= 0:
            u = prev // STATES
            nodes.append(ids[u])
            along = succ[prev][st]["flows"]
            flows.append(fids[along[0] if edge is None else _first_allowed(along, edge)])
            if seed[u] and prev == u * STATES + FULL:
                break
            st = prev
        nodes.reverse()
        flows.reverse()
        return nodes, flows


class _Walk(NamedTuple):
    """What one traversal found, by state: its depth (the starts are 1, 0: not reached), the
    state it was first reached from (-1: none, or a start), and the order it was reached in;
    by element, the fewest flows from a start (0: not reached) and the state it was first
    reached in (-1: none)."""

    depth: list[int]
    back: list[int]
    order: list[int]
    hop: list[int]
    first: list[int]


def _traverse(
    cg: ContentGraph, starts: list[int], neighbours: Callable[[int], Iterable[int]], max_hops: int
) -> _Walk:
    """One networkx breadth-first traversal from the ``starts``, at most ``max_hops`` flows
    beyond them. ``neighbours`` gives the states a search may go to from a state; it is
    asked for the root's too, and must answer the ``starts``."""
    root = cg.root
    n = root // STATES
    depth, back, order = [0] * (root + 1), [-1] * (root + 1), [0] * (root + 1)
    hop, first = [0] * n, [-1] * n
    bfs = nx.generic_bfs_edges(cg.graph, root, neighbours, max_hops + 1)
    for i, (p, x) in enumerate(bfs, 1):
        d = depth[x] = depth[p] + 1
        order[x] = i
        if d > 1:
            back[x] = p
            u = x // STATES
            if not hop[u]:
                hop[u] = d - 1
                first[u] = x
    return _Walk(depth, back, order, hop, first)


def _forward_steps(
    cg: ContentGraph,
    starts: list[int],
    seed: bytes | bytearray,
    ok: bytes | bytearray,
    limit: bytes | bytearray | None,
) -> Callable[[int], list[int] | Neighbours | tuple[()]]:
    """The states a forward search may go to from a state: the ``starts`` from the root;
    none from a source reached again in another mode (it is not searched again) or from an
    element the search may not pass through (not ``ok``); else the state's neighbours along
    the flows it may follow (``limit``: None for all)."""
    succ, root = cg.succ, cg.root

    def neighbours(x: int) -> list[int] | Neighbours | tuple[()]:
        if x == root:
            return starts
        u, mode = divmod(x, STATES)
        if seed[u]:
            if mode != FULL:
                return ()
        elif not ok[u]:
            return ()
        return succ[x] if limit is None else _allowed(succ[x], limit)

    return neighbours


def content_search(
    names: Names,
    cg: ContentGraph,
    seed: bytes | bytearray,
    ok: bytes | bytearray,
    edge: bytes | bytearray,
    max_hops: int,
) -> Reach:
    """Where content from the ``seed`` elements goes: a breadth-first traversal of the
    content-state graph from the seeds' ``FULL`` states.

    ``ok``: the elements the search may pass through (sources always pass their content
    on); ``edge``: the flows it may follow; ``max_hops``: the longest route, in flows. Each
    state is visited once, so a search is linear in the graph's size; among routes of one
    length, the witness is the one whose flows were drawn first.
    """
    limit = _limit(edge)
    starts = [s * STATES + FULL for s in compress(range(len(names.ids)), seed)]
    neighbours = _forward_steps(cg, starts, seed, ok, limit)
    walk = _traverse(cg, starts, neighbours, max_hops)
    pred = cg.pred
    for start in starts:
        if pred[start]:  # only a source something leads back to can be reached again
            _source_reached(cg, start, neighbours, max_hops, walk)
    return Reach(names, walk.hop, walk.first, walk.back, bytes(seed), cg, limit)


def nearest(
    names: Names,
    cg: ContentGraph,
    source: int,
    goal: frozenset[int],
    ok: bytes | bytearray,
    edge: bytes | bytearray,
    max_hops: int,
) -> list[str] | None:
    """A shortest route along which ``source``'s content reaches an element of ``goal``
    other than itself (element ids, the source first), or None.

    The search from ``source`` alone that :func:`content_search` runs, stopped once the
    level of the first goal reached is complete: of the goals that content reaches in the
    fewest flows, the one numbered first, by the route the full search would give.
    """
    root = cg.root
    seed = bytearray(len(names.ids))
    seed[source] = 1
    neighbours = _forward_steps(cg, [source * STATES + FULL], seed, ok, _limit(edge))
    depth = {root: 0}
    back: dict[int, int] = {}
    met: set[int] = set()  # elements reached (the first state of each is its route's end)
    best: tuple[int, int, int] | None = None  # (element, state, depth) of the goal chosen
    for p, x in nx.generic_bfs_edges(cg.graph, root, neighbours, max_hops + 1):
        d = depth[x] = depth[p] + 1
        if best is not None and d > best[2]:
            break  # every goal at the nearest level has been met
        back[x] = p
        u = x // STATES
        if u in met:
            continue
        met.add(u)
        if u in goal and u != source and (best is None or u < best[0]):
            best = (u, x, d)
    if best is None:
        return None
    ids = [names.ids[best[0]]]
    x = best[1]
    while (x := back[x]) != root:
        ids.append(names.ids[x // STATES])
    ids.reverse()
    return ids


def _source_reached(
    cg: ContentGraph,
    start: int,
    neighbours: Callable[[int], Iterable[int]],
    max_hops: int,
    walk: _Walk,
) -> None:
    """A source reached from another source, or back from itself, counts as reached.

    A traversal visits each state once, so the source's own ``FULL`` state (``start``),
    where it began, is never reached again: the edges into it from states the search
    expanded are looked at here. Of the first of those and the source's first reach in
    another mode, the one the search met first wins: from the state whose turn came first,
    then to that state's first neighbour.
    """
    depth, back, order, hop, first = walk
    s = start // STATES
    expanded = [p for p in cg.pred[start] if 0 < depth[p] <= max_hops and start in neighbours(p)]
    if not expanded:
        return
    best = min(expanded, key=order.__getitem__)
    if hop[s]:
        other = back[first[s]]  # where the search reached the source in another mode
        if order[other] < order[best]:
            return
        if other == best and next(y for y in neighbours(best) if y in (start, first[s])) != start:
            return
    hop[s] = depth[best]
    first[s] = start
    back[start] = best


def content_sources(
    names: Names,
    cg: ContentGraph,
    goal: bytes | bytearray,
    ok: bytes | bytearray,
    edge: bytes | bytearray,
    max_hops: int,
) -> Reach:
    """The elements whose content can reach a ``goal`` element: :func:`content_search` run
    backwards, a breadth-first traversal against the content-state graph's edges from every
    state of the goals. Only :meth:`Reach.reached_set` of the result is meaningful.

    A state found is a possible source (a source passes on everything, and its ``FULL``
    state has every edge its other states have); it is searched further, as a relay, when
    its element is ``ok`` and not a goal.
    """
    n = len(names.ids)
    pred, succ, root = cg.pred, cg.succ, cg.root
    limit = _limit(edge)
    # Every state of a goal that the graph has (a traversal may meet only the graph's nodes).
    starts = [
        x
        for g in compress(range(n), goal)
        for x in (g * STATES + SERVING, g * STATES + FULL, g * STATES + QUERIED)
        if x in cg.graph
    ]

    def neighbours(x: int) -> Iterable[int]:
        if x == root:
            return starts
        u = x // STATES
        if not goal[u] and not ok[u]:
            return ()
        if limit is None:
            return pred[x]
        return [y for y, d in pred[x].items() if _first_allowed(d["flows"], limit) >= 0]

    depth, _, _, hop, _ = _traverse(cg, starts, neighbours, max_hops)
    # A goal's own states are where the traversal began: a goal is a source when one of
    # its states has an edge to a state the search expanded.
    for x in starts:
        g = x // STATES
        for y, d in succ[x].items():
            if (
                0 < depth[y] <= max_hops
                and (goal[y // STATES] or ok[y // STATES])
                and (limit is None or _first_allowed(d["flows"], limit) >= 0)
                and (not hop[g] or depth[y] < hop[g])
            ):
                hop[g] = depth[y]
    return Reach(names, hop, seed=bytes(goal))


def sources_reaching(
    cg: ContentGraph,
    sources: frozenset[int],
    channel: list[bool],
    only: frozenset[int] | None,
) -> dict[int, frozenset[int]]:
    """Per element reached, up to two of the ``sources`` whose content reaches it through
    ``channel`` elements (moving as :func:`content_search` moves it), following only the
    flows in ``only`` when given.

    Breadth-first over the content-state graph, carrying sets of sources instead of one
    flag: a state is searched again only when it learns a new source, at most twice, so the
    cost stays linear in the graph's size. (A networkx traversal visits each node once,
    which is why this one walks the graph's adjacency itself.)
    """
    succ = cg.succ
    known: dict[int, frozenset[int]] = {}
    frontier: list[int] = []
    for a in sorted(sources):
        known[a * STATES + FULL] = frozenset([a])
        frontier.append(a * STATES + FULL)
    reached: dict[int, frozenset[int]] = {}
    while frontier:
        nxt: list[int] = []
        for x in frontier:
            carried = known[x]
            for y, d in succ[x].items():
                if only is not None and only.isdisjoint(d["flows"]):
                    continue
                v, mode = divmod(y, STATES)
                got = reached.get(v, frozenset())
                if len(got) < 2:
                    reached[v] = frozenset(sorted(got | carried)[:2])
                if mode == QUERIED or not channel[v]:
                    continue
                had = known.get(y, frozenset())
                if len(had) >= 2 or carried <= had:
                    continue
                known[y] = frozenset(sorted(had | carried)[:2])
                nxt.append(y)
        frontier = nxt
    return reached
