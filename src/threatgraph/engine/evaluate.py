"""Match a compiled library against a graph and produce findings with checklists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from threatgraph.engine.compile import Compiler, Ctx, ESet
from threatgraph.engine.findings import CheckItem, Finding, Status, finding_id
from threatgraph.engine.library import Library, LoadedRule
from threatgraph.engine.rules import Rule, Severity
from threatgraph.graph import Graph, Reach
from threatgraph.model.schema import Location


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
        return CompiledRule(rule, "element", compiler.element_set(m.element), severity_when=sev)
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


def _default_places(mode: str) -> tuple[str, ...]:
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
        default = _default_places(cr.mode)
        # Each mitigation with the elements that hold its control on the run date and the
        # flows that declare it: membership in two small sets per check, instead of each
        # element's and flow's own controls (on a large model, memory far apart).
        self.plan = [
            (m.control, tuple(m.at or default), m.why, *ctx.holders(m.control))
            for m in rule.mitigations
        ]
        keys = [m.group or f"control:{m.control}" for m in rule.mitigations]
        #: Group of each mitigation, or None when every mitigation is its own group.
        self.groups: list[str] | None = keys if len(set(keys)) < len(keys) else None
        ngroups = len(set(keys))
        need = {"all": ngroups, "any": 1}.get(str(rule.mitigated_when))
        self.need = int(rule.mitigated_when) if need is None else need
        # Worked out on the first finding that needs them (a rule may match nothing).
        self._severity: list[tuple[frozenset[int], bool, Severity]] | None = None
        self._walled: dict[str, Reach] = {}

    def checklist(
        self, primary: str, source: str | None, target: str | None, flow: str | None
    ) -> list[CheckItem]:
        items = []
        for cid, places, why, holders, declaring in self.plan:
            if places == _ELEMENT_ONLY:  # most mitigations: one set lookup
                present = primary in holders
                items.append(CheckItem(cid, present, (primary,) if present else (), places, why))
                continue
            where = self._where(cid, places, holders, declaring, primary, source, target, flow)
            items.append(CheckItem(cid, bool(where), where, places, why))
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
            present = sum(1 for item in checklist if item.present)
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


def _flow_explanation(g: Graph, fid: str) -> str:
    """'Flow 'x' from A to B carries D (phi); protocol http, not encrypted, ...'."""
    facts = g.flows[fid]
    fl = facts.flow
    data = ", ".join(f"{d.name} ({d.classification.value})" for d in facts.data)
    how = [
        f"protocol {fl.protocol}" if fl.protocol else "protocol unspecified",
        "encrypted" if facts.encrypted else "not encrypted",
        "authenticated" if facts.authenticated else "not authenticated",
    ]
    if facts.crosses_boundary:
        how.append("crosses a trust boundary")
    return (
        f"Flow '{fl.name or fid}' from {g.describe(fl.source)} to {g.describe(fl.target)}"
        + (f" carries {data}" if data else "")
        + f"; {', '.join(how)}."
    )


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


def evaluate(graph: Graph, lib: Library, as_of: date | None = None) -> list[Finding]:
    """Every finding of the library's active rules on one graph, in a stable order."""
    ctx = Ctx(graph, as_of=as_of or date.today())
    out: list[Finding] = []
    g = graph
    model_id = g.model.model.id
    model_controls = frozenset(c.id for c in g.model.model.controls)
    # Explanations of element and flow findings depend only on the element or flow, and
    # many rules match the same ones: word each once.
    element_text: dict[str, str] = {}
    flow_text: dict[str, str] = {}
    ids, fids = g.ix.ids, g.ix.fids
    for cr in compiled(lib):
        b = _Binder(ctx, cr, model_controls)
        rule = cr.rule
        # The rule's matches come as a set (see Compiler); findings are sorted at the end,
        # so the order of this loop does not reach the output. Walking them in id order
        # (the final order within a rule) rather than hash order leaves the final sort
        # mostly ordered runs, and on a large model visits memory less at random.
        matched = cr.matches(ctx)
        if cr.mode == "element":
            for e in sorted(map(ids.__getitem__, matched)):
                el = g.elements[e]
                checklist = b.checklist(e, None, None, None)
                why = element_text.get(e)
                if why is None:
                    why = element_text[e] = (
                        f"{el.name} ({el.kind.value}, trust {g.trust[e].value}) matches this rule."
                    )
                out.append(
                    _finding(
                        b,
                        model_id,
                        e,
                        (e,),
                        _loc(el.location, g.model.location),
                        checklist,
                        why,
                    )
                )
        elif cr.mode == "flow":
            primary_end = rule.match.primary
            derived = primary_end in ("requester", "server")
            chosen = cr.primary_set(ctx) if cr.primary_set is not None else None
            matched_ids = set(map(fids.__getitem__, matched))
            for fid in sorted(matched_ids):
                # A rule that reads the derived ends finds an exchange once (a call and its
                # drawn answer), on the first of its flows that matches.
                if (derived or chosen is not None) and any(
                    x in matched_ids for x in g.exchanges[fid][: g.exchanges[fid].index(fid)]
                ):
                    continue
                facts = g.flows[fid]
                fl = facts.flow
                # A rule that names the derived ends reads "source" and "target" in its
                # mitigations as the requester and the server, however the arrow is drawn.
                src, dst = g.interactions[fid] if derived else (fl.source, fl.target)
                if chosen is not None:
                    primary = dst if g.ix.pos[dst] in chosen or g.ix.pos[src] not in chosen else src
                else:
                    primary = dst if primary_end in ("target", "server") else src
                other = src if primary == dst else dst
                checklist = b.checklist(primary, src, dst, fid)
                why = flow_text.get(fid)
                if why is None:
                    why = flow_text[fid] = _flow_explanation(g, fid)
                out.append(
                    _finding(
                        b,
                        model_id,
                        primary,
                        (primary, other),
                        _loc(fl.location, g.elements[primary].location),
                        checklist,
                        why,
                        flow=fid,
                    )
                )
        else:
            assert cr.reach is not None
            reach = cr.reach(ctx)
            name_of = g.names.get
            for e in sorted(map(ids.__getitem__, reach.reached_set() & matched)):
                nodes, flows = reach.witness(e)
                src = nodes[0]
                checklist = b.checklist(e, src, e, None)
                route = " -> ".join([name_of(n, n) for n in nodes])
                out.append(
                    _finding(
                        b,
                        model_id,
                        e,
                        (e, src),
                        _loc(g.elements[e].location, g.model.location),
                        checklist,
                        f"{name_of(src, src)} reaches {name_of(e, e)} "
                        f"in {len(flows)} hop(s): {route}.",
                        path=(tuple(nodes), tuple(flows), (src,)),
                    )
                )
    out.sort(key=lambda f: f.sort_key())
    return out


__all__ = ["CompiledRule", "LoadedRule", "compile_rule", "compiled", "evaluate"]
