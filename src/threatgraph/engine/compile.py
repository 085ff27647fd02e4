"""Compile rule predicates into plain closures over a Graph, once per library load.

Reachability predicates share one multi-source BFS per (predicate, graph): rule cost stays
linear in elements plus flows, and paths are never enumerated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, compress
from typing import Any

from threatgraph.engine.rules import (
    ArtifactPred,
    AttrOp,
    DataPred,
    ElementPred,
    FlowPred,
    OversightPred,
    PathPred,
    SoftwarePred,
    VendorPred,
)
from threatgraph.graph import Graph
from threatgraph.model.schema import (
    CODE_BEARING_FORMATS,
    SENSITIVE,
    Classification,
    Kind,
    Software,
    Trust,
    VendorProfile,
)
from threatgraph.model.validate import DERIVED_NOTE
from threatgraph.model.vendors import (
    assessment_overdue,
    baa_covers,
    cert_valid,
    effective_controls,
    expiring,
    verification_overdue,
)
from threatgraph.reach import Reach, content_search, content_sources

#: An empty set of ids, shared (never changed).
_NO_IDS: set[str] = set()


def _mask_of(members: Iterable[int], n: int) -> bytearray:
    """A 0/1 mask of length n with a 1 at each member (numbers)."""
    mask = bytearray(n)
    for i in members:
        mask[i] = 1
    return mask


def _ones(n: int) -> int:
    return int.from_bytes(b"\x01" * n, "little")


def _mask_and(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Element-wise AND of two 0/1 masks of one length (one big-int operation)."""
    n = len(a)
    return bytearray(
        (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(n, "little")
    )


def _mask_andnot(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """``a and not b``, element-wise, for 0/1 masks of one length."""
    n = len(a)
    x = int.from_bytes(a, "little") & (int.from_bytes(b, "little") ^ _ones(n))
    return bytearray(x.to_bytes(n, "little"))


@dataclass
class Ctx:
    """Evaluation context: the graph and per-graph caches."""

    graph: Graph
    as_of: date = field(default_factory=date.today)
    #: Days ahead of the run date in which an expiring BAA or certification is warned about
    #: (``expiry_warning_days`` in the config).
    expiry_window_days: int = 60
    reach_cache: dict[tuple[str, bool, str], Reach] = field(default_factory=dict)
    reach_by_masks: dict[tuple[bytes, bytes, bytes, bool, int], Reach] = field(default_factory=dict)
    data_cache: dict[str, frozenset[Classification]] = field(default_factory=dict)
    control_cache: dict[str, frozenset[str]] = field(default_factory=dict)
    _received: dict[str, frozenset[Classification]] | None = None
    _parents: dict[str, list[str]] | None = None
    #: Compiled predicate sets by predicate text (see :func:`_conjunction`).
    sets: dict[str, frozenset[int]] = field(default_factory=dict)
    #: By predicate text: the data ids its elements generate, and the flows that bring back
    #: the answers of those whose output is not drawn (see ``_generated_test``).
    generated: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    _masks: dict[Any, tuple[Any, bytearray]] = field(default_factory=dict)
    _by_control: dict[str, set[str]] | None = None
    _by_control_nums: dict[str, frozenset[int]] | None = None
    _flows_by_control: dict[str, set[str]] | None = None
    _holders: dict[str, tuple[bytearray, bytearray]] = field(default_factory=dict)

    @property
    def all_elements(self) -> frozenset[int]:
        """Every element, by number (see :class:`threatgraph.graph.IntIndex`)."""
        return self.graph.ix.all_elements

    @property
    def all_flows(self) -> frozenset[int]:
        """Every flow, by number."""
        return self.graph.ix.all_flows

    def _control_index(self) -> dict[str, set[str]]:
        if self._by_control is None:
            index: dict[str, set[str]] = {}
            for e in self.graph.elements:
                for ctl in self.controls(e):
                    index.setdefault(ctl, set()).add(e)
            self._by_control = index
        return self._by_control

    def _control_numbers(self) -> dict[str, frozenset[int]]:
        if self._by_control_nums is None:
            pos = self.graph.ix.pos
            self._by_control_nums = {
                ctl: frozenset(map(pos.__getitem__, es))
                for ctl, es in self._control_index().items()
            }
        return self._by_control_nums

    def with_all_controls(self, controls: tuple[str, ...]) -> frozenset[int]:
        """Elements (numbers) that hold every one of ``controls`` (as of the run date)."""
        index = self._control_numbers()
        parts = [index.get(ctl, frozenset()) for ctl in controls]
        return frozenset.intersection(*parts) if parts else self.all_elements

    def with_any_control(self, controls: tuple[str, ...]) -> frozenset[int]:
        """Elements (numbers) that hold at least one of ``controls`` (as of the run date)."""
        index = self._control_numbers()
        return frozenset().union(*[index.get(ctl, ()) for ctl in controls])

    def _mask(self, key: Any, owner: Any, make: Callable[[], bytearray]) -> bytearray:
        hit = self._masks.get(key)
        if hit is None or hit[0] is not owner:  # the owner check guards against id reuse
            hit = (owner, make())
            self._masks[key] = hit
        return hit[1]

    def element_mask(self, s: Callable[[Ctx], frozenset[int]]) -> bytearray:
        """A predicate set as a 0/1 mask by element number (once per graph)."""
        return self._mask(("E", id(s)), s, lambda: _mask_of(s(self), len(self.graph.ix.ids)))

    def flow_mask(self, s: Callable[[Ctx], frozenset[int]]) -> bytearray:
        """A predicate set as a 0/1 mask by flow number (once per graph)."""
        return self._mask(("F", id(s)), s, lambda: _mask_of(s(self), len(self.graph.ix.fids)))

    def holders(self, control: str) -> tuple[set[str], set[str]]:
        """The elements that hold ``control`` on the run date, and the flows that declare
        it (once per graph; the sets are shared, not to be changed)."""
        if self._flows_by_control is None:
            by_control: dict[str, set[str]] = {}
            for f, facts in self.graph.flows.items():
                for ctl in facts.controls:
                    by_control.setdefault(ctl, set()).add(f)
            self._flows_by_control = by_control
        return (
            self._control_index().get(control, _NO_IDS),
            self._flows_by_control.get(control, _NO_IDS),
        )

    def holder_masks(self, control: str) -> tuple[bytearray, bytearray]:
        """0/1 masks of :meth:`holders`, by element and flow number (once per control)."""
        got = self._holders.get(control)
        if got is None:
            elements, flows = self.holders(control)
            ix = self.graph.ix
            got = self._holders[control] = (
                _mask_of(map(ix.pos.__getitem__, elements), len(ix.ids)),
                _mask_of(map(ix.fpos.__getitem__, flows), len(ix.fids)),
            )
        return got

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
            el = self.graph.elements[eid]
            got = effective_controls(el, self.as_of)
            # A review that leaves contradicting facts in the record is not a current one:
            # the contradiction (TG-VEN-014) stays open until the record is corrected.
            if (
                el.vendor is not None
                and "vendor.ongoing_monitoring" in got
                and contradictions(self, eid)
            ):
                got = got - {"vendor.ongoing_monitoring"}
            # vendor.baa declared on a service stands for a separate agreement only while the
            # vendor's record says nothing about a BAA; against a record that excludes the
            # service it is a contradiction (TG-VEN-014), neither coverage nor a mitigation.
            if el.provider is not None and "vendor.baa" in got:
                vendor = self.graph.elements[el.provider]
                prof = vendor.vendor
                recorded = prof is not None and (prof.baa is not None or "baa" in prof.none)
                if recorded and not baa_covers(vendor, eid, self.as_of):
                    got = got - {"vendor.baa"}
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


def _attr_set(name: str, test: Callable[[Any], bool], indexed: list[str]) -> ESet:
    """Elements whose attribute passes a test, testing each distinct value once.

    ``indexed``: every attribute the library indexes (complete once compiling is done),
    so that the first such set indexes them all in one pass over the elements.
    """

    def run(c: Ctx) -> frozenset[int]:
        index = c.graph.attr_index(name, also=indexed)
        return frozenset().union(*[ids for value, ids in index.values() if test(value)])

    return run


def _attr_filter(name: str, test: Callable[[Any], bool]) -> EPred:
    """The same test as :func:`_attr_set`, per element (for an already narrow set)."""

    def run(c: Ctx, e: str) -> bool:
        return test(getattr(c.graph.elements[e], name))

    return run


_EMPTY_PROFILE = VendorProfile()


def _profile(c: Ctx, e: str) -> VendorProfile:
    return c.graph.elements[e].vendor or _EMPTY_PROFILE


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


def contradictions(c: Ctx, vendor_id: str) -> list[str]:
    """Vendor facts (and declarations) that contradict each other, in words.

    Each is reported, never settled in the vendor's favour: a recorded fact that says no
    wins over a declaration or clause that says yes until someone reconciles them.
    """
    el = c.graph.elements[vendor_id]
    prof = _profile(c, vendor_id)
    out: list[str] = []
    if prof.trains_on_customer_data is True and "no_training_on_customer_data" in prof.clauses:
        out.append("trains on customer data, yet a no-training clause is recorded")
    declared = el.control_ids()
    derived = {x.id for x in el.controls if x.note == DERIVED_NOTE}
    if "baa" in prof.none and "vendor.baa" in declared - derived:
        out.append("vendor.baa is declared, yet the vendor is recorded as signing no BAA")
    if "certifications" in prof.none and "vendor.security_certification" in declared:
        out.append(
            "vendor.security_certification is declared, yet the vendor is recorded as "
            "holding no certification"
        )
    for h in sorted(c.graph.hosted_by.get(vendor_id, ())):
        if "vendor.baa" not in c.graph.elements[h].control_ids():
            continue
        if prof.baa is not None and not baa_covers(el, h, c.as_of):
            out.append(f"vendor.baa is declared on {h}, yet the vendor's BAA does not cover it")
        elif "baa" in prof.none:
            out.append(f"vendor.baa is declared on {h}, yet the vendor signs no BAA")
    return out


def baa_covered(c: Ctx, eid: str) -> bool:
    """A BAA in force on the run date covers this element.

    True for a vendor whose BAA is in force, for an element hosted by a vendor whose BAA
    lists it (or every service), and for an element that declares ``vendor.baa`` itself (an
    agreement recorded on the service) while the vendor's record says nothing about a BAA.
    """
    if "vendor.baa" in c.controls(eid):  # see Ctx.controls: not against the vendor's record
        return True
    provider = c.graph.elements[eid].provider
    return provider is not None and baa_covers(c.graph.elements[provider], eid, c.as_of)


ESet = Callable[["Ctx"], frozenset[int]]
"""A compiled predicate as a set: every element (or flow) it holds for, by number (see
:class:`threatgraph.graph.IntIndex`). Numbers rather than id strings: on a large model the
strings lie all over its memory, and every set operation would read each of them."""


def _key(p: Any) -> str:
    # Identical predicates (same text) compile to one function and are evaluated once per
    # graph, whichever rule or named predicate they appear in.
    return str(p.model_dump_json(by_alias=True, exclude_none=True))


def _element_names(c: Ctx) -> list[str]:
    return c.graph.ix.ids


def _flow_names(c: Ctx) -> list[str]:
    return c.graph.ix.fids


def _shared(key: str, s: ESet) -> ESet:
    """``s``, computed once per graph and kept under ``key`` with the predicate sets."""

    def run(c: Ctx) -> frozenset[int]:
        got = c.sets.get(key)
        if got is None:
            got = c.sets[key] = s(c)
        return got

    return run


def _conjunction(
    key: str,
    sets: list[ESet],
    filters: list[EPred],
    universe: Callable[[Ctx], frozenset[int]],
    names: Callable[[Ctx], list[str]],
    searches: Sequence[ESet] = (),
) -> ESet:
    """The items in every set that pass every filter, computed once per graph.

    Index-backed parts (kinds, controls, adjacency, composites) are set operations in C;
    the per-item filters (which take ids, from ``names``) then run only over what the sets
    left. The ``searches`` (reach clauses: a traversal of the graph each) come last. Each
    part is worked out only while something is left for it to narrow: a rule about MCP
    servers costs nothing more on a model that has none.
    """

    def run(c: Ctx) -> frozenset[int]:
        acc = sets[0](c) if sets else universe(c)
        for s in sets[1:]:
            if not acc:
                break
            acc = acc & s(c)
        if filters and acc:
            name = names(c)
            for test in filters:
                if not acc:
                    break
                acc = frozenset([x for x in acc if test(c, name[x])])
        for search in searches:
            if not acc:
                break
            acc = acc & search(c)
        return acc

    return _shared(key, run)


def _all_elements(c: Ctx) -> frozenset[int]:
    return c.all_elements


def _all_flows(c: Ctx) -> frozenset[int]:
    return c.all_flows


def _member(s: ESet, flows: bool = False) -> EPred:
    def test(c: Ctx, x: str) -> bool:
        return (c.graph.ix.fpos if flows else c.graph.ix.pos).get(x) in s(c)

    return test


class Compiler:
    """Turns predicate models into set functions and membership tests; resolves named
    predicates (``use``).

    Every element or flow predicate compiles to a function from a graph context to the set
    of ids it holds for, evaluated once per graph and shared by every rule that asks the same
    question; :meth:`element` and :meth:`flow` wrap that as a per-item membership test.
    """

    def __init__(self, named: Mapping[str, ElementPred] | None = None) -> None:
        self.named = dict(named or {})
        self._sets: dict[str, ESet] = {}
        #: Compiled sets by predicate object: named predicates are compiled once per use,
        #: and turning the same object into its text again each time is most of compiling.
        self._by_object: dict[int, tuple[Any, ESet, str]] = {}
        self._resolving: set[str] = set()
        #: Element attributes some compiled set indexes (see :func:`_attr_set`).
        self._indexed_attrs: list[str] = []

    # -- elements -------------------------------------------------------------------------
    def element(self, p: ElementPred | None) -> EPred:
        """Compile an element predicate to a per-element test."""
        if p is None:
            return _true
        return _member(self.element_set(p))

    def _memoised(self, tag: str, p: Any, build: Callable[[Any, str], ESet]) -> ESet:
        """``build(p, key)``, once per predicate object and once per predicate text.

        The text (``tag`` + its JSON) is the key sets are cached under per graph, so
        identical predicates in different rules share one computation.
        """
        return self._keyed(tag, p, build)[0]

    def _keyed(self, tag: str, p: Any, build: Callable[[Any, str], ESet]) -> tuple[ESet, str]:
        """:meth:`_memoised`, with the key the set is cached under."""
        same = self._by_object.get(id(p))
        if same is not None and same[0] is p:  # this very predicate object, compiled before
            return same[1], same[2]
        key = tag + _key(p)
        fn = self._sets.get(key)
        if fn is None:
            fn = self._sets[key] = build(p, key)
        self._by_object[id(p)] = (p, fn, key)
        return fn, key

    def element_set(self, p: ElementPred) -> ESet:
        """Compile an element predicate to the set of element ids it holds for."""
        return self._memoised("E", p, self._element_set)

    def _element_set(self, p: ElementPred, key: str) -> ESet:
        sets: list[ESet] = []
        filters: list[EPred] = []
        if p.kind:
            sets.append(_kind_set(frozenset(p.kind)))
        if p.not_kind:
            sets.append(_complement(_kind_set(frozenset(p.not_kind)), _all_elements))
        if p.use:
            sets.append(self._named_set(p.use))
        if p.attr:
            for name, op in p.attr.items():
                test = _attr_test(name, op)
                if p.kind:  # a few kinds: test their elements rather than index them all
                    filters.append(_attr_filter(name, test))
                else:
                    if name not in self._indexed_attrs:
                        self._indexed_attrs.append(name)
                    sets.append(_attr_set(name, test, self._indexed_attrs))
        if p.trust:
            lo = p.trust.at_least.rank if p.trust.at_least else -1
            hi = p.trust.at_most.rank if p.trust.at_most else 99
            levels = tuple(
                t for t in Trust if lo <= t.rank <= hi and (not p.trust.in_ or t in p.trust.in_)
            )
            sets.append(_shared(f"trust in {[t.value for t in levels]}", _trusted(levels)))
        if p.has_control:
            need = tuple(p.has_control)
            sets.append(lambda c: c.with_all_controls(need))
        if p.lacks_control:
            bad = tuple(p.lacks_control)
            sets.append(_complement(lambda c: c.with_any_control(bad), _all_elements))
        for fieldname in ("stores", "processes", "trained_on", "handles"):
            dp = getattr(p, fieldname)
            if dp is not None:
                sets.append(_element_data(dp, fieldname))
        if p.hosted is not None:
            hosted = _hosted_set
            sets.append(hosted if p.hosted else _complement(hosted, _all_elements))
        if p.provider is not None:
            providers = self.element_set(p.provider)
            sets.append(lambda c: _hosted_by(c, providers(c)))
        if p.vendor is not None:
            sets.append(self.vendor_set(p.vendor))
        if p.baa_covered is not None:
            want_cov = p.baa_covered
            filters.append(lambda c, e: baa_covered(c, e) == want_cov)
        if p.hosts is not None:
            hosted_match = self.element_set(p.hosts)
            sets.append(lambda c: _hosting(c, hosted_match(c)))
        for name, negate, end in (
            ("flow_in", False, "target"),
            ("flow_out", False, "source"),
            ("no_flow_in", True, "target"),
            ("no_flow_out", True, "source"),
            ("asks", False, "requester"),
            ("serves", False, "server"),
        ):
            fp_model = getattr(p, name)
            if fp_model is None:
                continue
            flows, fkey = self._keyed("F", fp_model, self._flow_set)
            # Many predicates ask for the ends of the same flows ("has a flow in"): once.
            ends = _shared(f"{end}s of {fkey}", _flow_ends(flows, end))
            sets.append(_complement(ends, _all_elements) if negate else ends)
        # Few elements have an artefact or software entries: the per-element tests run on
        # those alone.
        if p.artifact is not None:
            sets.append(_shared("has artifact", _having("artifact")))
            filters.append(_artifact_filter(p.artifact))
        if p.software is not None:
            sets.append(_shared("has software", _having("software")))
            filters.append(_software_filter(p.software))
        for fact in ELEMENT_FACTS:
            want = getattr(p, fact)
            if want is not None:
                has = _element_fact(fact)
                sets.append(has if want else _complement(has, _all_elements))
        if p.oversight is not None:
            sets.append(self._oversight_set(p.oversight))
        if p.passes_on is not None:
            sets.append(_passes_on(p.passes_on))
        searches: list[ESet] = []
        if p.reachable_from is not None:
            reach = self.reach(p.reachable_from, reverse=False)
            searches.append(lambda c: reach(c).reached_set())
        if p.reaches is not None:
            back = self.reach(p.reaches, reverse=True)
            searches.append(lambda c: back(c).reached_set())
        self._composites(sets, p.all, p.any, p.not_, self.element_set, _all_elements)
        return _conjunction(key, sets, filters, _all_elements, _element_names, searches)

    def _oversight_set(self, p: OversightPred) -> ESet:
        """The elements overseen in a relation with every fact ``p`` gives."""
        by = self.element_set(p.by) if p.by is not None else None
        roles = frozenset(p.roles) if p.roles else None
        wants = [
            (name, want)
            for name in ("shares_model", "shares_memory", "mutual")
            if (want := getattr(p, name)) is not None
        ]

        def run(c: Ctx) -> frozenset[int]:
            overseers = by(c) if by is not None else None
            return frozenset(
                o.overseen
                for o in c.graph.oversight
                if (roles is None or o.role in roles)
                and (overseers is None or o.overseer in overseers)
                and all(getattr(o, name) == want for name, want in wants)
            )

        return run

    def _composites(
        self,
        sets: list[ESet],
        all_: list[Any] | None,
        any_: list[Any] | None,
        not_: Any,
        compile_one: Callable[[Any], ESet],
        universe: Callable[[Ctx], frozenset[int]],
    ) -> None:
        """all/any/not as set operations (one shape for element and flow predicates)."""
        for x in all_ or ():
            sets.append(compile_one(x))
        if any_:
            parts = [compile_one(x) for x in any_]
            sets.append(lambda c: frozenset().union(*[s(c) for s in parts]))
        if not_ is not None:
            sets.append(_complement(compile_one(not_), universe))

    def _named_set(self, name: str) -> ESet:
        if name not in self.named:
            raise ValueError(
                f"unknown named predicate {name!r}; known: "
                f"{', '.join(sorted(self.named)) or 'none'}"
            )
        if name in self._resolving:
            raise ValueError(f"named predicate {name!r} uses itself")
        self._resolving.add(name)
        try:
            return self.element_set(self.named[name])
        finally:
            self._resolving.discard(name)

    # -- vendors --------------------------------------------------------------------------
    def vendor(self, p: VendorPred) -> EPred:
        """Compile a vendor-facts predicate to a per-element test."""
        return _member(self.vendor_set(p))

    def vendor_set(self, p: VendorPred) -> ESet:
        """Compile a vendor-facts predicate (date-dependent parts use the run's as_of) to
        the set of vendor elements it holds for."""
        return self._memoised("V", p, self._vendor_set)

    def _vendor_set(self, p: VendorPred, key: str) -> ESet:
        tests: list[EPred] = []
        if p.baa is not None:
            want = p.baa
            tests.append(lambda c, e: ("vendor.baa" in c.controls(e)) == want)
        if p.uncovered is not None:
            uncovered_set = self.element_set(p.uncovered)

            def uncovered(c: Ctx, e: str) -> bool:
                wanted, pos = uncovered_set(c), c.graph.ix.pos
                return any(
                    pos[h] in wanted and not baa_covers(c.graph.elements[e], h, c.as_of)
                    for h in c.graph.hosted_by.get(e, ())
                )

            tests.append(uncovered)
        if p.receives is not None:
            rt = _data_test(p.receives)
            tests.append(lambda c, e: rt(c.received(e)))
        if p.subprocessor_of is not None:
            parent = self.element_set(p.subprocessor_of)
            tests.append(
                lambda c, e: not parent(c).isdisjoint(_numbers(c, c.subprocessor_parents(e)))
            )
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
            # Recorded training wins over a clause that says otherwise (a contradiction).
            tests.append(
                lambda c, e: (
                    (
                        _profile(c, e).trains_on_customer_data is True
                        or (
                            _profile(c, e).trains_on_customer_data is None
                            and "no_training_on_customer_data" not in _profile(c, e).clauses
                        )
                    )
                    == want_tr
                )
            )
        if p.trains_on_customer_data is not None:
            want_rec = p.trains_on_customer_data
            tests.append(lambda c, e: _profile(c, e).trains_on_customer_data is want_rec)
        if p.contradiction is not None:
            want_con = p.contradiction
            tests.append(lambda c, e: bool(contradictions(c, e)) == want_con)
        if p.expiring is not None:
            want_ex = p.expiring
            tests.append(
                lambda c, e: (
                    bool(expiring(_profile(c, e), c.as_of, c.expiry_window_days)) == want_ex
                )
            )
        if p.verification_overdue is not None:
            want_vo = p.verification_overdue
            tests.append(lambda c, e: verification_overdue(_profile(c, e), c.as_of) == want_vo)
        if p.contingency_notice_over is not None:
            hours_limit = p.contingency_notice_over
            tests.append(
                lambda c, e: (
                    (n := _profile(c, e).contingency_notice_hours) is None or n > hours_limit
                )
            )
        if p.has_subprocessors is not None:
            want_sp = p.has_subprocessors
            tests.append(lambda c, e: bool(_profile(c, e).subprocessors) == want_sp)
        if p.subprocessor is not None:
            sub = self.element_set(p.subprocessor)
            tests.append(
                lambda c, e: not sub(c).isdisjoint(_numbers(c, _profile(c, e).subprocessors))
            )
        if p.breach_notification_over is not None:
            days = p.breach_notification_over
            tests.append(
                lambda c, e: (n := _profile(c, e).breach_notification_days) is None or n > days
            )
        return _conjunction(
            key, [_kind_set(frozenset({Kind.VENDOR}))], tests, _all_elements, _element_names
        )

    # -- flows ----------------------------------------------------------------------------
    def flow(self, p: FlowPred | None) -> FPred:
        """Compile a flow predicate to a per-flow test (on flow ids)."""
        if p is None:
            return _true
        return _member(self.flow_set(p), flows=True)

    def flow_set(self, p: FlowPred) -> ESet:
        """Compile a flow predicate to the set of flow ids it holds for."""
        return self._memoised("F", p, self._flow_set)

    def _flow_set(self, p: FlowPred, key: str) -> ESet:
        sets: list[ESet] = []
        tests: list[FPred] = []
        # Flow predicates often share an end's condition: its flows, once. Ends as drawn
        # (source, target) and derived (requester, server).
        for end, direction in _FLOW_ENDS:
            end_pred = getattr(p, end)
            if end_pred is not None:
                members, ekey = self._keyed("E", end_pred, self._element_set)
                sets.append(_shared(f"flows {direction} {ekey}", _flows_at(members, direction)))
        if p.kept is not None:
            sets.append(_flow_flag("kept", p.kept))
        if p.returns is not None:
            sets.append(_flow_flag("returns", p.returns))
        if p.data is not None:
            sets.append(_flow_data(p.data))
            if p.data.in_context is not None:
                tests.append(_in_context_test(p.data))
            if p.data.generated_by is not None:
                tests.append(
                    _generated_test(
                        self.element_set(p.data.generated_by), _key(p.data.generated_by)
                    )
                )
        if p.encrypted is not None:
            sets.append(_flow_flag("encrypted", p.encrypted))
        if isinstance(p.authenticated, bool):
            sets.append(_flow_flag("authenticated", p.authenticated))
        elif p.authenticated is not None:
            if p.authenticated.user is not None:
                sets.append(_flow_flag("authenticated_user", p.authenticated.user))
            if p.authenticated.service is not None:
                sets.append(_flow_flag("authenticated_service", p.authenticated.service))
        if p.physical is not None:
            sets.append(_flow_flag("physical", p.physical))
        if p.crosses_boundary is not None:
            sets.append(_flow_flag("crosses_boundary", p.crosses_boundary))
        if p.trust_change is not None:
            sign = {"increase": 1, "decrease": -1, "none": 0}[p.trust_change]
            sets.append(_flows_where("trust", (sign,)))
        if p.request_trust is not None:
            sign = {"increase": 1, "decrease": -1, "none": 0}[p.request_trust]
            sets.append(_flows_where("request_trust", (sign,)))
        if p.protocol:
            sets.append(_flows_where("protocol", tuple({x.lower() for x in p.protocol})))
        if p.operation:
            sets.append(_flows_where("operation", tuple(set(p.operation))))
        if p.has_control:
            need = frozenset(p.has_control)
            tests.append(lambda c, f: need <= c.graph.flows[f].controls)
        if p.lacks_control:
            bad = frozenset(p.lacks_control)
            tests.append(lambda c, f: bad.isdisjoint(c.graph.flows[f].controls))
        self._composites(sets, p.all, p.any, p.not_, self.flow_set, _all_flows)
        return _conjunction(key, sets, tests, _all_flows, _flow_names)

    # -- paths ----------------------------------------------------------------------------
    def reach(
        self,
        p: PathPred,
        reverse: bool = False,
        walls: str = "",
    ) -> Callable[[Ctx], Reach]:
        """Compile a reachability query; the BFS runs once per graph and is cached.

        Forward: from elements matching ``from`` along flows. Reverse (``reaches``): the
        set of elements that can reach one matching ``from`` (so ``from`` is the goal).
        ``walls`` names a control: the elements (as of the run date) and flows that declare
        it stop the walk, and an element that declares it is no source either.
        """
        src = self.element_set(p.from_)
        via = self.flow_set(p.via) if p.via is not None else None
        through = self.element_set(p.through) if p.through is not None else None
        blocked = self.element_set(p.blocked_by) if p.blocked_by is not None else None
        max_hops = p.max_hops if p.max_hops is not None else 1 << 30
        # Identical queries (same predicate text, direction and walls) share one BFS per
        # graph, whichever rule asks: most path rules start from the same few source sets.
        key = (_key(p), reverse, walls)

        def run(c: Ctx) -> Reach:
            hit = c.reach_cache.get(key)
            if hit is not None:
                return hit
            ix = c.graph.ix
            n = len(ix.ids)
            seed = c.element_mask(src)
            # Elements a search may pass through (sources always expand), and flows it may
            # follow: masks by element and flow number, read by the loop below.
            ok = bytearray(b"\x01") * n
            if blocked is not None:
                ok = _mask_andnot(ok, c.element_mask(blocked))
            if walls:
                wall, wall_flows = c.holder_masks(walls)
                ok = _mask_andnot(ok, wall)
                seed = _mask_andnot(seed, wall)
            if through is not None:
                ok = _mask_and(ok, c.element_mask(through))
            edge = bytearray(b"\x01") * len(ix.fids)
            if via is not None:
                edge = c.flow_mask(via)
            if walls:
                edge = _mask_andnot(edge, wall_flows)
            # Different predicate texts often select the same sources, walls and flows: a
            # search is fully decided by these masks, so equal masks share one search.
            same = (bytes(seed), bytes(ok), bytes(edge), reverse, max_hops)
            twin = c.reach_by_masks.get(same)
            if twin is not None:
                c.reach_cache[key] = twin
                return twin
            search = content_sources if reverse else content_search
            result = search(ix.names, ix.content, seed, ok, edge, max_hops)
            c.reach_cache[key] = c.reach_by_masks[same] = result
            return result

        return run


def _numbers(c: Ctx, ids: Iterable[str]) -> list[int]:
    """The numbers of the ids that name elements (a sub-processor may name none)."""
    pos = c.graph.ix.pos
    return [pos[x] for x in ids if x in pos]


def _kind_set(kinds: frozenset[Kind]) -> ESet:
    ordered = sorted(kinds, key=lambda k: k.value)

    def run(c: Ctx) -> frozenset[int]:
        by_kind = c.graph.ix.by_kind
        return frozenset(chain.from_iterable([by_kind.get(k, ()) for k in ordered]))

    return run


def _complement(s: ESet, universe: Callable[[Ctx], frozenset[int]]) -> ESet:
    return lambda c: universe(c) - s(c)


def _hosted_set(c: Ctx) -> frozenset[int]:
    pos = c.graph.ix.pos
    return frozenset(map(pos.__getitem__, chain.from_iterable(c.graph.hosted_by.values())))


def _hosted_by(c: Ctx, providers: frozenset[int]) -> frozenset[int]:
    """The elements hosted by any of ``providers``."""
    ix, hosted_by = c.graph.ix, c.graph.hosted_by
    return frozenset([ix.pos[h] for v in providers for h in hosted_by.get(ix.ids[v], ())])


def _hosting(c: Ctx, hosted: frozenset[int]) -> frozenset[int]:
    """The providers that host any of ``hosted``."""
    pos = c.graph.ix.pos
    return frozenset(
        [
            pos[v]
            for v, hs in c.graph.hosted_by.items()
            if v in pos and not hosted.isdisjoint(map(pos.__getitem__, hs))
        ]
    )


#: Flow-predicate keys naming an end, and the index of flows at an element they read.
_FLOW_ENDS = (
    ("source", "out"),
    ("target", "in"),
    ("requester", "asks"),
    ("server", "serves"),
    ("sender", "sends"),
    ("receiver", "receives"),
)


def _flows_at(elements: ESet, direction: str) -> ESet:
    """Flows leaving (``out``) or entering (``in``) any element of a set, or in which one
    of them is the requester (``asks``) or the server (``serves``)."""

    def run(c: Ctx) -> frozenset[int]:
        ix = c.graph.ix
        index = {
            "out": ix.out_flows,
            "in": ix.in_flows,
            "asks": ix.asks,
            "serves": ix.serves,
            "sends": ix.sends,
            "receives": ix.receives,
        }[direction]
        return frozenset(chain.from_iterable(map(index.__getitem__, elements(c))))

    return run


#: Derived element facts that predicates name as booleans (see :mod:`threatgraph.graph`).
ELEMENT_FACTS = (
    "runs_model",
    "agentic",
    "side_effects",
    "acts_for_model",
    "can_act",
    "hears_agents",
    "hears_agents_unauthenticated",
    "fronts_stores",
)


def _trusted(levels: tuple[Trust, ...]) -> ESet:
    """Elements whose effective trust is one of ``levels``."""

    def run(c: Ctx) -> frozenset[int]:
        trust, pos = c.graph.trust, c.graph.ix.pos
        return frozenset(pos[e] for e, t in trust.items() if t in levels)

    return run


def _having(field_name: str) -> ESet:
    """Elements whose ``field_name`` (``artifact`` or ``software``) is set and not empty."""

    def run(c: Ctx) -> frozenset[int]:
        ix = c.graph.ix
        return frozenset(compress(ix.nums, [bool(getattr(el, field_name)) for el in ix.els]))

    return run


def _artifact_filter(p: ArtifactPred) -> EPred:
    """Elements whose ``artifact`` has every fact the predicate gives."""
    formats = frozenset(p.format) if p.format else None

    def run(c: Ctx, e: str) -> bool:
        a = c.graph.elements[e].artifact
        if a is None:
            return False
        checks = (
            formats is None or a.format in formats,
            p.code_bearing is None or (a.format in CODE_BEARING_FORMATS) == p.code_bearing,
            p.from_hub is None or (a.hub is not None) == p.from_hub,
            p.publisher_verified is None or bool(a.publisher_verified) == p.publisher_verified,
            p.pinned is None or bool(a.pinned) == p.pinned,
            p.remote_code is None or bool(a.remote_code) == p.remote_code,
            p.adapters is None or bool(a.adapters) == p.adapters,
            p.fine_tuned is None or (a.base_model is not None) == p.fine_tuned,
        )
        return all(checks)

    return run


def _software_filter(p: SoftwarePred) -> EPred:
    """Elements with some ``software`` entry that has every fact the predicate gives."""

    def one(sw: Software) -> bool:
        return (
            (p.kind is None or sw.kind in p.kind)
            and (p.origin is None or sw.origin in p.origin)
            and (p.registry is None or sw.registry in p.registry)
            and (p.pinned is None or bool(sw.pinned) == p.pinned)
            and (p.at_runtime is None or bool(sw.at_runtime) == p.at_runtime)
            # Unknown is neither: only what the entry says matches.
            and (p.writable is None or sw.writable is p.writable)
        )

    return lambda c, e: any(one(sw) for sw in c.graph.elements[e].software)


def _in_context_test(p: DataPred) -> FPred:
    """Flows that carry matching data in the content a model reads (not in a header, the
    environment or a vault reference)."""
    test = _data_test(p)

    def run(c: Ctx, f: str) -> bool:
        return any(
            (d.carried_as in (None, "context")) == p.in_context
            and test(frozenset([d.classification]))
            for d in c.graph.flows[f].data
        )

    return run


def _element_fact(fact: str) -> ESet:
    """The elements with a derived fact (one of :data:`ELEMENT_FACTS`)."""
    return lambda c: c.graph.element_facts[fact]


def _flow_ends(flows: ESet, end: str) -> ESet:
    """The sources, targets, requesters or servers of a set of flows."""

    def run(c: Ctx) -> frozenset[int]:
        ix = c.graph.ix
        index = {
            "target": ix.fdst,
            "source": ix.fsrc,
            "requester": ix.freq,
            "server": ix.fsrv,
            "sender": ix.fsnd,
            "receiver": ix.frcv,
        }[end]
        got = frozenset(map(index.__getitem__, flows(c)))
        if end == "requester" and ix.also_asked_by:
            # The party behind a store relay asks what the relay asks for it.
            also = ix.also_asked_by
            got |= {also[f] for f in flows(c) if f in also}
        return got

    return run


def _flow_flag(name: str, want: bool) -> ESet:
    """Flows with (or without) an indexed flag: encrypted, authenticated (by any credential,
    authenticated_user, authenticated_service), crosses_boundary."""

    def run(c: Ctx) -> frozenset[int]:
        have = c.graph.flow_flags[name]
        return have if want else c.all_flows - have

    return run


def _by_class(
    p: DataPred,
    index: Callable[[Ctx], Mapping[Classification, frozenset[int]]],
    universe: Callable[[Ctx], frozenset[int]],
) -> ESet:
    """The ids whose data matches a data predicate, from a classification index: any of
    the wanted classifications, and sensitive (or not) as asked."""
    wanted = frozenset(p.classification) if p.classification else None

    def run(c: Ctx) -> frozenset[int]:
        by_class = index(c)
        got = universe(c)
        if wanted is not None:
            got = frozenset().union(*[by_class.get(k, ()) for k in wanted])
        if p.sensitive is not None:
            sensitive = frozenset().union(*[by_class.get(k, ()) for k in SENSITIVE])
            got = got & sensitive if p.sensitive else got - sensitive
        return got

    return run


def _carried(g: Graph, e: str) -> tuple[set[str], set[str]]:
    """Data ids an element sends and receives, by where data moves (``Graph.carriers``: a
    read drawn from the reader brings data in)."""
    sent: set[str] = set()
    into: set[str] = set()
    for f in chain(g.flows_out.get(e, ()), g.flows_in.get(e, ())):
        (sent if g.carriers[f][0] == e else into).update(g.flows[f].flow.data)
    return sent, into


def _generated_test(makers: ESet, key: str) -> FPred:
    """Flows carrying data that some element in ``makers`` generates.

    A model or agent generates the data it sends: a draft it returns, its tool calls, not a
    transcript it was sent. When it sends nothing that is drawn (a call with no answer flow),
    the calls that bring its answer back carry its output, and its callers may pass that
    answer on under their own data, so what they send counts too. ``key``
    names the makers' predicate: worked out once per graph.
    """

    def generated(c: Ctx) -> tuple[frozenset[str], frozenset[str]]:
        got = c.generated.get(key)
        if got is None:
            out: set[str] = set()
            answer_flows: set[str] = set()
            g = c.graph
            for num in sorted(makers(c)):
                e = g.ix.ids[num]
                # Whatever a model or agent sends on is its output, even data it read
                # earlier (tool arguments, an edited record).
                own = _carried(g, e)[0]
                if not own:
                    answers = [
                        f
                        for f in chain(g.flows_in.get(e, ()), g.flows_out.get(e, ()))
                        if g.interactions[f][1] == e
                    ]
                    answer_flows.update(answers)
                    for caller in sorted({g.interactions[f][0] for f in answers} - {e}):
                        # A caller passes the answer on: what it sends and never received.
                        sent, into = _carried(g, caller)
                        own |= sent - into
                out |= own
            got = c.generated[key] = (frozenset(out), frozenset(answer_flows))
        return got

    def test(c: Ctx, fid: str) -> bool:
        data, flows = generated(c)
        return fid in flows or not data.isdisjoint(c.graph.flows[fid].flow.data)

    return test


def _flow_data(p: DataPred) -> ESet:
    """Flows whose data matches a data predicate."""
    return _by_class(p, lambda c: c.graph.flows_by_class, _all_flows)


def _element_data(p: DataPred, fieldname: str) -> ESet:
    """Elements whose stores/processes/trained_on (or handled) data matches."""
    return _by_class(p, lambda c: c.graph.elements_holding(fieldname), _all_elements)


def _passes_on(p: DataPred) -> ESet:
    """Elements that send on, in a request they make, a data asset that came to them in a
    request they serve (the same asset id, so a credential of their own is not counted).
    Requests are the flows whose content goes to their server: the server is the target
    (a drawn answer, whose source is the server, carries nothing in)."""
    test = _data_test(p)

    def run(c: Ctx) -> frozenset[int]:
        ix, g = c.graph.ix, c.graph
        out: list[int] = []
        for i in ix.all_elements:
            sent = {d for f in ix.asks[i] if ix.fsrc[f] == i for d in g.flows[ix.fids[f]].flow.data}
            if not sent:
                continue
            got = {
                d for f in ix.serves[i] if ix.fdst[f] == i for d in g.flows[ix.fids[f]].flow.data
            }
            both = sent & got
            if both and test({g.data[d].classification for d in both}):
                out.append(i)
        return frozenset(out)

    return run


def _flows_where(fact: str, values: tuple[object, ...]) -> ESet:
    """Flows whose fact ('protocol', 'operation', 'trust') has one of the values."""

    def run(c: Ctx) -> frozenset[int]:
        index = c.graph.flows_by(fact)
        return frozenset().union(*[index.get(v, ()) for v in values])

    return run


_ALL_KINDS = frozenset(Kind)


def kinds_of(
    p: ElementPred | None, named: Mapping[str, ElementPred] | None = None
) -> frozenset[Kind] | None:
    """The element kinds a predicate can match (None: any kind), for candidate indexing.

    Conjunctions intersect, ``any`` unites, ``not_kind`` removes; named predicates are
    followed when ``named`` is given. Conservative: when unsure, it allows more kinds.
    """
    if p is None:
        return None
    allowed = set(_ALL_KINDS)
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
    return None if allowed == _ALL_KINDS else frozenset(allowed)
