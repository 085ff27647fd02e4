"""Compile rule predicates into plain closures over a Graph, once per library load.

Reachability predicates share one multi-source BFS per (predicate, graph): rule cost stays
linear in elements plus flows, and paths are never enumerated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from threatgraph.engine.rules import (
    AttrOp,
    DataPred,
    ElementPred,
    FlowPred,
    PathPred,
    VendorPred,
)
from threatgraph.graph import Graph
from threatgraph.model.schema import (
    SENSITIVE,
    Classification,
    Element,
    Kind,
    Trust,
    VendorProfile,
)
from threatgraph.model.validate import DERIVED_NOTE


@dataclass
class Reach:
    """Result of one BFS: which elements are reached through one or more flows, and how.

    A source is itself reached when another source (or a route back to itself) leads to
    it, so "an agent reachable from an agent" works.
    """

    parent: dict[str, tuple[str, str]]  # reached node -> (previous node, flow id)
    hops: dict[str, int]  # reached node -> fewest flows from some source (>= 1)
    seeds: frozenset[str] = frozenset()

    def witness(self, node: str) -> tuple[list[str], list[str]]:
        """One shortest path to ``node``: (element ids from a source, flow ids)."""
        nodes, flows = [node], []
        cur = self.parent.get(node)
        while cur is not None:
            prev, fid = cur
            nodes.append(prev)
            flows.append(fid)
            if prev in self.seeds:
                break
            cur = self.parent.get(prev)
        nodes.reverse()
        flows.reverse()
        return nodes, flows


@dataclass
class Ctx:
    """Evaluation context: the graph and per-graph caches."""

    graph: Graph
    as_of: date = field(default_factory=date.today)
    reach_cache: dict[tuple[str, bool, str], Reach] = field(default_factory=dict)
    memo: dict[str, dict[str, bool]] = field(default_factory=dict)
    data_cache: dict[str, frozenset[Classification]] = field(default_factory=dict)
    control_cache: dict[str, frozenset[str]] = field(default_factory=dict)
    _received: dict[str, frozenset[Classification]] | None = None
    _parents: dict[str, list[str]] | None = None

    def handles(self, eid: str) -> frozenset[Classification]:
        got = self.data_cache.get(eid)
        if got is None:
            got = frozenset(self.graph.element_data(eid))
            self.data_cache[eid] = got
        return got

    def controls(self, eid: str) -> frozenset[str]:
        """The element's controls as of the run date (vendor facts re-checked)."""
        got = self.control_cache.get(eid)
        if got is None:
            got = effective_controls(self.graph.elements[eid], self.as_of)
            self.control_cache[eid] = got
        return got

    def received(self, vendor_id: str) -> frozenset[Classification]:
        """Classifications that reach a vendor (see :func:`vendor_received_data`)."""
        if self._received is None:
            self._received = vendor_received_data(self.graph, self.handles)
        return self._received.get(vendor_id, frozenset())

    def subprocessor_parents(self, vendor_id: str) -> list[str]:
        """Vendors that list this vendor as a sub-processor."""
        if self._parents is None:
            parents: dict[str, list[str]] = {}
            for vid in self.graph.by_kind.get(Kind.VENDOR, []):
                for sub in _profile(self, vid).subprocessors:
                    parents.setdefault(sub, []).append(vid)
            self._parents = parents
        return self._parents.get(vendor_id, [])


EPred = Callable[[Ctx, str], bool]
FPred = Callable[[Ctx, str], bool]


def _true(ctx: Ctx, x: str) -> bool:
    return True


def _data_test(p: DataPred) -> Callable[[frozenset[Classification] | set[Classification]], bool]:
    wanted = frozenset(p.classification) if p.classification else None

    def test(classes: frozenset[Classification] | set[Classification]) -> bool:
        if wanted is not None and not (classes & wanted):
            return False
        return p.sensitive is None or bool(classes & SENSITIVE) == p.sensitive

    return test


def _attr_test(name: str, op: AttrOp) -> Callable[[Any], bool]:
    def norm(v: Any) -> Any:
        return v.value if hasattr(v, "value") else v

    if op.exists is not None:
        want = op.exists
        return lambda v: (v not in (None, [], "")) == want
    if op.in_ is not None:
        allowed = list(op.in_)
        return lambda v: norm(v) in allowed
    if op.contains is not None:
        item = op.contains
        return lambda v: isinstance(v, list) and item in v
    if op.contains_any is not None:
        items = set(op.contains_any)
        return lambda v: isinstance(v, list) and bool(items & set(v))
    if op.ne is not None:
        other = op.ne
        return lambda v: norm(v) != other
    value = op.eq
    return lambda v: norm(v) == value


def _all_of(tests: list[EPred]) -> EPred:
    # Plain loops: this is the innermost call of matching, and all()/any() over a
    # generator cost a third more per element.
    def pred(c: Ctx, x: str) -> bool:
        for t in tests:  # noqa: SIM110 - a loop is faster than all() over a generator
            if not t(c, x):
                return False
        return True

    return pred


def _any_of(tests: list[EPred]) -> EPred:
    def pred(c: Ctx, x: str) -> bool:
        for t in tests:  # noqa: SIM110 - a loop is faster than any() over a generator
            if t(c, x):
                return True
        return False

    return pred


def _combine(
    tests: list[EPred],
    all_: list[Any] | None,
    any_: list[Any] | None,
    not_: Any,
    compile_one: Callable[[Any], EPred],
) -> EPred:
    """Add a predicate's all/any/not composites to its tests and join them (one shape for
    element and flow predicates)."""
    if all_:
        tests.append(_all_of([compile_one(x) for x in all_]))
    if any_:
        tests.append(_any_of([compile_one(x) for x in any_]))
    if not_ is not None:
        neg = compile_one(not_)
        tests.append(lambda c, x: not neg(c, x))
    if not tests:
        return _true
    if len(tests) == 1:
        return tests[0]
    return _all_of(tests)


def _attr_pred(name: str, test: Callable[[Any], bool]) -> EPred:
    def pred(c: Ctx, e: str) -> bool:
        return test(getattr(c.graph.elements[e], name))

    return pred


def _held_pred(fieldname: str, test: Callable[[set[Classification]], bool]) -> EPred:
    def pred(c: Ctx, e: str) -> bool:
        ids = getattr(c.graph.elements[e], fieldname)
        return test({c.graph.data[d].classification for d in ids})

    return pred


def _adjacent_pred(fp: FPred, index: str, negate: bool) -> EPred:
    def pred(c: Ctx, e: str) -> bool:
        return negate != any(fp(c, f) for f in getattr(c.graph, index)[e])

    return pred


_EMPTY_PROFILE = VendorProfile()


def _profile(c: Ctx, e: str) -> VendorProfile:
    return c.graph.elements[e].vendor or _EMPTY_PROFILE


#: Certifications that count as an independent security attestation of a vendor.
SECURITY_ATTESTATIONS = frozenset(
    {"soc2_type2", "iso27001", "hitrust", "fedramp", "hipaa_attestation"}
)

#: HIPAA's outer limit for a business associate to notify a covered entity of a breach
#: (45 CFR 164.410(b)): a breach-notification term longer than this does not count.
BREACH_NOTIFICATION_LIMIT_DAYS = 60


def baa_in_force(profile: VendorProfile, day: date) -> bool:
    """The profile records a BAA that is signed (or undated) and not expired on ``day``."""
    agreement = profile.baa
    if agreement is None:
        return False
    if agreement.signed is not None and agreement.signed > day:
        return False
    return agreement.expires is None or agreement.expires >= day


def baa_covers(vendor: Element, hosted_id: str, day: date | None = None) -> bool:
    """Whether the vendor's BAA covers a hosted element (on ``day``, when given).

    A BAA with no service list, or with '*', covers everything the vendor hosts; a bare
    ``vendor.baa`` control (no profile BAA) is taken to cover everything too. With a day,
    an agreement not yet signed or already expired covers nothing.
    """
    agreement = vendor.vendor.baa if vendor.vendor is not None else None
    if agreement is None:
        return "vendor.baa" in vendor.control_ids()
    if day is not None and vendor.vendor is not None and not baa_in_force(vendor.vendor, day):
        return False
    services = agreement.services
    return not services or "*" in services or hosted_id in services


def effective_controls(el: Element, day: date) -> frozenset[str]:
    """An element's controls as of ``day``: for vendors, recorded facts decide.

    Where the vendor profile records the fact behind a control, the fact wins over a
    declaration: ``vendor.baa`` holds while the BAA is in force, ``vendor.security_certification``
    while some security attestation is current, ``vendor.ongoing_monitoring`` while the last
    assessment is within the review interval, and ``vendor.contract_breach_notification``
    when the notification window is recorded and within 60 days. Where no fact is recorded,
    a declared control counts (a clause alone does not state a window, so the control
    derived from the ``breach_notification`` clause needs ``breach_notification_days``).
    """
    ids = set(el.control_ids())
    prof = el.vendor
    if prof is None:
        return frozenset(ids)

    def decide(cid: str, holds: bool | None) -> None:
        if holds is True:
            ids.add(cid)
        elif holds is False:
            ids.discard(cid)

    decide("vendor.baa", None if prof.baa is None else baa_in_force(prof, day))
    attestations = [c for c in prof.certifications if c.name in SECURITY_ATTESTATIONS]
    decide(
        "vendor.security_certification",
        None
        if not attestations
        else any(c.expires is None or c.expires >= day for c in attestations),
    )
    decide(
        "vendor.ongoing_monitoring",
        None if prof.last_assessment is None else not assessment_overdue(prof, day),
    )
    days = prof.breach_notification_days
    if days is not None:
        decide("vendor.contract_breach_notification", days <= BREACH_NOTIFICATION_LIMIT_DAYS)
    elif any(
        c.id == "vendor.contract_breach_notification" and c.note == DERIVED_NOTE
        for c in el.controls
    ):
        ids.discard("vendor.contract_breach_notification")
    return frozenset(ids)


def vendor_received_data(
    graph: Graph, handles: Callable[[str], frozenset[Classification]]
) -> dict[str, frozenset[Classification]]:
    """For each vendor, the classifications that reach it.

    A vendor receives what it handles itself (flows to or from it, data it stores), what
    every element it hosts handles, and, as a sub-processor, everything its parent vendors
    receive (transitively: a sub-processor may touch whatever its principal processes).
    """
    vendors = graph.by_kind.get(Kind.VENDOR, [])
    got: dict[str, set[Classification]] = {}
    for v in vendors:
        classes = set(handles(v))
        for h in graph.hosted_by.get(v, ()):
            classes |= handles(h)
        got[v] = classes
    # Push data down sub-processor chains until nothing changes (cycles are harmless).
    queue = deque(sorted(vendors))
    while queue:
        v = queue.popleft()
        prof = graph.elements[v].vendor
        for sub in prof.subprocessors if prof is not None else ():
            if sub in got and not got[v] <= got[sub]:
                got[sub] |= got[v]
                queue.append(sub)
    return {v: frozenset(c) for v, c in got.items()}


def cert_valid(vendor: Element, name: str, day: date) -> bool:
    """The vendor holds this certification and it has not expired on ``day``."""
    prof = vendor.vendor or _EMPTY_PROFILE
    return any(
        x.name == name and (x.expires is None or x.expires >= day) for x in prof.certifications
    )


def assessment_overdue(profile: VendorProfile, day: date) -> bool:
    """No security assessment on record, or the last is older than the review interval."""
    if profile.last_assessment is None:
        return True
    return (day - profile.last_assessment).days > profile.review_interval_days


def baa_covered(c: Ctx, eid: str) -> bool:
    """A BAA in force on the run date covers this element.

    True for a vendor whose BAA is in force, for an element hosted by a vendor whose BAA
    lists it (or every service), and for any element that declares ``vendor.baa`` itself
    (an agreement recorded on the service rather than on the vendor).
    """
    if "vendor.baa" in c.controls(eid):
        return True
    provider = c.graph.elements[eid].provider
    return provider is not None and baa_covers(c.graph.elements[provider], eid, c.as_of)


class Compiler:
    """Turns predicate models into closures; resolves named predicates (``use``)."""

    def __init__(self, named: Mapping[str, ElementPred] | None = None) -> None:
        self.named = dict(named or {})
        self._named_compiled: dict[str, EPred] = {}
        self._resolving: set[str] = set()

    # -- elements -------------------------------------------------------------------------
    def element(self, p: ElementPred | None) -> EPred:
        """Compile an element predicate."""
        if p is None:
            return _true
        tests: list[EPred] = []
        if p.kind:
            kinds = frozenset(p.kind)
            tests.append(lambda c, e: c.graph.elements[e].kind in kinds)
        if p.not_kind:
            nk = frozenset(p.not_kind)
            tests.append(lambda c, e: c.graph.elements[e].kind not in nk)
        if p.use:
            tests.append(self._named(p.use))
        if p.attr:
            for name, op in p.attr.items():
                tests.append(_attr_pred(name, _attr_test(name, op)))
        if p.trust:
            lo = p.trust.at_least.rank if p.trust.at_least else -1
            hi = p.trust.at_most.rank if p.trust.at_most else 99
            allowed: frozenset[Trust] | None = frozenset(p.trust.in_) if p.trust.in_ else None
            tests.append(
                lambda c, e: (
                    lo <= c.graph.trust[e].rank <= hi
                    and (allowed is None or c.graph.trust[e] in allowed)
                )
            )
        if p.has_control:
            need = frozenset(p.has_control)
            tests.append(lambda c, e: need <= c.controls(e))
        if p.lacks_control:
            bad = frozenset(p.lacks_control)
            tests.append(lambda c, e: not (bad & c.controls(e)))
        for fieldname in ("stores", "processes", "trained_on"):
            dp = getattr(p, fieldname)
            if dp is not None:
                tests.append(_held_pred(fieldname, _data_test(dp)))
        if p.handles is not None:
            ht = _data_test(p.handles)
            tests.append(lambda c, e: ht(c.handles(e)))
        if p.hosted is not None:
            want = p.hosted
            tests.append(lambda c, e: (c.graph.elements[e].provider is not None) == want)
        if p.provider is not None:
            pp = self.element(p.provider)
            tests.append(
                lambda c, e: (pv := c.graph.elements[e].provider) is not None and pp(c, pv)
            )
        if p.vendor is not None:
            tests.append(self.vendor(p.vendor))
        if p.baa_covered is not None:
            want_cov = p.baa_covered
            tests.append(lambda c, e: baa_covered(c, e) == want_cov)
        if p.hosts is not None:
            hp = self.element(p.hosts)
            tests.append(lambda c, e: any(hp(c, h) for h in c.graph.hosted_by.get(e, ())))
        for name, negate in (
            ("flow_in", False),
            ("flow_out", False),
            ("no_flow_in", True),
            ("no_flow_out", True),
        ):
            fp_model = getattr(p, name)
            if fp_model is None:
                continue
            index = "flows_in" if name.endswith("in") else "flows_out"
            tests.append(_adjacent_pred(self.flow(fp_model), index, negate))
        if p.reachable_from is not None:
            reach = self.reach(p.reachable_from, reverse=False)
            tests.append(lambda c, e: reach(c).hops.get(e, 0) > 0)
        if p.reaches is not None:
            back = self.reach(p.reaches, reverse=True)
            tests.append(lambda c, e: back(c).hops.get(e, 0) > 0)
        return _combine(tests, p.all, p.any, p.not_, self.element)

    def _named(self, name: str) -> EPred:
        if name in self._named_compiled:
            return self._named_compiled[name]
        if name not in self.named:
            raise ValueError(
                f"unknown named predicate {name!r}; known: "
                f"{', '.join(sorted(self.named)) or 'none'}"
            )
        if name in self._resolving:
            raise ValueError(f"named predicate {name!r} uses itself")
        self._resolving.add(name)
        try:
            inner = self.element(self.named[name])
        finally:
            self._resolving.discard(name)

        def compiled(c: Ctx, e: str) -> bool:
            # Named predicates recur across many rules: evaluate each once per element.
            cache = c.memo.get(name)
            if cache is None:
                cache = c.memo[name] = {}
            got = cache.get(e)
            if got is None:
                got = cache[e] = inner(c, e)
            return got

        self._named_compiled[name] = compiled
        return compiled

    # -- vendors --------------------------------------------------------------------------
    def vendor(self, p: VendorPred) -> EPred:
        """Compile a vendor-facts predicate (date-dependent parts use the run's as_of)."""
        tests: list[EPred] = []
        if p.baa is not None:
            want = p.baa
            tests.append(lambda c, e: ("vendor.baa" in c.controls(e)) == want)
        if p.uncovered is not None:
            pred = self.element(p.uncovered)

            def uncovered(c: Ctx, e: str) -> bool:
                return any(
                    pred(c, h) and not baa_covers(c.graph.elements[e], h, c.as_of)
                    for h in c.graph.hosted_by.get(e, ())
                )

            tests.append(uncovered)
        if p.receives is not None:
            rt = _data_test(p.receives)
            tests.append(lambda c, e: rt(c.received(e)))
        if p.subprocessor_of is not None:
            parent = self.element(p.subprocessor_of)
            tests.append(lambda c, e: any(parent(c, v) for v in c.subprocessor_parents(e)))
        if p.lacks_certification is not None:
            names = list(p.lacks_certification)
            tests.append(
                lambda c, e: any(not cert_valid(c.graph.elements[e], n, c.as_of) for n in names)
            )
        if p.expired_certification is not None:
            want_exp = p.expired_certification
            tests.append(
                lambda c, e: (
                    any(
                        x.expires is not None and x.expires < c.as_of
                        for x in _profile(c, e).certifications
                    )
                    == want_exp
                )
            )
        if p.assessment_overdue is not None:
            want_od = p.assessment_overdue
            tests.append(lambda c, e: assessment_overdue(_profile(c, e), c.as_of) == want_od)
        if p.lacks_clause is not None:
            clauses = list(p.lacks_clause)
            tests.append(lambda c, e: any(x not in _profile(c, e).clauses for x in clauses))
        if p.may_train_on_customer_data is not None:
            want_tr = p.may_train_on_customer_data
            tests.append(
                lambda c, e: (
                    (
                        _profile(c, e).trains_on_customer_data is not False
                        and "no_training_on_customer_data" not in _profile(c, e).clauses
                    )
                    == want_tr
                )
            )
        if p.has_subprocessors is not None:
            want_sp = p.has_subprocessors
            tests.append(lambda c, e: bool(_profile(c, e).subprocessors) == want_sp)
        if p.subprocessor is not None:
            sub = self.element(p.subprocessor)
            tests.append(lambda c, e: any(sub(c, s) for s in _profile(c, e).subprocessors))
        if p.breach_notification_over is not None:
            days = p.breach_notification_over
            tests.append(
                lambda c, e: (n := _profile(c, e).breach_notification_days) is None or n > days
            )

        def is_vendor(c: Ctx, e: str) -> bool:
            return c.graph.elements[e].kind is Kind.VENDOR

        return lambda c, e: is_vendor(c, e) and all(t(c, e) for t in tests)

    # -- flows ----------------------------------------------------------------------------
    def flow(self, p: FlowPred | None) -> FPred:
        """Compile a flow predicate (evaluated on flow ids)."""
        if p is None:
            return _true
        tests: list[FPred] = []
        if p.source is not None:
            sp = self.element(p.source)
            tests.append(lambda c, f: sp(c, c.graph.flows[f].flow.source))
        if p.target is not None:
            tp = self.element(p.target)
            tests.append(lambda c, f: tp(c, c.graph.flows[f].flow.target))
        if p.data is not None:
            dt = _data_test(p.data)
            tests.append(lambda c, f: dt(c.graph.flows[f].classes))
        if p.encrypted is not None:
            enc = p.encrypted
            tests.append(lambda c, f: c.graph.flows[f].flow.is_encrypted == enc)
        if p.authenticated is not None:
            auth = p.authenticated
            tests.append(lambda c, f: c.graph.flows[f].flow.is_authenticated == auth)
        if p.crosses_boundary is not None:
            cb = p.crosses_boundary
            tests.append(lambda c, f: c.graph.flows[f].crosses_boundary == cb)
        if p.trust_change is not None:
            sign = {"increase": 1, "decrease": -1, "none": 0}[p.trust_change]
            tests.append(
                lambda c, f: (
                    (c.graph.flows[f].trust_delta > 0) - (c.graph.flows[f].trust_delta < 0) == sign
                )
            )
        if p.protocol:
            protos = frozenset(x.lower() for x in p.protocol)
            tests.append(lambda c, f: (c.graph.flows[f].flow.protocol or "").lower() in protos)
        if p.operation:
            ops = frozenset(p.operation)
            tests.append(lambda c, f: c.graph.flows[f].flow.operation in ops)
        if p.has_control:
            need = frozenset(p.has_control)
            tests.append(lambda c, f: need <= c.graph.flows[f].flow.control_ids())
        if p.lacks_control:
            bad = frozenset(p.lacks_control)
            tests.append(lambda c, f: not (bad & c.graph.flows[f].flow.control_ids()))
        return _combine(tests, p.all, p.any, p.not_, self.flow)

    def _memo_flow(self, p: FlowPred) -> FPred:
        """A flow predicate whose answers are kept per graph: the same ``via`` (say, "not a
        weights flow") is asked for every flow by many searches."""
        inner = self.flow(p)
        name = "\0via:" + p.model_dump_json(by_alias=True, exclude_none=True)

        def pred(c: Ctx, f: str) -> bool:
            cache = c.memo.get(name)
            if cache is None:
                cache = c.memo[name] = {}
            got = cache.get(f)
            if got is None:
                got = cache[f] = inner(c, f)
            return got

        return pred

    # -- paths ----------------------------------------------------------------------------
    def reach(
        self,
        p: PathPred,
        reverse: bool = False,
        extra_block: Callable[[Ctx, str], bool] | None = None,
        extra_edge_block: Callable[[Ctx, str], bool] | None = None,
        walls: str = "",
    ) -> Callable[[Ctx], Reach]:
        """Compile a reachability query; the BFS runs once per graph and is cached.

        Forward: from elements matching ``from`` along flows. Reverse (``reaches``): the
        set of elements that can reach one matching ``from`` (so ``from`` is the goal).
        ``extra_block``/``extra_edge_block`` add walls (elements and flows that stop the
        walk); ``walls`` names them for the cache key.
        """
        src = self.element(p.from_)
        via = self._memo_flow(p.via) if p.via is not None else None
        through = self.element(p.through) if p.through is not None else None
        blocked = self.element(p.blocked_by) if p.blocked_by is not None else None
        max_hops = p.max_hops if p.max_hops is not None else 1 << 30
        # Identical queries (same predicate text, direction and walls) share one BFS per
        # graph, whichever rule asks: most path rules start from the same few source sets.
        key = (p.model_dump_json(by_alias=True, exclude_none=True), reverse, walls)

        def passable(c: Ctx, u: str) -> bool:
            if blocked is not None and blocked(c, u):
                return False
            if extra_block is not None and extra_block(c, u):
                return False
            return through is None or through(c, u)

        def run(c: Ctx) -> Reach:
            hit = c.reach_cache.get(key)
            if hit is not None:
                return hit
            g = c.graph
            adjacency = g.pred if reverse else g.succ
            parent: dict[str, tuple[str, str]] = {}
            hops: dict[str, int] = {}
            frontier = [
                e
                for e in g.elements
                if src(c, e) and not (extra_block is not None and extra_block(c, e))
            ]
            seeds = frozenset(frontier)
            visited = set(frontier)
            depth = 0
            while frontier and depth < max_hops:
                depth += 1
                nxt: list[str] = []
                for u in frontier:
                    if u not in seeds and not passable(c, u):  # sources always expand
                        continue
                    for fid, v in adjacency[u]:
                        if v in hops:
                            continue
                        if via is not None and not via(c, fid):
                            continue
                        if extra_edge_block is not None and extra_edge_block(c, fid):
                            continue
                        parent[v] = (u, fid)
                        hops[v] = depth
                        if v not in visited:  # a source reached here already expands
                            visited.add(v)
                            nxt.append(v)
                frontier = nxt
            result = Reach(parent=parent, hops=hops, seeds=seeds)
            c.reach_cache[key] = result
            return result

        return run


def kinds_of(
    p: ElementPred | None, named: Mapping[str, ElementPred] | None = None
) -> frozenset[Kind] | None:
    """The element kinds a predicate can match (None: any kind), for candidate indexing.

    Conjunctions intersect, ``any`` unites, ``not_kind`` removes; named predicates are
    followed when ``named`` is given. Conservative: when unsure, it allows more kinds.
    """
    if p is None:
        return None
    allowed = set(Kind)
    if p.kind:
        allowed &= set(p.kind)
    if p.not_kind:
        allowed -= set(p.not_kind)
    if p.vendor is not None or p.hosts is not None:
        allowed &= {Kind.VENDOR}
    if p.use and named is not None and p.use in named:
        sub = kinds_of(named[p.use], {k: v for k, v in named.items() if k != p.use})
        if sub is not None:
            allowed &= sub
    for part in p.all or ():
        sub = kinds_of(part, named)
        if sub is not None:
            allowed &= sub
    if p.any:
        parts = [kinds_of(x, named) for x in p.any]
        if all(x is not None for x in parts):
            allowed &= set().union(*[x for x in parts if x is not None])
    return None if allowed == set(Kind) else frozenset(allowed)
    if p.kind:
        return frozenset(p.kind)
    if p.all:
        for sub in p.all:
            k = kinds_of(sub)
            if k is not None:
                return k
    if p.any:
        parts = [kinds_of(s) for s in p.any]
        if all(x is not None for x in parts):
            return frozenset().union(*[x for x in parts if x is not None])
    return None
