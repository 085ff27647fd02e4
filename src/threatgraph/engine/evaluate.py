"""Match a compiled library against a graph and produce findings with checklists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from threatgraph.engine import applicable
from threatgraph.engine.compile import Compiler, Ctx, ESet, contradictions
from threatgraph.engine.findings import (
    CheckItem,
    Finding,
    Status,
    finding_id,
    group_keys,
    groups_needed,
)
from threatgraph.engine.library import Library, LoadedRule
from threatgraph.engine.rules import DataPred, ElementPred, PathPred, Rule, Severity
from threatgraph.graph import Graph
from threatgraph.model.schema import SENSITIVE, DataAsset, Location
from threatgraph.model.vendors import expiring
from threatgraph.reach import Reach, nearest


@dataclass
class CompiledRule:
    """A rule with its predicates compiled (see :class:`Compiler`)."""

    rule: Rule
    mode: str  # 'element', 'flow' or 'path'
    #: What the rule binds: the matching elements (element rules), flows (flow rules) or
    #: path targets (path rules, before reachability), as a set of numbers per graph.
    matches: Callable[[Ctx], frozenset[int]]
    reach: Callable[[Ctx], Reach] | None = None  # path rules: the search from the sources
    #: Path rules: per control declared ``at: [path]``, the search with its holders as walls.
    path_blockers: dict[str, Callable[[Ctx], Reach]] | None = None
    #: Flow rules whose ``primary`` is an element predicate: the elements it holds for.
    primary_set: ESet | None = None
    #: The rule's severity_when: the elements (or flows, when the flag is set) it holds
    #: for, as a set per graph, and the severity it gives.
    severity_when: list[tuple[ESet, bool, Severity]] | None = None
    #: Element rules: the facts that explain a finding (see :func:`_clues`).
    clues: tuple[Clue, ...] = ()


@dataclass(frozen=True)
class Clue:
    """One fact of an element rule's predicate that a finding's explanation names.

    ``reach``: a search the predicate holds through (``from``: content from a matching
    element reaches the element; ``to``: the element's content reaches a matching one);
    ``data``: the data the element handles that the predicate asks about; ``reached_by``:
    the nearest person or outside content whose content reaches an element that acts;
    ``contradiction`` and ``expiring``: the vendor facts that contradict each other, or
    the agreements and certifications that end soon.
    """

    kind: str  # 'from', 'to', 'data', 'reached_by', 'contradiction' or 'expiring'
    reach: Callable[[Ctx], Reach] | None = None
    data: DataPred | None = None
    #: ``to`` clues: the clause, and the compiler to search forward from one element with
    #: (a backward search finds who reaches a goal, not the route).
    spec: PathPred | None = None
    compiler: Compiler | None = None
    #: ``to`` clues: the clause's limits as text (the masks a route search uses are made
    #: once per evaluation and clause text).
    key: str = ""


#: Where people and outside content reach an element that acts: who can make it act.
_OUTSIDERS = PathPred.model_validate(
    {
        "from": {"kind": ["actor", "external_content"]},
        "through": {"not_kind": ["training_pipeline", "model_registry"]},
        "via": {"not": {"data": {"classification": ["model_weights"]}}},
    }
)


def _clues(p: ElementPred, compiler: Compiler, named: dict[str, ElementPred]) -> list[Clue]:
    """The reach and data clauses an element predicate holds through, in predicate order.

    Followed into named predicates, ``all`` and ``any`` (a clause inside ``any`` is only
    named for a finding where it holds); ``not`` is not followed (it holds by absence).
    """
    out: list[Clue] = []
    seen: set[str] = set()

    def walk(q: ElementPred) -> None:
        data = q.handles or q.stores or q.processes or q.trained_on
        if data is not None and (data.sensitive or data.classification):
            out.append(Clue("data", data=data))
        if q.use is not None and q.use not in seen and q.use in named:
            seen.add(q.use)
            walk(named[q.use])
        # Which vendor facts clash, or what ends when: the finding says, not only the rule.
        if q.vendor is not None and q.vendor.contradiction:
            out.append(Clue("contradiction"))
        if q.vendor is not None and q.vendor.expiring:
            out.append(Clue("expiring"))
        if q.reachable_from is not None:
            out.append(Clue("from", reach=compiler.reach(q.reachable_from)))
        if q.reaches is not None:
            out.append(
                Clue(
                    "to",
                    reach=compiler.reach(q.reaches, reverse=True),
                    spec=q.reaches,
                    compiler=compiler,
                    key=q.reaches.model_dump_json(
                        by_alias=True, exclude_none=True, exclude={"from_"}
                    ),
                )
            )
        for sub in (*(q.all or ()), *(q.any or ())):
            walk(sub)

    walk(p)
    return out


def _every_element(c: Ctx) -> frozenset[int]:
    return c.all_elements


def _unless_unused(
    cid: str, walled: Callable[[Ctx], Reach], base: Callable[[Ctx], Reach]
) -> Callable[[Ctx], Reach]:
    """The walled search, or the plain one when nothing in the model holds the control on
    the run date (the walls would stop nothing, so a second BFS would find the same).

    The walls are made of the same holders (:meth:`Ctx.holders`), so the two cannot
    disagree.
    """

    def run(c: Ctx) -> Reach:
        elements, flows = c.holders(cid)
        return walled(c) if elements or flows else base(c)

    return run


def compile_rule(rule: Rule, compiler: Compiler) -> CompiledRule:
    """Compile one rule. Raises ValueError for a bad named predicate."""
    m = rule.match
    sev = [
        (
            compiler.flow_set(s.if_flow)
            if s.if_flow is not None
            else (compiler.element_set(s.if_) if s.if_ is not None else _every_element),
            s.if_flow is not None,
            s.severity,
        )
        for s in rule.severity_when
    ]
    if m.element is not None:
        clues = _clues(m.element, compiler, dict(compiler.named))
        if not any(c.kind == "from" for c in clues):
            clues.append(Clue("reached_by", reach=compiler.reach(_OUTSIDERS)))
        return CompiledRule(
            rule,
            "element",
            compiler.element_set(m.element),
            severity_when=sev,
            clues=tuple(clues),
        )
    if m.flow is not None:
        primary_set = None if isinstance(m.primary, str) else compiler.element_set(m.primary)
        return CompiledRule(
            rule, "flow", compiler.flow_set(m.flow), severity_when=sev, primary_set=primary_set
        )
    assert m.path is not None
    blockers: dict[str, Callable[[Ctx], Reach]] = {}
    base = compiler.reach(m.path)
    for mit in rule.mitigations:
        if mit.at and "path" in mit.at:
            cid = mit.control
            walled = compiler.reach(m.path, walls=cid)
            blockers[cid] = _unless_unused(cid, walled, base)
    return CompiledRule(
        rule,
        "path",
        compiler.element_set(m.path.to) if m.path.to is not None else _every_element,
        reach=base,
        path_blockers=blockers,
        severity_when=sev,
    )


def compiled(lib: Library) -> list[CompiledRule]:
    """Compile the library's active rules once and cache them on the library."""
    cache: list[CompiledRule] | None = getattr(lib, "_compiled", None)
    if cache is None:
        compiler = Compiler(lib.predicates)
        cache = [compile_rule(lr.rule, compiler) for lr in lib.active]
        lib._compiled = cache  # type: ignore[attr-defined]
    return cache


def default_places(mode: str) -> tuple[str, ...]:
    """Where a mitigation without ``at`` counts, by the rule's match mode."""
    return {"element": ("element",), "flow": ("flow",), "path": ("element", "path")}[mode]


_ELEMENT_ONLY = ("element",)


class _Binder:
    """Evaluates a rule's checklist, status and severity for one binding.

    Built once per rule and graph: the mitigation plan (control, places, why) and the count
    that closes a finding are worked out here, not per finding.
    """

    def __init__(self, ctx: Ctx, cr: CompiledRule, model_controls: frozenset[str]) -> None:
        self.ctx, self.cr, self.g = ctx, cr, ctx.graph
        self.model_controls = model_controls
        rule = cr.rule
        default = default_places(cr.mode)
        # Each mitigation with the elements that hold its control on the run date and the
        # flows that declare it: membership in two small sets per check, instead of each
        # element's and flow's own controls (on a large model, memory far apart).
        # The item of a control that is absent is the same for every finding: made once.
        self.plan = [
            (
                m.control,
                tuple(m.at or default),
                m.why,
                *ctx.holders(m.control),
                CheckItem(m.control, False, (), tuple(m.at or default), m.why),
            )
            for m in rule.mitigations
        ]
        keys = group_keys(rule)
        #: Group of each mitigation, or None when every mitigation is its own group.
        self.groups: list[str] | None = keys if len(set(keys)) < len(keys) else None
        self.need = groups_needed(rule)
        # Worked out on the first finding that needs them (a rule may match nothing).
        self._severity: list[tuple[frozenset[int], bool, Severity]] | None = None
        self._walled: dict[str, Reach] = {}

    def checklist(
        self, primary: str, source: str | None, target: str | None, flow: str | None
    ) -> list[CheckItem]:
        items = []
        for cid, places, why, holders, declaring, absent in self.plan:
            if places == _ELEMENT_ONLY:  # most mitigations: one set lookup
                if primary in holders:
                    items.append(CheckItem(cid, True, (primary,), places, why))
                else:
                    items.append(absent)
                continue
            where = self._where(cid, places, holders, declaring, primary, source, target, flow)
            items.append(CheckItem(cid, True, where, places, why) if where else absent)
        return items

    def _where(
        self,
        cid: str,
        places: tuple[str, ...],
        holders: set[str],
        declaring: set[str],
        primary: str,
        source: str | None,
        target: str | None,
        flow: str | None,
    ) -> tuple[str, ...]:
        # ``holders``: elements with the control as of the run date (vendor facts such as
        # BAA dates re-checked); ``declaring``: flows that declare it.
        g, found = self.g, []
        for place in places:
            if place == "element":
                if primary in holders:
                    found.append(primary)
            elif place == "source":
                if source and source in holders:
                    found.append(source)
            elif place == "target":
                if target and target in holders:
                    found.append(target)
            elif place == "flow":
                # A call and its drawn answer are one exchange: a control on either counts.
                if flow and declaring:
                    found.extend(x for x in g.exchanges.get(flow, (flow,)) if x in declaring)
            elif place == "provider":
                pv = g.elements[primary].provider
                if pv and pv in holders:
                    found.append(pv)
            elif place == "upstream":
                _adjacent(g.flows_in[primary], g.flow_source, holders, declaring, found)
            elif place == "downstream":
                _adjacent(g.flows_out[primary], g.flow_target, holders, declaring, found)
            elif place == "model":
                if cid in self.model_controls:
                    found.append("model")
            elif place == "path":
                walled = self._walled.get(cid)
                if walled is None and self.cr.path_blockers and cid in self.cr.path_blockers:
                    walled = self._walled[cid] = self.cr.path_blockers[cid](self.ctx)
                if walled is not None and not walled.reached(primary):
                    found.append("path")
        if len(found) > 1:
            return tuple(dict.fromkeys(found))
        return tuple(found)

    def status(self, checklist: list[CheckItem]) -> Status:
        # Mitigations in one group are alternatives: the group counts once, when any is present.
        if self.groups is None:
            present = sum([item.present for item in checklist])
        else:
            present = len(
                {k for k, item in zip(self.groups, checklist, strict=True) if item.present}
            )
        return "mitigated" if present >= self.need else "open"

    def severity(self, primary: str, flow: str | None = None) -> str:
        when = self.cr.severity_when
        if not when:
            return self.cr.rule.severity
        sets = self._severity
        if sets is None:
            sets = self._severity = [(members(self.ctx), on, sev) for members, on, sev in when]
        ix = self.g.ix
        for members, on_flow, sev in sets:
            if on_flow:
                subject = None if flow is None else ix.fpos.get(flow)
            else:
                subject = ix.pos.get(primary)
            if subject is not None and subject in members:
                return sev
        return self.cr.rule.severity


def _adjacent(
    fids: list[str],
    far_end: dict[str, str],
    holders: set[str],
    declaring: set[str],
    found: list[str],
) -> None:
    """Each flow that declares the control, else its far end when that element holds it."""
    for fid in fids:
        if fid in declaring:
            found.append(fid)
        elif far_end[fid] in holders:
            found.append(far_end[fid])


def _loc(*candidates: Location | None) -> Location:
    for c in candidates:
        if c is not None:
            return c
    return Location(file="<model>", line=0)


#: How a finding's explanation says whose credential authenticates a flow.
_AUTHN_WORDS: dict[str, str] = {
    "none": "not authenticated",
    "user": "authenticated by a person's sign-in only (the calling program is not)",
    "service": "authenticated by the calling program's own identity",
    "both": "authenticated by a person's sign-in and the calling program's identity",
}


def _flow_explanation(g: Graph, fid: str) -> str:
    """'Flow 'x' from A to B carries D (phi); protocol http, not encrypted, ...'."""
    facts = g.flows[fid]
    fl = facts.flow
    data = ", ".join(f"{d.name} ({d.classification.value})" for d in facts.data)
    how = [
        f"protocol {fl.protocol}" if fl.protocol else "protocol unspecified",
        "encrypted" if facts.encrypted else "not encrypted",
        _AUTHN_WORDS[facts.authn],
    ]
    if facts.crosses_boundary:
        how.append("crosses a trust boundary")
    return (
        f"Flow '{fl.name or fid}' from {g.describe(fl.source)} to {g.describe(fl.target)}"
        + (f" carries {data}" if data else "")
        + f"; {', '.join(how)}."
    )


#: At most this many data items are named in an explanation (then "and N more").
_MAX_DATA = 4


class _DataOf:
    """Each element's data (stored, processed, trained on or exchanged), in the model's
    declaration order, worked out once per element and evaluation; and, per route clause of
    the explanations, the masks its searches use (made once per evaluation)."""

    def __init__(self, g: Graph) -> None:
        self.g = g
        self.order = {did: i for i, did in enumerate(g.data)}
        self.cache: dict[str, list[DataAsset]] = {}
        #: Per route clause (its text), the masks of the elements and flows a route may use.
        self.route_masks: dict[str, tuple[bytearray, bytearray]] = {}
        self.heads: dict[str, str] = {}

    def head(self, e: str) -> str:
        """How an explanation names element ``e``: 'Name (kind, trust level)'."""
        got = self.heads.get(e)
        if got is None:
            el = self.g.elements[e]
            got = self.heads[e] = f"{el.name} ({el.kind.value}, trust {self.g.trust[e].value})"
        return got

    def __call__(self, e: str) -> list[DataAsset]:
        got = self.cache.get(e)
        if got is None:
            g = self.g
            el = g.elements[e]
            ids = {*el.stores, *el.processes, *el.trained_on}
            for fid in (*g.flows_in[e], *g.flows_out[e]):
                ids.update(d.id for d in g.flows[fid].data)
            known = [d for d in ids if d in self.order]
            got = self.cache[e] = [g.data[d] for d in sorted(known, key=self.order.__getitem__)]
        return got


def _data_text(items: list[DataAsset], pred: DataPred) -> str | None:
    wanted = set(pred.classification or ())
    items = [
        d
        for d in items
        if (not wanted or d.classification in wanted)
        and (pred.sensitive is None or (d.classification in SENSITIVE) == pred.sensitive)
    ]
    if not items:
        return None
    named = [f"{d.name} ({d.classification.value})" for d in items[:_MAX_DATA]]
    more = len(items) - _MAX_DATA
    return "it handles " + ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _route(g: Graph, nodes: list[str]) -> str:
    return " -> ".join(g.describe(n) for n in nodes)


def element_explanation(
    ctx: Ctx, cr: CompiledRule, e: str, data_of: _DataOf, budget: list[int] | None = None
) -> str:
    """Why an element rule matched ``e``, with the facts: the data its predicate asks
    about, and for each reach clause one shortest route (where untrusted content comes
    from, where the element's content can go), or who can reach an element that acts.

    Deterministic (the searches' witnesses are), and built from names only: the formats
    escape it as they escape every other model text. A route out of the element takes a
    search from it: ``budget`` (one counter per rule and model) bounds how many are run, so
    that a rule matching thousands of elements stays linear; past it the route is left out.
    """
    g = ctx.graph
    el = g.elements[e]
    parts = [data_of.head(e)]
    facts: list[str] = []
    for clue in cr.clues:
        if clue.kind in ("contradiction", "expiring"):
            found = (
                contradictions(ctx, e)
                if clue.kind == "contradiction"
                else expiring(el.vendor, ctx.as_of, ctx.expiry_window_days)
                if el.vendor is not None
                else []
            )
            facts.extend(t for t in found if t not in facts)
            continue
        if clue.kind == "data":
            assert clue.data is not None
            text = _data_text(data_of(e), clue.data)
            if text is not None and text not in facts:
                facts.append(text)
            continue
        assert clue.reach is not None
        reach = clue.reach(ctx)
        if not reach.reached(e):
            continue
        if clue.kind == "to":
            if budget is not None and budget[0] <= 0:
                continue
            if budget is not None:
                budget[0] -= 1
            route = _route_to(ctx, clue, e, data_of)
            if route is None:
                continue
            text = f"its content reaches {g.describe(route[-1])}: {_route(g, route)}"
            if text not in facts:
                facts.append(text)
            continue
        nodes, _ = reach.witness(e)
        if clue.kind == "from":
            text = f"{g.describe(nodes[0])} reaches it: {_route(g, nodes)}"
        elif _acts(g, e):
            text = f"{g.describe(nodes[0])} can reach it: {_route(g, nodes)}"
        else:
            continue
        if text not in facts:
            facts.append(text)
    if not facts:
        return " ".join(parts) + " matches this rule."
    return parts[0] + " matches this rule: " + "; ".join(facts) + "."


def _route_to(ctx: Ctx, clue: Clue, e: str, data_of: _DataOf) -> list[str] | None:
    """A shortest route along which ``e``'s content reaches an element the clause names.

    One search from ``e`` alone, with the clause's own limits (through, blocked_by, via,
    max_hops) taken from the sets the library's compiler already made for this graph.
    """
    assert clue.spec is not None and clue.compiler is not None
    spec, comp = clue.spec, clue.compiler
    ix = ctx.graph.ix
    n = len(ix.ids)
    masks = data_of.route_masks.get(clue.key)
    if masks is None:
        ok = bytearray(b"\x01") * n
        if spec.through is not None:
            allowed = comp.element_set(spec.through)(ctx)
            ok = bytearray(1 if i in allowed else 0 for i in range(n))
        if spec.blocked_by is not None:
            for i in comp.element_set(spec.blocked_by)(ctx):
                ok[i] = 0
        edge = bytearray(b"\x01") * len(ix.fids)
        if spec.via is not None:
            flows = comp.flow_set(spec.via)(ctx)
            edge = bytearray(1 if f in flows else 0 for f in range(len(ix.fids)))
        masks = data_of.route_masks[clue.key] = (ok, edge)
    ok, edge = masks
    max_hops = spec.max_hops if spec.max_hops is not None else 1 << 30
    goal = comp.element_set(spec.from_)(ctx)
    return nearest(ix.names, ix.content, ix.pos[e], goal, ok, edge, max_hops)


#: Routes out of an element searched per rule and model (see :func:`element_explanation`).
ROUTE_BUDGET = 16


def _acts(g: Graph, e: str) -> bool:
    """The element acts (side effects, an agent, runs code): who can reach it matters."""
    pos = g.ix.pos[e]
    facts = g.element_facts
    return pos in facts.get("side_effects", frozenset()) or pos in facts.get("agentic", frozenset())


def _finding(
    b: _Binder,
    model_id: str,
    element: str,
    elements: tuple[str, ...],
    location: Location,
    checklist: list[CheckItem],
    explanation: str,
    *,
    flow: str | None = None,
    path: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ()),
) -> Finding:
    """The one place a finding is made: its id (:func:`finding_id`) binds the flow for flow
    rules and the element otherwise; status and severity come from the rule's binder."""
    nodes, path_flows, sources = path
    rule = b.cr.rule
    return Finding(
        id=finding_id(rule.id, [flow if flow is not None else element]),
        rule=rule,
        model_id=model_id,
        element=element,
        elements=elements,
        flow=flow,
        path=nodes,
        path_flows=path_flows,
        sources=sources,
        location=location,
        severity=b.severity(element, flow),
        checklist=checklist,
        status=b.status(checklist),
        explanation=explanation,
    )


def _exchange_rank(g: Graph, fid: str) -> tuple[bool, str]:
    """Which flow of an exchange carries its finding: requests first, then by id."""
    return (g.flows[fid].flow.source != g.interactions[fid][0], fid)


@dataclass
class _RunCtx:
    """What every rule's findings on one graph share."""

    ctx: Ctx
    model_id: str
    data_of: _DataOf
    #: Explanations of flow findings depend only on the flow, and many rules match the same
    #: ones: word each once. An element finding names facts of its rule (data, routes).
    flow_text: dict[str, str]

    @property
    def g(self) -> Graph:
        """The graph the rules run on."""
        return self.ctx.graph


def _element_findings(
    run: _RunCtx, cr: CompiledRule, b: _Binder, matched: frozenset[int]
) -> list[Finding]:
    """Findings of an element rule: one per matching element."""
    g = run.g
    out: list[Finding] = []
    budget = [ROUTE_BUDGET]
    for e in sorted(map(g.ix.ids.__getitem__, matched)):
        el = g.elements[e]
        checklist = b.checklist(e, None, None, None)
        explained = element_explanation(run.ctx, cr, e, run.data_of, budget)
        out.append(
            _finding(
                b,
                run.model_id,
                e,
                (e,),
                _loc(el.location, g.model.location),
                checklist,
                explained,
            )
        )
    return out


def _flow_ends(g: Graph, fid: str, primary_end: str | ElementPred) -> tuple[str, str]:
    """The flow's ends as a rule reading ``primary_end`` names them "source" and "target".

    A rule that names the derived ends reads "source" and "target" in its mitigations as the
    requester and the server (or the sender and the receiver), however the arrow is drawn.
    """
    if primary_end in ("requester", "server") or (
        # A flow a relay asks for its party: the party is an end as much as the relay is.
        not isinstance(primary_end, str) and g.ix.fpos[fid] in g.ix.also_asked_by
    ):
        return g.ends_asked(fid)
    if primary_end in ("sender", "receiver"):
        return g.carriers[fid]
    fl = g.flows[fid].flow
    return fl.source, fl.target


def _flow_findings(
    run: _RunCtx, cr: CompiledRule, b: _Binder, matched: frozenset[int]
) -> list[Finding]:
    """Findings of a flow rule: one per matching flow (per exchange for a rule that reads
    the derived ends)."""
    g, ctx = run.g, run.ctx
    out: list[Finding] = []
    primary_end = cr.rule.match.primary
    derived = primary_end in ("requester", "server")
    chosen = cr.primary_set(ctx) if cr.primary_set is not None else None
    matched_ids = set(map(g.ix.fids.__getitem__, matched))
    # A rule that reads the derived ends finds an exchange once (a call and its drawn
    # answer), on a matching request before an answer, then on the smallest id: the
    # finding id must not depend on declaration order.
    once = derived or chosen is not None
    rank = {fid: _exchange_rank(g, fid) for fid in matched_ids} if once else {}
    for fid in sorted(matched_ids):
        if once and any(x in rank and rank[x] < rank[fid] for x in g.exchanges[fid]):
            continue
        fl = g.flows[fid].flow
        src, dst = _flow_ends(g, fid, primary_end)
        if chosen is not None:
            primary = dst if g.ix.pos[dst] in chosen or g.ix.pos[src] not in chosen else src
        else:
            primary = dst if primary_end in ("target", "server", "receiver") else src
        other = src if primary == dst else dst
        checklist = b.checklist(primary, src, dst, fid)
        why = run.flow_text.get(fid)
        if why is None:
            why = run.flow_text[fid] = _flow_explanation(g, fid)
        out.append(
            _finding(
                b,
                run.model_id,
                primary,
                (primary, other),
                _loc(fl.location, g.elements[primary].location),
                checklist,
                why,
                flow=fid,
            )
        )
    return out


def _path_findings(
    run: _RunCtx, cr: CompiledRule, b: _Binder, matched: frozenset[int]
) -> list[Finding]:
    """Findings of a path rule: one per matching element reached, with its route."""
    g = run.g
    out: list[Finding] = []
    assert cr.reach is not None
    if not matched:  # nothing the route could end at: no search
        return out
    reach = cr.reach(run.ctx)
    name_of = g.names.get
    for e in sorted(map(g.ix.ids.__getitem__, reach.reached_set() & matched)):
        nodes, flows = reach.witness(e)
        src = nodes[0]
        checklist = b.checklist(e, src, e, None)
        route = " -> ".join([name_of(n, n) for n in nodes])
        out.append(
            _finding(
                b,
                run.model_id,
                e,
                (e, src),
                _loc(g.elements[e].location, g.model.location),
                checklist,
                f"{name_of(src, src)} reaches {name_of(e, e)} in {len(flows)} hop(s): {route}.",
                path=(tuple(nodes), tuple(flows), (src,)),
            )
        )
    return out


def evaluate(
    graph: Graph, lib: Library, as_of: date | None = None, *, expiry_window_days: int = 60
) -> list[Finding]:
    """Every finding of the library's active rules on one graph, in a stable order.

    ``expiry_window_days``: how far ahead of ``as_of`` vendor expiries are warned about.
    """
    ctx = Ctx(graph, as_of=as_of or date.today(), expiry_window_days=expiry_window_days)
    run = _RunCtx(ctx, graph.model.model.id, _DataOf(graph), {})
    model_controls = frozenset(c.id for c in graph.model.model.controls)
    by_mode = {"element": _element_findings, "flow": _flow_findings}
    out: list[Finding] = []
    for cr in compiled(lib):
        b = _Binder(ctx, cr, model_controls)
        # The rule's matches come as a set (see Compiler); findings are sorted at the end,
        # so the order of this loop does not reach the output. Walking them in id order
        # (the final order within a rule) rather than hash order leaves the final sort
        # mostly ordered runs, and on a large model visits memory less at random.
        matched = cr.matches(ctx)
        out.extend(by_mode.get(cr.mode, _path_findings)(run, cr, b, matched))
    # Checklists offer only controls that can be declared where the rule looks for them
    # (status was worked out on the full list).
    applicable.trim(out, graph, lib.controls)
    out.sort(key=Finding.sort_key)
    return out


__all__ = ["CompiledRule", "LoadedRule", "compile_rule", "compiled", "evaluate"]
