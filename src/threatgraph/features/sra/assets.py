"""Section 2 of the risk analysis: the ePHI inventory, the asset inventory and the network map.

The asset inventory lists every component that holds ePHI with its owner, site, record volume
and criticality, and adds the stores that declared controls imply but the model does not draw:
a prompt log kept by an element that logs prompts, the backups of a store that is backed up,
and what a vendor hosting a PHI service keeps (its caches, held as long as its retention says).
The network map is the model's data-flow diagram, drawn by the report formats' DOT and Mermaid
writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library
from threatgraph.features.sra.common import PHI, Received, loc, zone
from threatgraph.formats.render import Renderer
from threatgraph.graph import Graph
from threatgraph.model.schema import Element, Kind, Operations

#: Kinds that are not systems the organisation runs: people, outside content, vendors.
NOT_SYSTEMS = frozenset({Kind.ACTOR, Kind.EXTERNAL_CONTENT, Kind.VENDOR})
#: Controls whose presence means a copy of what the element handles is kept somewhere else.
IMPLYING = {
    "audit.prompt_logging": "Prompt log of {}",
    "audit.tool_call_logging": "Tool-call log of {}",
    "infra.backup": "Backups of {}",
}


@dataclass
class PhiAsset:
    """One data asset classified PHI."""

    id: str
    name: str
    description: str
    records: str  # '1200' or 'not stated'
    stored: list[str]
    processed: list[str]
    trained: list[str]
    flows: int


@dataclass
class PhiHolder:
    """An element holding ePHI and how."""

    id: str
    name: str
    kind: str
    zone: str
    vendor: str
    how: list[str]  # 'stores', 'processes', 'trained on', 'receives', 'sends'
    data: list[str]
    at_rest: str  # 'encrypted', 'not declared', or '' when it stores nothing


@dataclass
class FlowRow:
    """A flow carrying ePHI."""

    id: str
    name: str
    source: str
    target: str
    data: list[str]
    protocol: str
    encrypted: bool
    authenticated: bool
    crosses: bool
    zones: str  # 'Clinic network (internal) → Acme AI cloud (third_party)'
    leaves: bool  # the target is a third party or less trusted
    location: str


@dataclass
class AssetRow:
    """One entry of the asset inventory: a component holding ePHI, or a store a control implies."""

    name: str
    kind: str
    owner: str
    site: str
    ephi: list[str]
    records: str
    criticality: str
    retention: str
    implied_by: str  # '' for modelled components, else what implies the store


@dataclass
class NetworkMap:
    """The data-flow diagram: DOT source, Mermaid source(s), and the SVG when one was drawn."""

    dot: str
    mermaid: list[tuple[str, str]]
    svg: str | None = None
    problem: str = ""


@dataclass
class Inventory:
    """Everything section 2 shows."""

    assets: list[PhiAsset]
    holders: list[PhiHolder]
    flows: list[FlowRow]
    inventory: list[AssetRow] = field(default_factory=list)


def phi_ids(g: Graph) -> set[str]:
    """Ids of the data classified PHI."""
    return {d.id for d in g.data.values() if d.classification is PHI}


def _records(g: Graph, ids: set[str]) -> str:
    stated = [g.data[d].records for d in ids if g.data[d].records is not None]
    if not ids:
        return "-"
    if not stated:
        return "not stated"
    most = max(n for n in stated if n is not None)
    return str(most) if len(stated) == len(ids) else f"{most} (some not stated)"


def operations(g: Graph, el: Element) -> Operations:
    """The element's operations facts, with the model's defaults for what it leaves out."""
    mine = el.operations or Operations()
    default = g.model.model.operations or Operations()
    return Operations.model_validate(
        {
            k: (getattr(mine, k) if getattr(mine, k) is not None else getattr(default, k))
            for k in Operations.model_fields
        }
    )


def _held(g: Graph, eid: str, phi: set[str]) -> set[str]:
    el = g.elements[eid]
    held = {d for d in (*el.stores, *el.processes, *el.trained_on) if d in phi}
    for fid in (*g.flows_in[eid], *g.flows_out[eid]):
        held |= {d for d in g.flows[fid].flow.data if d in phi}
    return held


def build_inventory(g: Graph, received: Received) -> Inventory:
    """The ePHI inventory and the asset inventory of one model."""
    phi = phi_ids(g)
    assets = [
        PhiAsset(
            id=did,
            name=g.data[did].name,
            description=g.data[did].description or "",
            records=_records(g, {did}),
            stored=sorted(e.name for e in g.elements.values() if did in e.stores),
            processed=sorted(e.name for e in g.elements.values() if did in e.processes),
            trained=sorted(e.name for e in g.elements.values() if did in e.trained_on),
            flows=sum(1 for f in g.flows.values() if did in f.flow.data),
        )
        for did in sorted(phi, key=lambda d: (g.data[d].name, d))
    ]
    holders = []
    rows = []
    for eid in sorted(g.elements, key=lambda e: (g.elements[e].name, e)):
        el = g.elements[eid]
        how = [
            label
            for label, ids in (
                ("stores", el.stores),
                ("processes", el.processes),
                ("trained on", el.trained_on),
            )
            if any(d in phi for d in ids)
        ]
        if any(d in phi for fid in g.flows_in[eid] for d in g.flows[fid].flow.data):
            how.append("receives")
        if any(d in phi for fid in g.flows_out[eid] for d in g.flows[fid].flow.data):
            how.append("sends")
        held = _held(g, eid, phi)
        if el.kind is Kind.VENDOR and not held and PHI in received.get(eid, frozenset()):
            how.append("through hosted services or as a sub-processor")
        if not how:
            continue
        stores_phi = any(d in phi for d in el.stores)
        encrypted = bool({"crypto.at_rest", "crypto.field_level"} & el.control_ids())
        holders.append(
            PhiHolder(
                id=eid,
                name=el.name,
                kind=el.kind.value,
                zone=zone(g, eid),
                vendor=g.describe(el.provider) if el.provider else "",
                how=how,
                data=sorted(g.data[d].name for d in held),
                at_rest=("encrypted" if encrypted else "not declared") if stores_phi else "",
            )
        )
        if el.kind not in NOT_SYSTEMS:
            # People, outside content and vendors are not the organisation's assets; what
            # a vendor keeps is listed as the implied store of the service it hosts.
            rows += _asset_rows(g, el, held)
    flows = [_flow_row(g, fid, phi) for fid in sorted(g.flows) if phi & set(g.flows[fid].flow.data)]
    rows.sort(key=lambda r: (r.implied_by != "", r.name, r.implied_by))
    return Inventory(assets, holders, flows, rows)


def _asset_rows(g: Graph, el: Element, held: set[str]) -> list[AssetRow]:
    ops = operations(g, el)
    owner = el.owner or (f"{g.model.model.owner} (system owner)" if g.model.model.owner else "")
    names = sorted(g.data[d].name for d in held)
    retention = f"{ops.retention_days} days" if ops.retention_days is not None else "not stated"
    base = AssetRow(
        name=el.name,
        kind=el.kind.value,
        owner=owner or "not stated",
        site=ops.site or zone(g, el.id),
        ephi=names,
        records=_records(g, held),
        criticality=ops.criticality or "not stated",
        retention=retention,
        implied_by="",
    )
    out = [base]
    ids = el.control_ids()
    for cid, title in IMPLYING.items():
        if cid in ids and held:
            out.append(
                AssetRow(
                    **{
                        **base.__dict__,
                        "name": title.format(el.name),
                        "kind": "implied store",
                        "implied_by": f"{cid} on {el.name}",
                    }
                )
            )
    if el.provider and el.provider in g.elements and held and el.kind is not Kind.VENDOR:
        vendor = g.elements[el.provider]
        prof = vendor.vendor
        kept = (
            "retention limited by contract"
            if prof is not None and "data_retention" in prof.clauses
            else "retention not limited by contract"
        )
        out.append(
            AssetRow(
                **{
                    **base.__dict__,
                    "name": f"Caches and logs of {el.name} at {vendor.name}",
                    "kind": "implied store",
                    "owner": vendor.name,
                    "site": zone(g, vendor.id),
                    "retention": f"{base.retention}; {kept}",
                    "implied_by": f"hosted by {vendor.name}",
                }
            )
        )
    return out


def _flow_row(g: Graph, fid: str, phi: set[str]) -> FlowRow:
    facts = g.flows[fid]
    fl = facts.flow
    return FlowRow(
        id=fid,
        name=fl.name,
        source=g.describe(fl.source),
        target=g.describe(fl.target),
        data=sorted(g.data[d].name for d in fl.data if d in phi),
        protocol=fl.protocol or "",
        encrypted=fl.is_encrypted,
        authenticated=fl.is_authenticated,
        crosses=facts.crosses_boundary,
        zones=f"{zone(g, fl.source)} → {zone(g, fl.target)}",
        leaves=g.trust[fl.target].rank <= 1 < g.trust[fl.source].rank,
        location=loc(fl.location),
    )


def network_map(
    g: Graph,
    findings: list[Finding],
    lib: Library,
    as_of: date,
    source_file: str,
    renderer: Renderer | None,
) -> NetworkMap:
    """The data-flow diagram of the model; an SVG only when a Graphviz ``renderer`` is given."""
    from threatgraph.formats.dot import render_dot
    from threatgraph.formats.html import safe_svg
    from threatgraph.formats.mermaid import render_mermaid
    from threatgraph.formats.render import RenderError, svg_for_html
    from threatgraph.formats.view import ModelView

    view = ModelView.build(g, findings, lib, as_of, "high", source_file)
    dot = render_dot(view)
    mermaid, _titles = render_mermaid(view)
    out = NetworkMap(dot=dot, mermaid=mermaid)
    if renderer is None:
        out.problem = "no Graphviz renderer was used: the DOT source follows"
        return out
    try:
        svg = safe_svg(svg_for_html(renderer.run(dot, "svg").decode("utf-8")))
    except RenderError as exc:
        out.problem = f"the diagram could not be drawn ({exc}): the DOT source follows"
        return out
    if svg is None:
        out.problem = "the drawn diagram held markup outside the allow-list: the DOT source follows"
    out.svg = svg
    return out
