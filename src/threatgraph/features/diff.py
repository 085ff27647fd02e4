"""Model diff for design reviews: what a change does to the modeled system and its threats.

Compares two analysed runs (the models at a base revision and in the working tree) by stable
ids: models by model id, findings by finding id, elements and flows by their ids. Reports
threats introduced and resolved, elements and flows added or removed, new trust-boundary
crossings, new flows of sensitive data, and controls removed (and added). The renderings
(text, Markdown with a Mermaid diagram, JSON) are in :mod:`threatgraph.reports.diff`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.graph import FlowFacts, Graph
from threatgraph.model.schema import SENSITIVE, Element

if TYPE_CHECKING:
    from threatgraph.results import ModelResult


@dataclass(frozen=True)
class FlowChange:
    """A flow that is new, gone, newly crossing a boundary or newly carrying sensitive data."""

    model: str
    flow: FlowFacts
    graph: Graph
    detail: str = ""

    @property
    def id(self) -> str:
        """The flow id."""
        return self.flow.flow.id

    def text(self, arrow: str = "->") -> str:
        """'Source -> Target (name)'."""
        fl = self.flow.flow
        name = f" ({fl.name})" if fl.name else ""
        return f"{self.graph.describe(fl.source)} {arrow} {self.graph.describe(fl.target)}{name}"


@dataclass(frozen=True)
class ControlChange:
    """A control declared at base and not now (or the other way round)."""

    model: str
    owner_kind: str  # 'element', 'flow' or 'model'
    owner: str  # element or flow id, or the model id
    owner_name: str
    control: str


@dataclass
class ModelDiff:
    """Everything that changed between two analysed runs."""

    base_label: str
    head_label: str
    fail_on: str
    introduced: list[Finding] = field(default_factory=list)
    resolved: list[tuple[Finding, Finding | None]] = field(default_factory=list)
    models_added: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    models_removed: list[tuple[str, str]] = field(default_factory=list)
    elements_added: list[tuple[str, Element]] = field(default_factory=list)
    elements_removed: list[tuple[str, Element]] = field(default_factory=list)
    elements_changed: list[tuple[str, Element, list[str]]] = field(default_factory=list)
    flows_added: list[FlowChange] = field(default_factory=list)
    flows_removed: list[FlowChange] = field(default_factory=list)
    new_crossings: list[FlowChange] = field(default_factory=list)
    new_sensitive: list[FlowChange] = field(default_factory=list)
    controls_removed: list[ControlChange] = field(default_factory=list)
    controls_added: list[ControlChange] = field(default_factory=list)
    head_graphs: dict[str, Graph] = field(default_factory=dict)
    base_graphs: dict[str, Graph] = field(default_factory=dict)

    @property
    def failing(self) -> list[Finding]:
        """Introduced open findings at or above the gate."""
        t = severity_rank(self.fail_on)
        return [f for f in self.introduced if severity_rank(f.severity) >= t]

    @property
    def exit_code(self) -> int:
        """1 when the change introduces open findings at or above the gate, else 0."""
        return 1 if self.failing else 0

    @property
    def empty(self) -> bool:
        """Nothing changed that the diff reports."""
        return not any(
            (
                self.introduced,
                self.resolved,
                self.models_added,
                self.models_removed,
                self.elements_added,
                self.elements_removed,
                self.elements_changed,
                self.flows_added,
                self.flows_removed,
                self.controls_removed,
                self.controls_added,
            )
        )


def _sensitive(facts: FlowFacts) -> set[str]:
    return {d.classification.value for d in facts.data if d.classification in SENSITIVE}


def _controls(g: Graph) -> dict[tuple[str, str], tuple[str, set[str]]]:
    """(owner kind, owner id) -> (display name, control ids)."""
    out: dict[tuple[str, str], tuple[str, set[str]]] = {
        ("model", g.model.model.id): (g.model.model.name, {c.id for c in g.model.model.controls})
    }
    for eid, el in g.elements.items():
        out[("element", eid)] = (el.name, set(el.control_ids()))
    for fid, ff in g.flows.items():
        fl = ff.flow
        name = f"{g.describe(fl.source)} -> {g.describe(fl.target)}" + (
            f" ({fl.name})" if fl.name else ""
        )
        out[("flow", fid)] = (name, set(fl.control_ids()))
    return out


_IGNORED_FIELDS = frozenset({"location", "controls"})


def _element_changes(a: Element, b: Element) -> list[str]:
    """Names of the fields that differ (controls are reported on their own)."""
    da = a.model_dump(mode="json", exclude=set(_IGNORED_FIELDS))
    db = b.model_dump(mode="json", exclude=set(_IGNORED_FIELDS))
    return sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))


def compare(
    base: Sequence[ModelResult],
    head: Sequence[ModelResult],
    fail_on: str,
    base_label: str,
    head_label: str,
) -> ModelDiff:
    """Compare the model results of two runs (base revision, working tree)."""
    d = ModelDiff(base_label, head_label, fail_on)
    b_by = {r.model_id: r for r in base}
    h_by = {r.model_id: r for r in head}
    d.base_graphs = {m: r.graph for m, r in b_by.items()}
    d.head_graphs = {m: r.graph for m, r in h_by.items()}
    d.models_added = sorted(
        (m, r.loaded.model.model.name) for m, r in h_by.items() if m not in b_by
    )
    d.models_removed = sorted(
        (m, r.loaded.model.model.name) for m, r in b_by.items() if m not in h_by
    )

    base_open = {(f.model_id, f.id): f for r in base for f in r.findings if f.status == "open"}
    head_all = {(f.model_id, f.id): f for r in head for f in r.findings}
    d.introduced = sorted(
        (f for key, f in head_all.items() if f.status == "open" and key not in base_open),
        key=lambda f: (*f.sort_key(), f.model_id),
    )
    resolved = [
        (bf, head_all.get(key))
        for key, bf in base_open.items()
        if key not in head_all or head_all[key].status != "open"
    ]
    d.resolved = sorted(resolved, key=lambda p: (*p[0].sort_key(), p[0].model_id))

    for mid in sorted(set(b_by) | set(h_by)):
        hg = h_by[mid].graph if mid in h_by else None
        bg = b_by[mid].graph if mid in b_by else None
        h_el = hg.elements if hg else {}
        b_el = bg.elements if bg else {}
        for eid in sorted(set(h_el) - set(b_el)):
            d.elements_added.append((mid, h_el[eid]))
        for eid in sorted(set(b_el) - set(h_el)):
            d.elements_removed.append((mid, b_el[eid]))
        for eid in sorted(set(h_el) & set(b_el)):
            fields = _element_changes(b_el[eid], h_el[eid])
            if fields:
                d.elements_changed.append((mid, h_el[eid], fields))
        h_fl = hg.flows if hg else {}
        b_fl = bg.flows if bg else {}
        if hg is not None:
            for fid in sorted(set(h_fl) - set(b_fl)):
                d.flows_added.append(FlowChange(mid, h_fl[fid], hg))
            for fid in sorted(h_fl):
                facts = h_fl[fid]
                before = b_fl.get(fid)
                if facts.crosses_boundary and (before is None or not before.crosses_boundary):
                    src, dst = facts.flow.source, facts.flow.target
                    detail = f"{hg.trust[src].value} -> {hg.trust[dst].value}"
                    d.new_crossings.append(FlowChange(mid, facts, hg, detail))
                new_data = _sensitive(facts) - (_sensitive(before) if before else set())
                if new_data:
                    enc = "encrypted" if facts.flow.is_encrypted else "NOT encrypted"
                    detail = f"{', '.join(sorted(new_data))}; {enc}"
                    d.new_sensitive.append(FlowChange(mid, facts, hg, detail))
        if bg is not None:
            for fid in sorted(set(b_fl) - set(h_fl)):
                d.flows_removed.append(FlowChange(mid, b_fl[fid], bg))
        if hg is not None and bg is not None:
            hc, bc = _controls(hg), _controls(bg)
            for key in sorted(set(hc) & set(bc)):
                name, now = hc[key]
                _, before_ids = bc[key]
                for cid in sorted(before_ids - now):
                    d.controls_removed.append(ControlChange(mid, key[0], key[1], name, cid))
                for cid in sorted(now - before_ids):
                    d.controls_added.append(ControlChange(mid, key[0], key[1], name, cid))
    return d
