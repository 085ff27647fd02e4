"""Export a threatgraph model and its findings as an Open Threat Model (OTM 0.2.0) document.

Boundaries become trust zones (trustRating from the trust level), elements become components
whose ``type`` is the threatgraph kind, flows become dataflows, data become assets. Findings
become OTM threats: one top-level threat per rule, and on each component or dataflow a threat
instance whose state is the finding's status and whose mitigations are its checklist
(``implemented`` when the control is present, ``required`` when missing). Facts OTM has no
field for are kept under ``attributes.x-threatgraph`` so that importing the file again gives
back the same model. Output is deterministic: model order, then ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threatgraph.engine.findings import Finding
from threatgraph.load import otm_map
from threatgraph.model.schema import (
    Boundary,
    DataAsset,
    Element,
    Flow,
    Location,
    ModelInfo,
    SystemModel,
    Trust,
)

#: Element fields written as OTM fields; everything else goes to attributes.x-threatgraph.
_OTM_ELEMENT_FIELDS = {
    "id",
    "name",
    "kind",
    "boundary",
    "description",
    "stores",
    "processes",
    "tags",
    "location",
    "otm",
}


def _outside_trust(el: Element) -> Trust:
    """The trust the graph gives an element outside every boundary (graph.DEFAULT_TRUST)."""
    from threatgraph.graph import DEFAULT_TRUST

    return el.trust or DEFAULT_TRUST.get(el.kind, Trust.INTERNAL)


def _controls(items: list[Any]) -> list[Any]:
    return [c["id"] if isinstance(c, dict) and set(c) == {"id"} else c for c in items]


def _attrs(facts: dict[str, Any]) -> dict[str, Any] | None:
    facts = {k: v for k, v in facts.items() if v not in (None, [], {}, "")}
    if "controls" in facts:
        facts["controls"] = _controls(facts["controls"])
    return {otm_map.ATTR: facts} if facts else None


def _orig_id(obj: Boundary | Element | DataAsset | Flow) -> str:
    """The id the other tool wrote (kept on import when it was not a valid id), else ours."""
    orig = _foreign(obj).get("id")
    return orig if isinstance(orig, str) and orig else str(obj.id)


def _foreign(obj: ModelInfo | Boundary | Element | DataAsset | Flow) -> dict[str, Any]:
    """The ``otm`` facts an imported object kept (empty for a threatgraph-native one)."""
    facts = getattr(obj, "otm", None)
    return facts if isinstance(facts, dict) else {}


def _merge_attrs(foreign: dict[str, Any], ours: dict[str, Any] | None) -> dict[str, Any] | None:
    """The other tool's attributes with ours beside them (ours win on our own key only)."""
    theirs = foreign.get("attributes")
    out = {k: v for k, v in theirs.items() if k != otm_map.ATTR} if isinstance(theirs, dict) else {}
    if ours:
        out.update(ours)
    return out or None


def _reps(foreign: dict[str, Any], ours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Kept representations that OTM accepts (an element's needs a representation and an id),
    then ours."""
    kept = foreign.get("representations")
    out = [
        r
        for r in (kept if isinstance(kept, list) else [])
        if isinstance(r, dict)
        and isinstance(r.get("representation"), str)
        and isinstance(r.get("id"), str)
    ]
    return out + ours


def _tags(foreign: dict[str, Any]) -> list[str]:
    tags = foreign.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _location_repr(loc: Location | None, ref_id: str, base: Path | None) -> list[dict[str, Any]]:
    if loc is None:
        return []
    from threatgraph.util.paths import display_path

    item: dict[str, Any] = {
        "representation": "threatgraph-source",
        "id": ref_id,
        "file": display_path(loc.file, base),
    }
    if loc.line:
        item["line"] = loc.line
    return [item]


def _instances(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    out = []
    for f in sorted(findings, key=lambda f: (f.rule.id, f.id)):
        out.append(
            {
                "threat": f.rule.id,
                "state": otm_map.THREAT_STATE.get(f.status, f.status),
                "mitigations": [
                    {
                        "mitigation": c.control,
                        "state": otm_map.MITIGATION_IMPLEMENTED
                        if c.present
                        else otm_map.MITIGATION_REQUIRED,
                    }
                    for c in f.checklist
                ],
            }
        )
    return out


def document(
    model: SystemModel,
    findings: Sequence[Finding] = (),
    controls: dict[str, Any] | None = None,
    base: Path | None = None,
) -> dict[str, Any]:
    """The OTM document for one model; ``controls`` is the catalogue (for mitigation names)."""
    pfor = _foreign(model.model)
    doc: dict[str, Any] = {"otmVersion": otm_map.EXPORT_VERSION, "project": _project(model)}
    top_reps = _top_representations(model, pfor)
    if top_reps:
        doc["representations"] = top_reps
    layout = _Layout.of(model)
    zones = _zones(model, layout)  # before the components: it places the stand-in zones
    doc["assets"] = [_asset(d, layout) for d in model.data]
    # A bidirectional dataflow was imported as two flows; it goes back out as one, with the
    # findings of both directions.
    flow_ids = {fl.id for fl in model.flows}
    forward_of = {
        fl.id: str(_foreign(fl)["reverse_of"])
        for fl in model.flows
        if isinstance(_foreign(fl).get("reverse_of"), str)
        and _foreign(fl)["reverse_of"] in flow_ids
    }
    on_element: dict[str, list[Finding]] = {}
    on_flow: dict[str, list[Finding]] = {}
    for f in findings:
        if f.flow is not None:
            on_flow.setdefault(forward_of.get(f.flow, f.flow), []).append(f)
        else:
            on_element.setdefault(f.element, []).append(f)
    components = [
        *(_container(b, layout) for b in model.boundaries if b.id in layout.containers),
        *(_component(el, layout, on_element.get(el.id, []), base) for el in model.elements),
    ]
    doc["components"] = components
    names = {el.id: el.name for el in model.elements}
    flows = [
        _dataflow(fl, layout, names, on_flow.get(fl.id, []))
        for fl in model.flows
        if fl.id not in forward_of
    ]
    doc["dataflows"] = flows + _kept_dataflows(pfor, {c["id"] for c in components})
    doc["trustZones"] = zones
    doc["threats"] = _threats(findings)
    doc["mitigations"] = _mitigations(findings, controls or {})
    return doc


def _project(model: SystemModel) -> dict[str, Any]:
    """The OTM project: the model's name, id, description and owner, and under attributes
    what OTM has no field for (version, model-wide controls, decisions)."""
    info = model.model
    project: dict[str, Any] = {"name": info.name, "id": info.id}
    if info.description:
        project["description"] = info.description
    if info.owner:
        project["owner"] = info.owner
    proj_facts: dict[str, Any] = {}
    if info.version:
        proj_facts["version"] = info.version
    if info.controls:
        proj_facts["controls"] = [
            c.model_dump(mode="json", exclude_defaults=True) for c in info.controls
        ]
    if model.decisions:
        proj_facts["decisions"] = [
            d.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            for d in model.decisions
        ]
    if info.operations is not None:
        proj_facts["operations"] = info.operations.model_dump(mode="json", exclude_none=True)
    pfor = _foreign(info)
    if isinstance(pfor.get("ownerContact"), str):
        project["ownerContact"] = pfor["ownerContact"]
    if _tags(pfor):
        project["tags"] = _tags(pfor)
    attrs = _merge_attrs(pfor, _attrs(proj_facts))
    if attrs:
        project["attributes"] = attrs
    return project


def _top_representations(model: SystemModel, pfor: dict[str, Any]) -> list[dict[str, Any]]:
    """The imported document's representations, and ours (the model's source files) when
    elements have source locations."""
    top = pfor.get("representations")
    reps = [
        r
        for r in (top if isinstance(top, list) else [])
        if isinstance(r, dict)
        and all(isinstance(r.get(k), str) for k in ("name", "id", "type"))
        and r.get("id") != otm_map.SOURCE_REPRESENTATION
    ]
    if any(el.location for el in model.elements):
        reps.append(
            {
                "name": "threatgraph model source",
                "id": otm_map.SOURCE_REPRESENTATION,
                "type": "code",
            }
        )
    return reps


@dataclass
class _Layout:
    """Where things go in the OTM document.

    Ids are as the other tool wrote them (an imported id that was not a valid threatgraph id
    was slugified; the original goes back out, so that the other tool finds its objects).
    Boundaries imported from network containers are components in OTM, not trust zones.
    Elements outside every boundary sit in stand-in zones, one per trust level
    (``outside``, filled by :func:`_zones`): OTM requires a parent.
    """

    containers: set[str]
    zone_id: dict[str, str]
    comp_id: dict[str, str]
    asset_id: dict[str, str]
    by_boundary: dict[str, Boundary]
    #: Where each exported component sits (its boundary; a container is its own), to tell
    #: whether an imported component's original parent still holds.
    sits_in: dict[str, str | None]
    outside: dict[Trust, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.comp_of_orig = {v: k for k, v in self.comp_id.items()}

    @classmethod
    def of(cls, model: SystemModel) -> _Layout:
        """The ids and containers of a model."""
        containers = {b.id for b in model.boundaries if _foreign(b).get("container") is True}
        comp_id = {el.id: _orig_id(el) for el in model.elements}
        comp_id.update({b.id: _orig_id(b) for b in model.boundaries if b.id in containers})
        sits_in: dict[str, str | None] = {el.id: el.boundary for el in model.elements}
        sits_in.update({bid: bid for bid in containers})
        return cls(
            containers=containers,
            zone_id={b.id: _orig_id(b) for b in model.boundaries if b.id not in containers},
            comp_id=comp_id,
            asset_id={d.id: _orig_id(d) for d in model.data},
            by_boundary={b.id: b for b in model.boundaries},
            sits_in=sits_in,
        )

    def zone_parent(self, bid: str | None) -> str | None:
        """The nearest enclosing boundary that is a trust zone (not a network container)."""
        seen: set[str] = set()
        while bid is not None and bid in self.containers and bid not in seen:
            seen.add(bid)
            bid = self.by_boundary[bid].parent
        return bid if bid in self.zone_id else None

    def parent_of(self, where: str | None, trust: Trust, facts: dict[str, Any]) -> dict[str, str]:
        """An imported component nested in a component stays there while it is still in the
        same boundary; else its boundary (a network container is a component in OTM), else
        the stand-in zone."""
        if _parent_component(facts, self.comp_id):
            up = self.comp_of_orig[str(facts["parent"]["component"])]
            if self.sits_in.get(up) == where:
                return {"component": str(facts["parent"]["component"])}
        if where is not None and where in self.containers:
            return {"component": self.comp_id[where]}
        if where is not None and where in self.zone_id:
            return {"trustZone": self.zone_id[where]}
        return {"trustZone": self.outside[trust]}


def _zones(model: SystemModel, layout: _Layout) -> list[dict[str, Any]]:
    """Trust zones for the boundaries, then stand-ins for what is outside every boundary
    (recorded in ``layout.outside``)."""
    zones: list[dict[str, Any]] = []
    zone_id = layout.zone_id
    for b in model.boundaries:
        if b.id in layout.containers:
            continue
        zf = _foreign(b)
        z: dict[str, Any] = {"id": zone_id[b.id], "name": b.name}
        if "type" not in zf or isinstance(zf["type"], str):
            z["type"] = zf.get("type") or b.trust.value
        z["risk"] = {"trustRating": _rating(b.trust, zf, zone_id[b.id])}
        if b.description:
            z["description"] = b.description
        parent = layout.zone_parent(b.parent)
        if parent:
            z["parent"] = {"trustZone": zone_id[parent]}
        elif _parent_component(zf, layout.comp_id):
            z["parent"] = zf["parent"]
        reps = _reps(zf, [])
        if reps:
            z["representations"] = reps
        z["attributes"] = _merge_attrs(zf, {otm_map.ATTR: {"trust": b.trust.value}})
        zones.append(z)
    taken = set(zone_id.values())
    outside = layout.outside
    homeless = [(el.boundary, _outside_trust(el)) for el in model.elements] + [
        (b.parent, b.trust) for b in model.boundaries if b.id in layout.containers
    ]
    for where, t in homeless:
        if where is None and t not in outside:
            zid, n = f"outside-{t.value.replace('_', '-')}", 2
            while zid in taken:
                zid, n = f"outside-{t.value.replace('_', '-')}-{n}", n + 1
            taken.add(zid)
            outside[t] = zid
    for t in sorted(outside, key=lambda t: t.rank):
        zones.append(
            {
                "id": outside[t],
                "name": f"Outside any boundary ({t.value.replace('_', ' ')})",
                "type": t.value,
                "risk": {"trustRating": otm_map.TRUST_RATING[t]},
                "attributes": {otm_map.ATTR: {"synthetic": True, "trust": t.value}},
            }
        )
    return zones


def _asset(d: DataAsset, layout: _Layout) -> dict[str, Any]:
    """One data asset as an OTM asset."""
    return {
        "name": d.name,
        "id": layout.asset_id[d.id],
        **({"description": d.description} if d.description else {}),
        "risk": _asset_risk(d),
        "attributes": _merge_attrs(
            _foreign(d),
            {
                otm_map.ATTR: {
                    "classification": d.classification.value,
                    **({"records": d.records} if d.records is not None else {}),
                }
            },
        ),
    }


def _container(b: Boundary, layout: _Layout) -> dict[str, Any]:
    """A boundary imported from a network container, as the component it was."""
    bf = _foreign(b)
    c: dict[str, Any] = {
        "id": layout.comp_id[b.id],
        "name": b.name,
        "type": bf["type"] if isinstance(bf.get("type"), str) else otm_map.EMPTY_COMPONENT,
        "parent": layout.parent_of(b.parent, b.trust, bf),
    }
    if b.description:
        c["description"] = b.description
    if _tags(bf):
        c["tags"] = _tags(bf)
    reps = _reps(bf, [])
    if reps:
        c["representations"] = reps
    c["attributes"] = _merge_attrs(bf, {otm_map.ATTR: {"container": True, "trust": b.trust.value}})
    return c


def _component(
    el: Element, layout: _Layout, findings: Sequence[Finding], base: Path | None
) -> dict[str, Any]:
    """One element as an OTM component, with its findings as threat instances."""
    ef = _foreign(el)
    c: dict[str, Any] = {
        "id": layout.comp_id[el.id],
        "name": el.name,
        "type": ef["type"] if isinstance(ef.get("type"), str) else el.kind.value,
        "parent": layout.parent_of(el.boundary, _outside_trust(el), ef),
    }
    if el.description:
        c["description"] = el.description
    if el.tags:
        c["tags"] = list(el.tags)
    if el.stores or el.processes:
        c["assets"] = {
            "processed": [layout.asset_id.get(a, a) for a in el.processes],
            "stored": [layout.asset_id.get(a, a) for a in el.stores],
        }
    reps = _reps(ef, _location_repr(el.location, layout.comp_id[el.id], base))
    if reps:
        c["representations"] = reps
    if findings:
        c["threats"] = _instances(findings)
    facts = el.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    facts = {k: v for k, v in facts.items() if k not in _OTM_ELEMENT_FIELDS}
    facts["kind"] = el.kind.value
    c["attributes"] = _merge_attrs(ef, _attrs(facts))
    return c


def _dataflow(
    fl: Flow, layout: _Layout, names: dict[str, str], findings: Sequence[Finding]
) -> dict[str, Any]:
    """One flow as an OTM dataflow, with its findings as threat instances."""
    ff = _foreign(fl)
    comp_id = layout.comp_id
    d: dict[str, Any] = {
        "id": _orig_id(fl),
        "name": fl.name
        or f"{names.get(fl.source, fl.source)} to {names.get(fl.target, fl.target)}",
        "bidirectional": ff.get("bidirectional") is True,
        "source": comp_id.get(fl.source, fl.source),
        "destination": comp_id.get(fl.target, fl.target),
    }
    if fl.description:
        d["description"] = fl.description
    if fl.data:
        d["assets"] = [layout.asset_id.get(a, a) for a in fl.data]
    if _tags(ff):
        d["tags"] = _tags(ff)
    if findings:
        d["threats"] = _instances(findings)
    facts = {
        "protocol": fl.protocol,
        "operation": fl.operation,
        "encrypted": fl.encrypted,
        "authenticated": fl.authenticated,
        "physical": fl.physical,
        "controls": [c.model_dump(mode="json", exclude_defaults=True) for c in fl.controls],
        "unnamed": True if not fl.name else None,
    }
    # Always present, even empty: it marks the dataflow as ours, so that import reads
    # controls from here and not from the threat instances' implemented mitigations.
    d["attributes"] = _merge_attrs(ff, _attrs(facts) or {otm_map.ATTR: {}})
    return d


def _kept_dataflows(pfor: dict[str, Any], exported: set[str]) -> list[Any]:
    """Dataflows the import could not analyse (to or from a network container), as they came,
    when both ends are still exported."""
    extra_flows = pfor.get("dataflows")
    return [
        raw
        for raw in (extra_flows if isinstance(extra_flows, list) else [])
        if isinstance(raw, dict)
        and isinstance(raw.get("source"), str)
        and isinstance(raw.get("destination"), str)
        and raw["source"] in exported
        and raw["destination"] in exported
        and isinstance(raw.get("id"), str)
        and isinstance(raw.get("name"), str)
    ]


def _threats(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One OTM threat per rule that has findings, by rule id."""
    rules = {f.rule.id: f.rule for f in findings}
    threats = []
    for rid in sorted(rules):
        r = rules[rid]
        cwes = [
            ref.split(":", 1)[1].rsplit("@", 1)[0] for ref in r.references if ref.startswith("cwe:")
        ]
        threats.append(
            {
                "name": r.title,
                "id": r.id,
                "description": r.description,
                "categories": [otm_map.STRIDE_NAMES[s] for s in r.stride],
                "cwes": cwes,
                "risk": {
                    "likelihood": otm_map.LIKELIHOOD[r.likelihood],
                    "impact": otm_map.IMPACT[r.severity],
                },
                "tags": [r.family],
                "attributes": {
                    otm_map.ATTR: {
                        "severity": r.severity,
                        "likelihood": r.likelihood,
                        "references": list(r.references),
                    }
                },
            }
        )
    return threats


def _mitigations(findings: Sequence[Finding], controls: dict[str, Any]) -> list[dict[str, Any]]:
    """One OTM mitigation per control in some finding's checklist, by control id."""
    mitigations: dict[str, dict[str, Any]] = {}
    for f in findings:
        for item in f.checklist:
            if item.control in mitigations:
                continue
            ctl = controls.get(item.control)
            mitigations[item.control] = {
                "name": getattr(ctl, "title", None) or item.control,
                "id": item.control,
                "description": getattr(ctl, "description", None) or item.why or item.control,
                "riskReduction": otm_map.RISK_REDUCTION,
            }
    return [mitigations[k] for k in sorted(mitigations)]


def _rating(trust: Trust, facts: dict[str, Any], zid: str) -> float:
    """The zone's trustRating: the imported one while the trust it gave is unchanged (so that
    a round trip does not turn 80 into 75), else threatgraph's rating of the trust level."""
    rating = facts.get("rating")
    if isinstance(rating, (int, float)) and not isinstance(rating, bool):
        given = otm_map.trust_of_zone_type(facts.get("type")) or otm_map.trust_of_zone_type(zid)
        if (given or otm_map.trust_of_rating(rating)) is trust:
            return rating
    return otm_map.TRUST_RATING[trust]


def _asset_risk(d: DataAsset) -> dict[str, Any]:
    """The asset's risk: the imported one while its classification is unchanged."""
    risk = _foreign(d).get("risk")
    if (
        isinstance(risk, dict)
        and all(
            isinstance(risk.get(k), (int, float)) and not isinstance(risk.get(k), bool)
            for k in ("confidentiality", "integrity", "availability")
        )
        and otm_map.classification_of_confidentiality(risk["confidentiality"]) is d.classification
    ):
        return dict(risk)
    return {
        "confidentiality": otm_map.CONFIDENTIALITY[d.classification],
        "integrity": 50,
        "availability": 50,
        "comment": f"threatgraph classification: {d.classification.value}; "
        "integrity and availability are not modelled",
    }


def _parent_component(facts: dict[str, Any], comp_id: dict[str, str]) -> bool:
    """Whether the imported object sat in a component that is still exported."""
    p = facts.get("parent")
    return (
        isinstance(p, dict)
        and isinstance(p.get("component"), str)
        and p["component"] in set(comp_id.values())
    )


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic JSON text of an OTM document."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
